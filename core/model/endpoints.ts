/**
 * Endpoints: every container's addresses (fixed `ipv4_address`es first, in file order, then the
 * first free address of each network's range), MACs, interface names and default route.
 * Bridge networks are host-scoped (one address space per host, as separate Docker daemons have);
 * overlay networks are global; macvlan networks share the underlay segment, so their addresses are
 * unique across hosts and never take a host's or the uplink's address.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Endpoint } from "./types.ts";
import type { Attachment } from "./attachments.ts";
import { type Draft, startOrder } from "./containers.ts";
import { addressScope, GWBRIDGE, type NetDecl } from "./networks.ts";
import { defaultEndpointOf, ipv6DefaultEndpointOf } from "./default_route.ts";
import { assignIpv6Addresses, attachmentKey } from "./ipv6_endpoints.ts";
import { formatIp6 } from "./ip6.ts";
import { AddressPool } from "./ipam.ts";
import { contains, formatCidr, formatIp } from "./ip.ts";
import { hashHex } from "./names.ts";
import { macFromName } from "./ipv6_only.ts";

/** Where the hosts and the uplink sit on the underlay (macvlan must avoid them). */
export interface UnderlayAddresses {
  hosts: { name: string; address: number }[];
  uplink: number | null;
}

/** Docker's MAC for an IPv4 address: `02:42:` + the four address bytes. */
export function macFromIp(ip: number): string {
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function ownerLabel(d: Draft, a: Attachment): string {
  if (d.replica === null || a.ipv4Base === null || d.replicas === 1) return `"${d.name}"`;
  return `${d.name} (replica ${d.replica} of "${d.service}", whose ${d.replicas} replicas take ` +
    `${formatIp(a.ipv4Base)}-${formatIp(a.ipv4Base + d.replicas - 1)} from its ipv4_address)`;
}

/** Result of {@link assignEndpoints}, by container name. */
export interface Wiring {
  endpoints: Endpoint[];
  defaultEndpoint: number;
  /** See `Container.defaultEndpoint6`. */
  defaultEndpoint6?: number;
}

/** What assigning addresses works on: the networks, their pools, and where problems go. */
interface AssignContext {
  nets: Map<string, NetDecl>;
  pools: ScopedPools;
  /** IPv4 address of each attachment, by {@link addressKey}. */
  addresses: Map<string, number>;
  diags: Diagnostics;
  positions: Positions;
  /** Problems reported once per service or network, by key. */
  reported: Set<string>;
}

/**
 * Assigns addresses and builds the endpoints of every container that has its own network stack.
 * Reports fixed addresses outside their subnet, on reserved addresses, or taken twice, and
 * networks that run out of addresses.
 */
export function assignEndpoints(
  lab: string,
  drafts: Draft[],
  nets: Map<string, NetDecl>,
  underlay: UnderlayAddresses,
  diags: Diagnostics,
  positions: Positions,
): Map<string, Wiring> {
  const ctx: AssignContext = {
    nets,
    pools: new ScopedPools(underlay),
    addresses: new Map(),
    diags,
    positions,
    reported: new Set(),
  };
  // Fixed addresses first, in file order.
  for (const d of drafts) for (const a of d.attachments) takeFixedAddress(d, a, ctx);
  // Then the first free address, in the order Compose starts the containers.
  for (const d of startOrder(drafts)) for (const a of d.attachments) takeFreeAddress(d, a, ctx);
  const ipv6 = assignIpv6Addresses(drafts, nets, diags, positions);
  const links = new LinkNames(lab);
  const out = new Map<string, Wiring>();
  for (const d of drafts) {
    const endpoints: Endpoint[] = [];
    for (const a of engineOrder(d.attachments, nets)) {
      const net = nets.get(a.network);
      const ip = ctx.addresses.get(addressKey(d, a));
      const ip6 = ipv6.get(attachmentKey(d.name, a.network));
      if (!net || (net.enableIpv4 ? !net.subnet || ip === undefined : ip6 === undefined)) continue;
      const mac = links.claimMac(d, a, net, ip, ctx);
      const hostIfname = net.driver === "macvlan" ? "" : links.claimVeth(d, net);
      endpoints.push(endpointOf(a, net, endpoints.length, { ip, ip6, mac, hostIfname }));
    }
    const defaultEndpoint = defaultEndpointOf(endpoints, nets);
    const defaultEndpoint6 = ipv6DefaultEndpointOf(endpoints, nets, defaultEndpoint);
    out.set(d.name, {
      endpoints,
      defaultEndpoint,
      ...(defaultEndpoint6 === undefined ? {} : { defaultEndpoint6 }),
    });
  }
  return out;
}

/** The key of one container's attachment to one network. */
function addressKey(d: Draft, a: Attachment): string {
  return `${d.name}\0${a.network}`;
}

/** True the first time a problem key is seen: such problems are reported once. */
function firstReport(ctx: AssignContext, key: string): boolean {
  if (ctx.reported.has(key)) return false;
  ctx.reported.add(key);
  return true;
}

/**
 * One address pool per address scope (a bridge network on one host, an overlay or macvlan network
 * everywhere), made on first use with the addresses no container may take already taken.
 */
class ScopedPools {
  readonly #pools = new Map<string, AddressPool>();
  readonly #underlay: UnderlayAddresses;

  constructor(underlay: UnderlayAddresses) {
    this.#underlay = underlay;
  }

  /** The pool `net` hands addresses out of on `host`. */
  of(net: NetDecl, host: string): AddressPool {
    const key = addressScope(net, host);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = this.#newPool(net);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** A pool over the network's range with its gateway, aux addresses and (macvlan) the underlay's. */
  #newPool(net: NetDecl): AddressPool {
    const pool = new AddressPool(net.subnet!, net.ipRange ?? net.subnet!);
    if (net.gateway !== null) pool.take(net.gateway, "the gateway");
    for (const [name, ip] of Object.entries(net.auxAddresses)) {
      pool.take(ip, `aux address "${name}"`);
    }
    if (net.driver === "macvlan") {
      for (const h of this.#underlay.hosts) {
        if (contains(net.subnet!, h.address)) {
          pool.take(h.address, `host ${h.name} (its underlay address)`);
        }
      }
      const uplink = this.#underlay.uplink;
      if (uplink !== null && contains(net.subnet!, uplink)) {
        pool.take(uplink, "the uplink from the machine");
      }
    }
    return pool;
  }
}

/**
 * Takes an attachment's fixed `ipv4_address` (replica offset applied), reporting one outside the
 * subnet, on the network or broadcast address, or already taken.
 */
function takeFixedAddress(d: Draft, a: Attachment, ctx: AssignContext): void {
  const net = ctx.nets.get(a.network);
  if (a.ipv4 === null || !net) return;
  const { diags } = ctx;
  const pos = ctx.positions.of([...a.path, "ipv4_address"]);
  if (!net.enableIpv4 && firstReport(ctx, `v6only ${d.service} ${a.network}`)) {
    diags.error(
      pos,
      `ipv4_address ${formatIp(a.ipv4)} of "${d.name}", but network "${net.name}" is ` +
        "IPv6-only (enable_ipv4: false)",
      "remove ipv4_address, or give the container an ipv6_address",
    );
  }
  if (!net.subnet) return;
  const pool = ctx.pools.of(net, d.host);
  const ip = a.ipv4;
  const replicaText = d.replica !== null && d.replicas > 1
    ? `replica ${d.name} of "${d.service}" would take ${formatIp(ip)} ` +
      `(ipv4_address ${formatIp(a.ipv4Base!)} + ${d.replica - 1})`
    : `ipv4_address ${formatIp(ip)} of "${d.name}"`;
  if (!contains(net.subnet, ip)) {
    if (firstReport(ctx, `range ${d.service} ${a.network}`)) {
      diags.error(
        pos,
        `${replicaText}, which is outside subnet ${formatCidr(net.subnet)} of network ` +
          `"${net.name}" (no configured subnet contains IP address ${formatIp(ip)})`,
        d.replicas > 1
          ? `choose an ipv4_address with ${d.replicas} addresses free after it inside the subnet`
          : `choose an address inside ${formatCidr(net.subnet)}`,
      );
    }
    return;
  }
  if (pool.isReserved(ip)) {
    diags.error(
      pos,
      `${replicaText}, which is the ${ip === net.subnet.base ? "network" : "broadcast"} ` +
        `address of ${formatCidr(net.subnet)}`,
      "choose a usable address inside the subnet",
    );
    return;
  }
  const owner = pool.owner(ip);
  if (owner !== undefined) {
    diags.error(
      pos,
      `${replicaText}, which is already used by ${owner} on network "${net.name}"` +
        (net.driver === "bridge" ? ` on host "${d.host}"` : ""),
      "give each container its own address, or remove ipv4_address to get a free one",
    );
    return;
  }
  pool.take(ip, ownerLabel(d, a));
  ctx.addresses.set(addressKey(d, a), ip);
}

/** Gives an attachment without a fixed address the first free one; reports a full network once. */
function takeFreeAddress(d: Draft, a: Attachment, ctx: AssignContext): void {
  const net = ctx.nets.get(a.network);
  if (a.ipv4 !== null || !net?.subnet) return;
  const pool = ctx.pools.of(net, d.host);
  const ip = pool.next(`"${d.name}"`);
  if (ip !== null) {
    ctx.addresses.set(addressKey(d, a), ip);
    return;
  }
  if (firstReport(ctx, `full ${a.network} ${d.host}`)) {
    ctx.diags.error(
      a.network === GWBRIDGE ? ctx.positions.keyOf(d.path) : ctx.positions.keyOf(a.path),
      `network "${net.name}" has no free address left for "${d.name}"` +
        (net.driver === "bridge" ? ` on host "${d.host}"` : "") +
        `: range ${pool.describe()} holds ${pool.used()} addresses already`,
      "use a larger subnet or ip_range, or fewer replicas/containers",
    );
  }
}

/**
 * The link-layer names handed out so far: MACs per address scope (a MAC is unique where the
 * address is) and host-side veth names per host (unique in the host's namespace).
 */
class LinkNames {
  readonly #lab: string;
  readonly #macs = new Map<string, Map<string, string>>();
  readonly #vethsByHost = new Map<string, Set<string>>();

  constructor(lab: string) {
    this.#lab = lab;
  }

  /**
   * The attachment's MAC (its own, Docker's from the IPv4 address, or a hash of the names when it
   * has none); reports one taken twice.
   */
  claimMac(
    d: Draft,
    a: Attachment,
    net: NetDecl,
    ip: number | undefined,
    ctx: AssignContext,
  ): string {
    const mac = a.mac ??
      (ip === undefined ? macFromName(this.#lab, d.name, net.name) : macFromIp(ip));
    const macScope = addressScope(net, d.host);
    const seen = this.#macs.get(macScope) ?? new Map<string, string>();
    this.#macs.set(macScope, seen);
    if (seen.has(mac)) {
      ctx.diags.error(
        a.mac ? ctx.positions.of([...a.path, "mac_address"]) : ctx.positions.keyOf(d.path),
        `MAC ${mac} of "${d.name}" on network "${net.name}" is already used by "${seen.get(mac)}"`,
        "give each container its own mac_address, or remove mac_address",
      );
    }
    seen.set(mac, d.name);
    return mac;
  }

  /**
   * The host end of the container's veth on `net`: `veth` + a hash of lab, container and network,
   * salted until no other veth on the same host has it.
   */
  claimVeth(d: Draft, net: NetDecl): string {
    const used = this.#vethsByHost.get(d.host) ?? new Set<string>();
    this.#vethsByHost.set(d.host, used);
    let hostIfname = "";
    for (let salt = 0;; salt++) {
      const parts = salt === 0
        ? [this.#lab, d.name, net.name]
        : [this.#lab, d.name, net.name, `${salt}`];
      hostIfname = `veth${hashHex(...parts).slice(0, 7)}`;
      if (!used.has(hostIfname)) break;
    }
    used.add(hostIfname);
    return hostIfname;
  }
}

/** What an endpoint got assigned: its addresses and link names. */
interface EndpointAddresses {
  /** Absent on an IPv6-only network. */
  ip: number | undefined;
  ip6: bigint | undefined;
  mac: string;
  hostIfname: string;
}

/** The endpoint of attachment `a`, the container's `index`-th interface. */
function endpointOf(a: Attachment, net: NetDecl, index: number, got: EndpointAddresses): Endpoint {
  const routed = !net.internal && net.driver !== "overlay";
  return {
    network: net.name,
    ifname: a.interfaceName ?? `eth${index}`,
    hostIfname: got.hostIfname,
    ...(got.ip === undefined ? {} : { address: formatIp(got.ip), prefix: net.subnet!.prefix }),
    mac: got.mac,
    gateway: routed && net.gateway !== null ? formatIp(net.gateway) : "",
    aliases: a.aliases,
    mtu: net.mtu,
    ...(a.gwPriority !== 0 ? { gwPriority: a.gwPriority } : {}),
    ...(got.ip6 === undefined ? {} : {
      ipv6: {
        address: formatIp6(got.ip6),
        prefix: net.v6!.subnet!.prefix,
        gateway: routed && net.v6!.gateway !== null ? formatIp6(net.v6!.gateway) : "",
      },
    }),
  };
}

/**
 * A container's attachments in the order the engine makes its interfaces (eth0, eth1, …):
 * `docker_gwbridge` last, internal networks after the others, then by Docker network name —
 * libnetwork sorts a sandbox's endpoints so before it creates their interfaces at start, and
 * Compose's `priority` does not change it (checked on dockerd 20.10 with docker-compose 1.29 in
 * tests/compose_agreement_test.ts; docker/compose#12170). Stable; pure.
 */
export function engineOrder(attachments: Attachment[], nets: Map<string, NetDecl>): Attachment[] {
  const rank = (a: Attachment) => {
    const net = nets.get(a.network);
    return net === undefined ? 0 : net.isGwbridge ? 2 : net.internal ? 1 : 0;
  };
  const name = (a: Attachment) => nets.get(a.network)?.dockerName ?? a.network;
  return [...attachments].sort((x, y) =>
    rank(x) - rank(y) || (name(x) < name(y) ? -1 : name(x) > name(y) ? 1 : 0)
  );
}
