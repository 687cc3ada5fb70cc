/**
 * How the network verbs wire things at run time, as the loader would have: a container's new
 * endpoint (an address from a pool of what is already taken, the next `eth<N>`, a host veth name,
 * Docker's MAC, IPv6), `docker_gwbridge` when an overlay needs it, and the subnets a new network
 * must not overlap.
 *
 * @module
 */

import type { Container, Endpoint, Model, Network } from "./types.ts";
import { NslabError, UsageError } from "../errors.ts";
import { Positions } from "./positions.ts";
import { GWBRIDGE, gwbridgeNetwork, type NetDecl } from "./networks.ts";
import { toNetwork } from "./network_entry.ts";
import { AddressPool, firstFreePool, localPools } from "./ipam.ts";
import { type Cidr, contains, formatIp, parseCidr, parseIp } from "./ip.ts";
import { macFromIp } from "./endpoints.ts";
import { hashHex } from "./names.ts";
import { nextFreeIpv6 } from "./ipv6_endpoints.ts";
import { macFromName } from "./ipv6_only.ts";

/** A prefix the model holds (always valid: the loader wrote it). */
export function cidrOf(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(`nslab bug: the model holds an invalid prefix "${text}"`);
  return r.cidr;
}

/** Adapts model networks to what `defaultEndpointOf` reads (driver, internal, gwbridge). */
export function declView(model: Model): Map<string, NetDecl> {
  return new Map(
    model.networks.map((n) => [n.name, {
      driver: n.driver,
      internal: n.internal,
      isGwbridge: n.name === GWBRIDGE,
    } as NetDecl]),
  );
}

/**
 * Subnets a new network must not overlap: every network's subnet (macvlan networks share the
 * underlay by design, so a macvlan is only compared with macvlans of the same parent) and, for
 * bridge and overlay networks, the underlay itself.
 */
export function clashes(model: Model, decl: NetDecl): { cidr: Cidr; what: string }[] {
  const out: { cidr: Cidr; what: string }[] = [];
  if (decl.driver !== "macvlan") {
    out.push({ cidr: cidrOf(model.underlay.subnet), what: "the underlay (the hosts' segment)" });
  }
  for (const n of model.networks) {
    if (decl.driver === "macvlan") {
      if (n.driver !== "macvlan" || n.macvlan?.parent !== decl.macvlan?.parent) continue;
    } else if (n.driver === "macvlan") continue;
    if (n.enableIpv4 === false) continue; // no IPv4 subnet to overlap
    out.push({ cidr: cidrOf(n.subnet), what: `${n.subnet} of network "${n.name}"` });
  }
  return out;
}

/** The address pool of `network` as `container` sees it: everything already taken is taken. */
function poolFor(model: Model, network: Network, host: string): AddressPool {
  const subnet = cidrOf(network.subnet);
  const pool = new AddressPool(subnet, cidrOf(network.ipRange));
  if (network.gateway) pool.take(parseIp(network.gateway)!, "the gateway");
  if (network.driver === "macvlan") {
    for (const h of model.hosts) {
      const ip = parseIp(h.address)!;
      if (contains(subnet, ip)) pool.take(ip, `host ${h.name} (its underlay address)`);
    }
    const up = model.underlay.uplink;
    if (up && contains(subnet, parseIp(up.address)!)) {
      pool.take(parseIp(up.address)!, "the uplink from the machine");
    }
  }
  for (const c of model.containers) {
    // Bridge networks are host-scoped: each host has its own address space, as in the loader.
    if (network.driver === "bridge" && c.host !== host) continue;
    for (const e of c.endpoints) {
      if (e.network === network.name && e.address !== undefined) {
        pool.take(parseIp(e.address)!, `"${c.name}"`);
      }
    }
  }
  return pool;
}

/** `eth<N>` after the highest interface the container has (Docker counts up per sandbox). */
function nextIfname(c: Container): string {
  const used = c.endpoints.map((e) => Number(/^eth(\d+)$/.exec(e.ifname)?.[1] ?? -1));
  return `eth${Math.max(-1, ...used) + 1}`;
}

/** The host-side veth name, as the loader makes it, unique on the container's host. */
function hostIfnameFor(model: Model, c: Container, network: string): string {
  const used = new Set(
    model.containers.filter((x) => x.host === c.host).flatMap((x) =>
      x.endpoints.map((e) => e.hostIfname)
    ),
  );
  for (let salt = 0;; salt++) {
    const parts = salt === 0
      ? [model.lab, c.name, network]
      : [model.lab, c.name, network, `${salt}`];
    const name = `veth${hashHex(...parts).slice(0, 7)}`;
    if (!used.has(name)) return name;
  }
}

/**
 * Gives `c` a new endpoint on `network`: `ip` or the first free address, the next `eth<N>`, a
 * host veth name, Docker's MAC, and an IPv6 address when the network has IPv6.
 */
export function addEndpoint(
  model: Model,
  c: Container,
  network: Network,
  ip: number | null,
  aliases: string[],
): void {
  const v6only = network.enableIpv4 === false;
  const address = v6only ? null : ip ?? freeIpv4(model, network, c);
  // An IPv6-only network has no IPv4 gateway: it routes when it has an IPv6 one.
  const wayOut = v6only ? network.ipv6!.gateway : network.gateway;
  const routed = !network.internal && network.driver !== "overlay" && wayOut !== "";
  const ep: Endpoint = {
    network: network.name,
    ifname: nextIfname(c),
    hostIfname: network.driver === "macvlan" ? "" : hostIfnameFor(model, c, network.name),
    ...(address === null ? {} : { address: formatIp(address), prefix: network.prefix }),
    mac: address === null ? macFromName(model.lab, c.name, network.name) : macFromIp(address),
    gateway: routed ? network.gateway : "",
    aliases,
    mtu: network.mtu,
  };
  if (network.ipv6) {
    const v6 = nextFreeIpv6(model, network, c.host);
    if (v6 === null) {
      throw new NslabError(
        `no available IPv6 addresses on network ${network.name} (range ${network.ipv6.ipRange}); ` +
          "create a larger network",
        1,
      );
    }
    const gateway = routed ? network.ipv6.gateway : "";
    ep.ipv6 = { address: v6, prefix: network.ipv6.prefix, gateway };
  }
  c.endpoints.push(ep);
}

/** The first free IPv4 address of `network` for `c`; throws Docker's error when none is left. */
function freeIpv4(model: Model, network: Network, c: Container): number {
  const pool = poolFor(model, network, c.host);
  const address = pool.next(`"${c.name}"`);
  if (address !== null) return address;
  throw new NslabError(
    `no available IPv4 addresses on this network's address pools: ${network.name} ` +
      `(range ${pool.describe()} holds ${pool.used()} addresses); create a larger network`,
    1,
  );
}

/** Makes sure `docker_gwbridge` exists in the model (first free local pool), as the loader does. */
export function ensureGwbridge(model: Model, reserved: readonly string[]): Network {
  const have = model.networks.find((n) => n.name === GWBRIDGE);
  if (have) return have;
  const decl = gwbridgeNetwork();
  const avoid = [
    ...clashes(model, decl).map((c) => c.cidr),
    ...reserved.flatMap((r) => {
      const p = parseCidr(r);
      return p.ok ? [p.cidr] : [];
    }),
  ];
  const pool = firstFreePool(localPools(), avoid);
  if (!pool) {
    throw new NslabError(
      `all predefined address pools have been fully subnetted (no subnet left for ${GWBRIDGE})`,
      1,
    );
  }
  decl.subnet = pool;
  decl.gateway = pool.base + 1;
  const n = toNetwork(decl, [], model.file, new Positions(model.file), null);
  model.networks.push(n);
  return n;
}

/** Hosts (in the model's order) with at least one endpoint on `network`. */
function memberHosts(model: Model, network: string): string[] {
  const on = new Set(
    model.containers.filter((c) => c.endpoints.some((e) => e.network === network)).map((c) =>
      c.host
    ),
  );
  return model.hosts.map((h) => h.name).filter((h) => on.has(h));
}

/** Recomputes every network's hosts from its members (as the loader does). */
export function refreshHosts(model: Model): void {
  for (const n of model.networks) n.hosts = memberHosts(model, n.name);
}

/** Docker's refusal to connect or disconnect a container that has no network of its own. */
export function refuseMode(c: Container, verb: "connected to" | "disconnected from"): void {
  if (c.mode.kind === "own") return;
  const text = c.mode.kind === "host"
    ? "container cannot be disconnected from host network or connected to host network"
    : c.mode.kind === "none"
    ? "container cannot be connected to multiple networks with one of the networks in private " +
      "(none) mode"
    : "container sharing network namespace with another container or host cannot be connected " +
      "to any other network";
  throw new NslabError(
    `${text}: "${c.name}" uses network_mode ${
      c.mode.kind === "container" ? `container:${c.mode.of}` : c.mode.kind
    } and cannot be ${verb} a network`,
    1,
  );
}

/**
 * The address `--ip` asks for on `net`: only on a user-defined network, inside its subnet, and
 * neither taken (on `c`'s host for a bridge network) nor the network or broadcast address.
 *
 * @throws {UsageError} when it is not an IPv4 address; {@link NslabError} with Docker's texts.
 */
export function fixedAddress(model: Model, net: Network, c: Container, text: string): number {
  if (net.isDefault) {
    throw new NslabError(
      "user-specified IP address is supported on user-defined networks only; leave --ip out " +
        `on network ${net.name}`,
      1,
    );
  }
  if (net.enableIpv4 === false) {
    throw new UsageError(
      `network ${net.name} is IPv6-only (enable_ipv4: false): it has no IPv4 address to give; ` +
        "leave --ip out",
    );
  }
  const ip = parseIp(text);
  if (ip === null) {
    throw new UsageError(`invalid IPv4 address "${text}" for --ip: e.g. --ip 172.20.0.50`);
  }
  const subnet = cidrOf(net.subnet);
  if (!contains(subnet, ip)) {
    throw new NslabError(
      `no configured subnet contains IP address ${text}; network ${net.name} is ${net.subnet}`,
      1,
    );
  }
  const pool = poolFor(model, net, c.host);
  const owner = pool.owner(ip);
  if (owner !== undefined || pool.isReserved(ip)) {
    throw new NslabError(
      `Address already in use: ${text} on network ${net.name} is ${
        owner ?? (ip === subnet.base ? "the network address" : "the broadcast address")
      }; choose another --ip or leave it out`,
      1,
    );
  }
  return ip;
}
