/**
 * The embedded DNS's records: a pure table built from the model, which the pure `lookup`
 * (`lookup.ts`) answers one question for one requesting container from (aardvark-dns style: the
 * table knows every name; the requester decides which of them it may see).
 *
 * Docker's semantics (see `docker-networking-facts.md` §5): names are the container name, the
 * service name (every replica), the hostname and the network aliases, each also as
 * `<name>.<network>`; PTR for every container address; SRV for named published ports; TTL 600.
 * A requester sees only the containers it shares a network with; a name resolves on the first
 * shared network that knows it, in Docker's order ({@link dockerOrder}), as Docker's resolver
 * does. Docker's `default` network gives no names (Docker disables resolution there). PTR names
 * are {@link ptrName}: for a Compose file what Docker answers, `<compose name>.<Docker network
 * name>` (`shop-web-1.shop_front`); for nslab's own format `<container>.<network>` (`web.front`).
 *
 * @module
 */

import type { Container, Model, Network } from "../model/types.ts";
import { GWBRIDGE } from "../model/networks.ts";
import type { Cidr6 } from "../model/ip6.ts";
import { reverseName6, subnet6 } from "./reverse6.ts";

/** DNS record types the table knows by name, with their wire numbers. */
export const QTYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

/** TTL of every answer unless the topology sets `dns.ttl` (Docker's `respTTL`). */
export const DEFAULT_TTL = 600;

/** Response codes {@link lookup} can decide on (the server adds FORMERR itself). */
export type Rcode = "NOERROR" | "NXDOMAIN" | "REFUSED" | "SERVFAIL" | "NOTIMP";

/** SRV data: where a named port of a service is served. */
export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  /** Container name (no trailing dot). */
  target: string;
}

/** One resource record of an answer. `name` is lower case, without the trailing dot. */
export type Answer =
  | { type: "A"; name: string; ttl: number; address: string }
  | { type: "AAAA"; name: string; ttl: number; address: string }
  | { type: "PTR"; name: string; ttl: number; target: string }
  | { type: "SRV"; name: string; ttl: number; srv: SrvData };

/** What the server should send back for one question. */
export interface LookupResult {
  rcode: Rcode;
  /** Answer section, in a stable order (the server rotates A records per query). */
  answers: Answer[];
  /** Additional section: A records of SRV targets. Absent when empty. */
  additional?: Answer[];
  /** true: the name is outside the lab and the requester may ask the upstream servers. */
  forward: boolean;
  /** The requester's own servers (Compose `dns:`) to forward to, instead of the lab's. */
  upstream?: string[];
}

/**
 * Records of one network: names → addresses, reverse names → names, SRV names → targets. A
 * host-scoped network (bridge, macvlan) present on several hosts is one L2 domain per host, so it
 * has one record set per host, keyed `<network>@<host>` in {@link RecordTable.networks}.
 */
export interface NetworkRecords {
  /** The network's name (without the `@<host>` of a per-host record set). */
  network: string;
  internal: boolean;
  /** Lower-case name → addresses on this network, in container order, no duplicates. */
  a: Map<string, string[]>;
  /** Lower-case name → IPv6 addresses on this network (networks with IPv6), same order. */
  aaaa: Map<string, string[]>;
  /** `d.c.b.a.in-addr.arpa` and `….ip6.arpa` → container name. */
  ptr: Map<string, string>;
  /** `_<port name>._<proto>.<service>` → SRV data, in container order. */
  srv: Map<string, SrvData[]>;
  /** The network's subnet as [base, mask] (for "is this reverse name inside the lab"). */
  subnet: [number, number] | null;
  /** The network's IPv6 subnet, or null. */
  subnet6: Cidr6 | null;
}

/** What one requesting container may see. */
export interface RequesterView {
  /** Networks (by name) whose records the requester sees, in Docker's order ({@link dockerOrder}). */
  networks: string[];
  /** true when at least one of them is not internal (a way out exists). */
  canForward: boolean;
  /** Its own upstream servers (Compose `dns:`), which Docker forwards its outside names to. */
  upstream?: string[];
  /** Its `links` aliases (lower case) → addresses: names only this requester sees. */
  links?: Record<string, string[]>;
}

/** Every record of a lab, plus who may see what. Build with {@link buildRecords}. */
export interface RecordTable {
  ttl: number;
  /** Upstream servers (`ip` or `ip:port`) for names outside the lab; empty: never forward. */
  upstream: string[];
  /** Network name (or `<network>@<host>`) → its records (only networks that provide names). */
  networks: Map<string, NetworkRecords>;
  /** Container name → its view; containers absent here (none/host mode) are REFUSED. */
  requesters: Map<string, RequesterView>;
  /** Every name of the lab on any network (lower case), for "known elsewhere → NXDOMAIN". */
  labNames: Set<string>;
}

/** Options of {@link buildRecords}. */
export interface BuildRecordsOptions {
  /** TTL of every answer (default {@link DEFAULT_TTL}, or `model.dns.ttl` when positive). */
  ttl?: number;
  /** Serve names on Docker's `default` network too (Docker does not; default false). */
  defaultNetworkDns?: boolean;
  /**
   * Containers of other labs on this lab's shared (`external`) networks, their endpoints named by
   * this lab's network keys: their names are served like the lab's own, to the lab's containers on
   * those networks (they ask their own lab's DNS). Default none.
   */
  guests?: Container[];
}

/** `172.20.0.10` → `10.0.20.172.in-addr.arpa`. */
export function reverseName(address: string): string {
  return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
}

function ipv4ToInt(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

function parseSubnet(subnet: string): [number, number] | null {
  const [base, bits] = subnet.split("/");
  const b = ipv4ToInt(base ?? "");
  const p = Number(bits);
  if (b === null || !Number.isInteger(p) || p < 0 || p > 32) return null;
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return [(b & mask) >>> 0, mask];
}

/** The address a reverse name stands for (`10.0.20.172.in-addr.arpa` → 172.20.0.10), or null. */
export function reverseToAddress(name: string): number | null {
  const suffix = ".in-addr.arpa";
  if (!name.endsWith(suffix)) return null;
  const labels = name.slice(0, -suffix.length).split(".");
  if (labels.length !== 4) return null;
  return ipv4ToInt(labels.reverse().join("."));
}

/** Normalises a query name: lower case, no trailing dot. */
export function normalizeName(qname: string): string {
  const n = qname.toLowerCase();
  return n.endsWith(".") ? n.slice(0, -1) : n;
}

function pushUnique<T>(map: Map<string, T[]>, key: string, value: T, same: (a: T) => boolean) {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else if (!list.some(same)) list.push(value);
}

/** The container whose network stack `c` uses (itself, or X for `container:X`), or null. */
function stackOwner(model: Model, c: Container): Container | null {
  let cur: Container | undefined = c;
  for (let depth = 0; cur !== undefined && depth < 8; depth++) {
    if (cur.mode.kind !== "container") return cur;
    const of: string = cur.mode.of;
    cur = model.containers.find((x) => x.name === of) ??
      model.containers.find((x) => x.service === of);
  }
  return null;
}

/**
 * Whether network `n` is a separate L2 domain (and name space) on each of its hosts: a bridge
 * network on several hosts is. A macvlan network is not: all its endpoints sit on the one underlay
 * segment with lab-wide unique addresses, so its names resolve across hosts.
 */
function perHost(n: Network): boolean {
  return n.scope === "local" && n.driver !== "macvlan" && n.hosts.length > 1;
}

/** Key of the record set `c` sees for network `n`: per host when `n` is per-host. */
function recordsKey(n: Network, host: string): string {
  return perHost(n) ? `${n.name}@${host}` : n.name;
}

/**
 * Builds the record table of a lab. Pure: the same model gives an equal table.
 *
 * @example
 * ```ts
 * const table = buildRecords(model, { ttl: model.dns.ttl });
 * lookup(table, "web", "api", "A"); // every api replica on a network web shares
 * ```
 */
export function buildRecords(model: Model, opts: BuildRecordsOptions = {}): RecordTable {
  const ttl = opts.ttl ?? (model.dns.ttl > 0 ? model.dns.ttl : DEFAULT_TTL);
  const networks = new Map<string, NetworkRecords>();
  const labNames = new Set<string>();
  const named = new Map<string, Network>();
  for (const n of model.networks) {
    if (!n.hasSubnet || n.driver === "host" || n.driver === "none") continue;
    if (n.isDefault && !opts.defaultNetworkDns) continue;
    if (n.name === GWBRIDGE) continue; // Docker's way out for overlay members gives no names
    named.set(n.name, n);
    const hosts = perHost(n) ? n.hosts : [""];
    for (const host of hosts) {
      networks.set(host === "" ? n.name : recordsKey(n, host), {
        network: n.name,
        internal: n.internal,
        a: new Map(),
        aaaa: new Map(),
        ptr: new Map(),
        srv: new Map(),
        subnet: parseSubnet(n.subnet),
        subnet6: subnet6(n.ipv6?.subnet),
      });
    }
  }
  const keyOf = (network: string, host: string) => {
    const n = named.get(network);
    return n === undefined ? network : recordsKey(n, host);
  };
  for (const c of [...model.containers, ...opts.guests ?? []]) {
    if (c.mode.kind !== "own") continue;
    for (const ep of c.endpoints) {
      const recs = networks.get(keyOf(ep.network, c.host));
      if (recs === undefined || ep.address === "") continue;
      const names = new Set(
        [c.name, c.service, c.hostname, ...ep.aliases].filter((x) => x !== "").map(normalizeName),
      );
      const address = ep.address;
      for (const name of names) {
        if (address !== undefined) pushUnique(recs.a, name, address, (x) => x === address);
        labNames.add(name);
      }
      const ptr = ptrName(model, c, ep.network);
      if (address !== undefined && !recs.ptr.has(reverseName(address))) {
        recs.ptr.set(reverseName(address), ptr);
      }
      if (ep.ipv6) addIpv6(recs, names, ep.ipv6.address, ptr);
      for (const p of c.ports) {
        if (p.name === null || p.name === "") continue;
        const key = normalizeName(`_${p.name}._${p.protocol}.${c.service}`);
        const data = {
          priority: 0,
          weight: 0,
          port: p.containerPort,
          target: normalizeName(c.name),
        };
        pushUnique(recs.srv, key, data, (x) => x.target === data.target && x.port === data.port);
        labNames.add(key);
      }
    }
  }
  const requesters = new Map<string, RequesterView>();
  for (const c of model.containers) {
    if (c.mode.kind === "none" || c.mode.kind === "host") continue;
    const owner = stackOwner(model, c);
    if (owner === null || owner.mode.kind !== "own") continue;
    const mine = new Set(owner.endpoints.map((e) => e.network));
    const all = dockerOrder(model.networks.filter((n) => mine.has(n.name)));
    requesters.set(c.name, {
      networks: all.map((n) => keyOf(n.name, owner.host)).filter((k) => networks.has(k)),
      canForward: all.some((n) => !n.internal && n.driver !== "none"),
      ...ownUpstream(owner),
      ...ownLinks(owner),
    });
  }
  return { ttl, upstream: [...model.dns.upstream], networks, requesters, labNames };
}

/**
 * The name a PTR question for `c`'s address on `network` is answered with (lower case, no
 * trailing dot). A Compose file gets what Docker's embedded DNS answers: the container's Compose
 * name and the Docker network name, `shop-web-1.shop_front` (checked against dockerd 20.10 in
 * tests/compose_agreement_test.ts). nslab's own format keeps the names its file gives,
 * `web.front`. Pure.
 *
 * @example
 * ```ts
 * ptrName(model, web, "front"); // "shop-web-1.shop_front" for a Compose file
 * ```
 */
export function ptrName(
  model: Pick<Model, "compose" | "networks">,
  c: Pick<Container, "name" | "composeName">,
  network: string,
): string {
  if (!model.compose) return normalizeName(`${c.name}.${network}`);
  const docker = model.networks.find((n) => n.name === network)?.dockerName ?? network;
  return normalizeName(`${c.composeName ?? c.name}.${docker}`);
}

/** An endpoint's IPv6 address under its names (AAAA) and its `ip6.arpa` name (PTR). */
function addIpv6(recs: NetworkRecords, names: Set<string>, address: string, ptr: string): void {
  for (const name of names) pushUnique(recs.aaaa, name, address, (x) => x === address);
  const rev = reverseName6(address);
  if (!recs.ptr.has(rev)) recs.ptr.set(rev, ptr);
}

/** A container's link aliases, when it has any. */
function ownLinks(c: Container): { links?: Record<string, string[]> } {
  if (!c.links || c.links.length === 0) return {};
  const links: Record<string, string[]> = {};
  for (const l of c.links) (links[normalizeName(l.name)] ??= []).push(l.address);
  return { links };
}

/** A container's IPv4 `dns:` servers, when it has any (the forwarder speaks IPv4). */
function ownUpstream(c: Container): { upstream?: string[] } {
  const servers = (c.dns?.servers ?? []).filter((s) => !s.includes(":"));
  return servers.length > 0 ? { upstream: servers } : {};
}

/**
 * The order in which Docker's resolver tries a container's networks (moby's endpoint ordering,
 * checked against dockerd 20.10): `docker_gwbridge` last, internal networks after the others,
 * then by network name. Stable; pure.
 *
 * @example
 * ```ts
 * dockerOrder([back, front]).map((n) => n.name); // ["back", "front"]
 * ```
 */
export function dockerOrder<T extends Pick<Network, "name" | "internal">>(networks: T[]): T[] {
  const rank = (n: T) => (n.name === GWBRIDGE ? 2 : n.internal ? 1 : 0);
  return [...networks].sort((a, b) =>
    rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}
