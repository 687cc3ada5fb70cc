/**
 * DNS rows: every name the embedded DNS serves (container, replica set, service, alias, hostname,
 * `<name>.<network>`) resolves to exactly its addresses on the first shared network that knows it,
 * in Docker's order (`dockerOrder`); names of containers sharing no network are NXDOMAIN; PTR for
 * peer addresses; SRV for named ports.
 *
 * @module
 */

import { DOCKER0_NETWORK, GWBRIDGE } from "../model/networks.ts";
import { dockerOrder, ptrName } from "../dns/records.ts";
import { parseIp6 } from "../model/ip6.ts";
import type { DeriveContext } from "./derive_context.ts";
import type { Container, Endpoint } from "../model/types.ts";
import type { DnsType, Expectation, Expected } from "./types.ts";

/** `in-addr.arpa` name of an IPv4 address, `ip6.arpa` (32 nibbles) name of an IPv6 one. */
export function reverseName(address: string): string {
  const v6 = parseIp6(address);
  if (v6 === null) return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
  return `${[...v6.toString(16).padStart(32, "0")].reverse().join(".")}.ip6.arpa`;
}

/** One way a name resolves: container `c` at `address` on `network`. */
interface NameEntry {
  c: Container;
  network: string;
  /** The IPv4 address on that network; absent on an IPv6-only network. */
  address?: string;
  /** The IPv6 address on that network, when it has IPv6. */
  address6?: string;
}

/** Every name the embedded DNS serves, lowercased → the endpoints it stands for. */
function nameIndex(ctx: DeriveContext): Map<string, NameEntry[]> {
  const index = new Map<string, NameEntry[]>();
  const add = (name: string, e: NameEntry) => {
    const key = name.toLowerCase();
    const list = index.get(key) ?? [];
    if (!list.some((x) => x.c === e.c && x.network === e.network)) list.push(e);
    index.set(key, list);
  };
  for (const c of ctx.boxes) {
    if (c.mode.kind !== "own") continue;
    for (const ep of c.endpoints) {
      if (!givesNames(ep.network)) continue;
      const e = { c, network: ep.network, address: ep.address, address6: ep.ipv6?.address };
      add(c.name, e);
      if (c.service !== c.name) add(c.service, e);
      if (c.hostname && c.hostname !== c.name) add(c.hostname, e);
      for (const a of ep.aliases) add(a, e);
    }
  }
  // `<name>.<network>` is every holder of that name on that network (another container may
  // have the container's name as an alias: an extended Compose service inherits its aliases).
  for (const c of ctx.boxes) {
    if (c.mode.kind !== "own") continue;
    for (const ep of c.endpoints) {
      if (!givesNames(ep.network)) continue;
      const holders = (index.get(c.name.toLowerCase()) ?? []).filter((x) =>
        x.network === ep.network
      );
      index.set(`${c.name}.${ep.network}`.toLowerCase(), holders);
    }
  }
  return index;
}

/**
 * Docker's way out for overlay members (`docker_gwbridge`) and docker0 (`bridge`, the default
 * bridge of `network_mode: bridge`) give no names; every other network does.
 */
function givesNames(network: string): boolean {
  return network !== GWBRIDGE && network !== DOCKER0_NETWORK;
}

/** Does `c` use the embedded DNS (own namespace with at least one network)? */
function usesDns(c: Container): boolean {
  return c.mode.kind === "own" && c.endpoints.length > 0;
}

/** One DNS row: `s` asks `name` (`type`) and must get `expect`. */
function dnsExpectation(
  s: Container,
  name: string,
  type: DnsType,
  expect: Expected,
  containers: string[],
  description: string,
): Expectation {
  const shown = expect.kind === "addresses"
    ? `→ ${expect.addresses.join(", ")}`
    : expect.kind === "nxdomain"
    ? "→ NXDOMAIN"
    : "";
  return {
    id: `dns:${s.name}:${type}:${name}`,
    kind: "dns",
    source: s.name,
    target: `${type} ${name}${shown ? " " + shown : ""}`,
    protocol: "dns",
    probe: { kind: "dns", netns: s.netns, name, type },
    expect,
    description,
    containers: [s.name, ...containers.filter((c) => c !== s.name)],
    explicit: false,
  };
}

/**
 * DNS rows for every container that uses the embedded DNS: each name it may ask (A, and AAAA
 * where IPv6 is), PTR for the peer addresses it reaches, SRV for the named ports it sees.
 */
export function implyDns(ctx: DeriveContext): void {
  const index = nameIndex(ctx);
  const names = [...index.keys()].sort();
  for (const s of ctx.boxes) {
    if (!usesDns(s)) continue;
    const mine = new Set(s.endpoints.map((e) => e.network).filter(givesNames));
    const order = dockerOrder([...mine].map((n) => ctx.nets.get(n)!).filter(Boolean))
      .map((n) => n.name);
    for (const name of names) implyName(ctx, s, name, index.get(name)!, mine, order);
    implyPtrAndSrv(ctx, s);
  }
}

/**
 * What `s` gets asking `name`: the addresses on the first of its networks (in Docker's `order`)
 * that knows the name, or NXDOMAIN when it shares no network with any holder of the name.
 */
function implyName(
  ctx: DeriveContext,
  s: Container,
  name: string,
  entries: NameEntry[],
  mine: Set<string>,
  order: string[],
): void {
  if (entries.every((e) => e.c === s)) return; // its own name: /etc/hosts answers
  const onMyNets = entries.filter((e) => mine.has(e.network));
  if (onMyNets.some((e) => e.c !== s && ctx.link(e.network, s, e.c) !== "shared")) {
    ctx.note(`dns ${s.name} → ${name}: not checked (a host-scoped network on two hosts)`);
    return;
  }
  const who = [...new Set(entries.map((e) => e.c.name))];
  if (onMyNets.length > 0) {
    // Docker answers from the first of s's networks (in its order) that knows the name.
    const first = order.find((n) => onMyNets.some((e) => e.network === n))!;
    implyAnswers(ctx, s, name, onMyNets, first, who);
    return;
  }
  const sharesAny = entries.some((e) => e.c.endpoints.some((ep) => mine.has(ep.network)));
  if (sharesAny) return; // e.g. an alias on a network s is not on, of a container it does see
  ctx.out.push(
    dnsExpectation(
      s,
      name,
      "A",
      { kind: "nxdomain" },
      who,
      `${s.name} shares no network with ${who.join(", ")}: ${name} must not resolve`,
    ),
  );
  if (entries.some((e) => e.address6) && s.endpoints.some((e) => e.ipv6)) {
    ctx.out.push(
      dnsExpectation(
        s,
        name,
        "AAAA",
        { kind: "nxdomain" },
        who,
        `${s.name} shares no network with ${who.join(", ")}: ${name} has no AAAA either`,
      ),
    );
  }
}

/**
 * The A answer of `name` from network `first`, and the AAAA answer when a holder has IPv6 on any
 * of the networks `s` shares with it (`onMyNets`): also from `first`, so when `first` has no IPv6
 * the answer is an empty NOERROR.
 */
function implyAnswers(
  ctx: DeriveContext,
  s: Container,
  name: string,
  onMyNets: NameEntry[],
  first: string,
  who: string[],
): void {
  const onFirst = onMyNets.filter((e) => e.network === first);
  const addresses = [...new Set(onFirst.flatMap((e) => e.address ?? []))].sort();
  ctx.out.push(
    dnsExpectation(
      s,
      name,
      "A",
      { kind: "addresses", addresses },
      who,
      addresses.length > 0
        ? `${s.name} resolves ${name} to its address(es) on ${first}, the first network it ` +
          "shares that knows the name (Docker's order)"
        : `${first}, the first network ${s.name} shares that knows ${name}, is IPv6-only: ` +
          "an empty answer",
    ),
  );
  if (!onMyNets.some((e) => e.address6)) return;
  const addresses6 = [...new Set(onFirst.filter((e) => e.address6).map((e) => e.address6!))]
    .sort();
  ctx.out.push(
    dnsExpectation(
      s,
      name,
      "AAAA",
      { kind: "addresses", addresses: addresses6 },
      who,
      addresses6.length > 0
        ? `${s.name} resolves ${name} to its IPv6 address(es) on ${first}`
        : `${first}, the first network ${s.name} shares that knows ${name}, has no IPv6: ` +
          "an empty answer",
    ),
  );
}

/** PTR for every peer address `s` reaches; SRV for named ports of the services `s` sees. */
function implyPtrAndSrv(ctx: DeriveContext, s: Container): void {
  const srv = new Map<string, SrvAnswer>();
  for (const t of ctx.boxes) {
    if (t.mode.kind !== "own") continue;
    const shared = t === s ? [] : ctx.sharedEndpoints(s, t);
    if (shared.some((x) => x.link !== "shared")) continue;
    for (const { ep } of shared) implyPtr(ctx, s, t, ep);
    if (shared.length === 0 && t !== s) continue; // a replica sees its own service's SRV too
    addSrvTargets(srv, t);
  }
  for (const [name, e] of [...srv].sort(([a], [b]) => a.localeCompare(b))) {
    const targets = [...e.targets].sort();
    ctx.out.push({
      ...dnsExpectation(
        s,
        name,
        "SRV",
        { kind: "srv", targets, port: e.port },
        e.owners,
        `${s.name} finds the named port ${name} on ${targets.join(", ")}`,
      ),
      target: `SRV ${name} → ${targets.map((t) => `${t}:${e.port}`).join(", ")}`,
    });
  }
}

/** `s` resolves each address of `t`'s endpoint `ep` (IPv4, IPv6) back to `t`'s name. */
function implyPtr(ctx: DeriveContext, s: Container, t: Container, ep: Endpoint): void {
  if (!givesNames(ep.network)) return;
  for (const address of [ep.address, ep.ipv6?.address]) {
    if (!address || (ctx.addressUse.get(address) ?? 0) > 1) continue;
    ctx.out.push({
      ...dnsExpectation(
        s,
        reverseName(address),
        "PTR",
        { kind: "ptr", names: [ptrName(ctx.model, t, ep.network)] },
        [t.name],
        `${s.name} resolves ${address} back to ${t.name}`,
      ),
      id: `dns:${s.name}:PTR:${address}`,
      target: `PTR ${address} → ${t.name}`,
    });
  }
}

/** What one SRV name answers: the containers that publish it, on one port. */
interface SrvAnswer {
  targets: Set<string>;
  port: number;
  owners: string[];
}

/** Adds `t`'s named ports (`_<name>._<proto>.<service>`) to the SRV answers. */
function addSrvTargets(srv: Map<string, SrvAnswer>, t: Container): void {
  for (const p of t.ports) {
    if (p.name === null || p.protocol === "sctp") continue;
    const srvName = `_${p.name}._${p.protocol}.${t.service}`;
    const entry = srv.get(srvName) ?? { targets: new Set(), port: p.containerPort, owners: [] };
    entry.targets.add(t.name);
    entry.owners.push(t.name);
    srv.set(srvName, entry);
  }
}
