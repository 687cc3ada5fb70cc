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
import type { Positions } from "./schema.ts";
import type { Endpoint } from "./types.ts";
import type { Attachment } from "./attachments.ts";
import { type Draft, startOrder } from "./containers.ts";
import { addressScope, GWBRIDGE, type NetDecl } from "./networks.ts";
import { assignIpv6Addresses, attachmentKey } from "./ipv6_endpoints.ts";
import { formatIp6 } from "./ip6.ts";
import { AddressPool } from "./ipam.ts";
import { contains, formatCidr, formatIp } from "./ip.ts";
import { hashHex } from "./names.ts";

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
  const pools = new Map<string, AddressPool>();
  const macs = new Map<string, Map<string, string>>();
  const poolFor = (net: NetDecl, host: string): AddressPool => {
    const key = addressScope(net, host);
    let pool = pools.get(key);
    if (!pool) {
      pool = new AddressPool(net.subnet!, net.ipRange ?? net.subnet!);
      if (net.gateway !== null) pool.take(net.gateway, "the gateway");
      for (const [name, ip] of Object.entries(net.auxAddresses)) {
        pool.take(ip, `aux address "${name}"`);
      }
      if (net.driver === "macvlan") {
        for (const h of underlay.hosts) {
          if (contains(net.subnet!, h.address)) {
            pool.take(h.address, `host ${h.name} (its underlay address)`);
          }
        }
        if (underlay.uplink !== null && contains(net.subnet!, underlay.uplink)) {
          pool.take(underlay.uplink, "the uplink from the machine");
        }
      }
      pools.set(key, pool);
    }
    return pool;
  };
  const addresses = new Map<string, number>();
  const addrKey = (d: Draft, a: Attachment) => `${d.name}\0${a.network}`;
  const reported = new Set<string>();
  const once = (key: string) => {
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  };

  // Fixed addresses first, in file order.
  for (const d of drafts) {
    for (const a of d.attachments) {
      const net = nets.get(a.network);
      if (a.ipv4 === null || !net?.subnet) continue;
      const pos = positions.of([...a.path, "ipv4_address"]);
      const pool = poolFor(net, d.host);
      const ip = a.ipv4;
      const replicaText = d.replica !== null && d.replicas > 1
        ? `replica ${d.name} of "${d.service}" would take ${formatIp(ip)} ` +
          `(ipv4_address ${formatIp(a.ipv4Base!)} + ${d.replica - 1})`
        : `ipv4_address ${formatIp(ip)} of "${d.name}"`;
      if (!contains(net.subnet, ip)) {
        if (once(`range ${d.service} ${a.network}`)) {
          diags.error(
            pos,
            `${replicaText}, which is outside subnet ${formatCidr(net.subnet)} of network ` +
              `"${net.name}" (no configured subnet contains IP address ${formatIp(ip)})`,
            d.replicas > 1
              ? `choose an ipv4_address with ${d.replicas} addresses free after it inside the subnet`
              : `choose an address inside ${formatCidr(net.subnet)}`,
          );
        }
        continue;
      }
      if (pool.isReserved(ip)) {
        diags.error(
          pos,
          `${replicaText}, which is the ${ip === net.subnet.base ? "network" : "broadcast"} ` +
            `address of ${formatCidr(net.subnet)}`,
          "choose a usable address inside the subnet",
        );
        continue;
      }
      const owner = pool.owner(ip);
      if (owner !== undefined) {
        diags.error(
          pos,
          `${replicaText}, which is already used by ${owner} on network "${net.name}"` +
            (net.driver === "bridge" ? ` on host "${d.host}"` : ""),
          "give each container its own address, or remove ipv4_address to get a free one",
        );
        continue;
      }
      pool.take(ip, ownerLabel(d, a));
      addresses.set(addrKey(d, a), ip);
    }
  }
  // Then the first free address, in the order Compose starts the containers.
  for (const d of startOrder(drafts)) {
    for (const a of d.attachments) {
      const net = nets.get(a.network);
      if (a.ipv4 !== null || !net?.subnet) continue;
      const pool = poolFor(net, d.host);
      const ip = pool.next(`"${d.name}"`);
      if (ip === null) {
        if (once(`full ${a.network} ${d.host}`)) {
          diags.error(
            a.network === GWBRIDGE ? positions.keyOf(d.path) : positions.keyOf(a.path),
            `network "${net.name}" has no free address left for "${d.name}"` +
              (net.driver === "bridge" ? ` on host "${d.host}"` : "") +
              `: range ${pool.describe()} holds ${pool.used()} addresses already`,
            "use a larger subnet or ip_range, or fewer replicas/containers",
          );
        }
        continue;
      }
      addresses.set(addrKey(d, a), ip);
    }
  }

  const ipv6 = assignIpv6Addresses(drafts, nets, diags, positions);
  const vethsByHost = new Map<string, Set<string>>();
  const out = new Map<string, Wiring>();
  for (const d of drafts) {
    const endpoints: Endpoint[] = [];
    for (const a of d.attachments) {
      const net = nets.get(a.network);
      const ip = addresses.get(addrKey(d, a));
      if (!net?.subnet || ip === undefined) continue;
      const mac = a.mac ?? macFromIp(ip);
      const macScope = addressScope(net, d.host);
      const seen = macs.get(macScope) ?? new Map<string, string>();
      macs.set(macScope, seen);
      if (seen.has(mac)) {
        diags.error(
          a.mac ? positions.of([...a.path, "mac_address"]) : positions.keyOf(d.path),
          `MAC ${mac} of "${d.name}" on network "${net.name}" is already used by "${
            seen.get(mac)
          }"`,
          "give each container its own mac_address, or remove mac_address",
        );
      }
      seen.set(mac, d.name);
      let hostIfname = "";
      if (net.driver !== "macvlan") {
        const used = vethsByHost.get(d.host) ?? new Set<string>();
        vethsByHost.set(d.host, used);
        for (let salt = 0;; salt++) {
          const parts = salt === 0 ? [lab, d.name, net.name] : [lab, d.name, net.name, `${salt}`];
          hostIfname = `veth${hashHex(...parts).slice(0, 7)}`;
          if (!used.has(hostIfname)) break;
        }
        used.add(hostIfname);
      }
      const routed = !net.internal && net.driver !== "overlay";
      const ip6 = ipv6.get(attachmentKey(d.name, a.network));
      endpoints.push({
        network: net.name,
        ifname: a.interfaceName ?? `eth${endpoints.length}`,
        hostIfname,
        address: formatIp(ip),
        prefix: net.subnet.prefix,
        mac,
        gateway: routed && net.gateway !== null ? formatIp(net.gateway) : "",
        aliases: a.aliases,
        mtu: net.mtu,
        ...(a.gwPriority !== 0 ? { gwPriority: a.gwPriority } : {}),
        ...(ip6 === undefined ? {} : {
          ipv6: {
            address: formatIp6(ip6),
            prefix: net.v6!.subnet!.prefix,
            gateway: routed && net.v6!.gateway !== null ? formatIp6(net.v6!.gateway) : "",
          },
        }),
      });
    }
    out.set(d.name, { endpoints, defaultEndpoint: defaultEndpointOf(endpoints, nets) });
  }
  return out;
}

/**
 * The endpoint carrying the default route: among non-internal networks, the highest
 * `gw_priority`, then the first in connect order; when that network is an overlay, the
 * `docker_gwbridge` endpoint (Docker's model). -1 when none.
 */
export function defaultEndpointOf(endpoints: Endpoint[], nets: Map<string, NetDecl>): number {
  const gw = endpoints.findIndex((e) => e.network === GWBRIDGE);
  let best = -1;
  for (let i = 0; i < endpoints.length; i++) {
    const net = nets.get(endpoints[i].network)!;
    if (net.isGwbridge || net.internal) continue;
    if (net.driver !== "overlay" && !endpoints[i].gateway) continue;
    const p = endpoints[i].gwPriority ?? 0;
    if (best < 0 || p > (endpoints[best].gwPriority ?? 0)) best = i;
  }
  if (best < 0) return -1;
  return nets.get(endpoints[best].network)!.driver === "overlay" ? gw : best;
}
