/**
 * IPv6 addresses of endpoints: fixed `ipv6_address`es first (file order), then the next free
 * address of each IPv6 network's range in the order Compose starts the containers — the
 * sequential allocation Docker's IPAM does for user networks. The subnet-router address (the
 * subnet's first) and the gateway are never handed out. Scopes are those of IPv4.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import { type Draft, startOrder } from "./containers.ts";
import { addressScope, type NetDecl } from "./networks.ts";
import { contains6, formatCidr6, formatIp6, lastOf6, parseCidr6, parseIp6 } from "./ip6.ts";
import type { Model, Network } from "./types.ts";

/** Who holds which IPv6 address in one scope, and where the next search starts. */
interface Pool6 {
  owners: Map<bigint, string>;
  cursor: bigint;
}

/** The key of an attachment in the result of {@link assignIpv6Addresses}. */
export function attachmentKey(container: string, network: string): string {
  return `${container}\0${network}`;
}

/**
 * IPv6 address of every attachment to a network with IPv6, by {@link attachmentKey}. Reports
 * `ipv6_address` on a network without IPv6, outside its subnet, on the subnet-router address or
 * taken twice, and ranges that run out.
 */
export function assignIpv6Addresses(
  drafts: Draft[],
  nets: Map<string, NetDecl>,
  diags: Diagnostics,
  positions: Positions,
): Map<string, bigint> {
  const pools = new Map<string, Pool6>();
  const poolFor = (net: NetDecl, host: string): Pool6 => {
    const key = addressScope(net, host);
    let pool = pools.get(key);
    if (!pool) {
      const v6 = net.v6!;
      pool = { owners: new Map(), cursor: (v6.ipRange ?? v6.subnet!).base };
      if (v6.gateway !== null) pool.owners.set(v6.gateway, "the gateway");
      pools.set(key, pool);
    }
    return pool;
  };
  const out = new Map<string, bigint>();
  for (const d of drafts) {
    for (const a of d.attachments) {
      if (a.ipv6 === null) continue;
      const net = nets.get(a.network);
      const pos = positions.of([...a.path, "ipv6_address"]);
      const text = `ipv6_address ${formatIp6(a.ipv6)} of "${d.name}"`;
      if (!net?.v6?.subnet) {
        if (net) {
          diags.error(
            pos,
            `${text}, but network "${net.name}" has no IPv6`,
            `add enable_ipv6: true to network "${net.name}", or remove ipv6_address`,
          );
        }
        continue;
      }
      const subnet = net.v6.subnet;
      const pool = poolFor(net, d.host);
      const owner = pool.owners.get(a.ipv6);
      if (!contains6(subnet, a.ipv6) || a.ipv6 === subnet.base || owner !== undefined) {
        diags.error(
          pos,
          !contains6(subnet, a.ipv6)
            ? `${text}, which is outside IPv6 subnet ${
              formatCidr6(subnet)
            } of network "${net.name}"`
            : a.ipv6 === subnet.base
            ? `${text}, which is the subnet-router address of ${formatCidr6(subnet)}`
            : `${text}, which is already used by ${owner} on network "${net.name}"`,
          `choose a free address inside ${formatCidr6(subnet)}, or remove ipv6_address`,
        );
        continue;
      }
      pool.owners.set(a.ipv6, `"${d.name}"`);
      out.set(attachmentKey(d.name, a.network), a.ipv6);
    }
  }
  for (const d of startOrder(drafts)) {
    for (const a of d.attachments) {
      const net = nets.get(a.network);
      if (a.ipv6 !== null || !net?.v6?.subnet) continue;
      const ip = nextFree(poolFor(net, d.host), net, `"${d.name}"`);
      if (ip === null) {
        diags.error(
          positions.keyOf(a.path),
          `network "${net.name}" has no free IPv6 address left for "${d.name}"`,
          "use a larger IPv6 subnet or ip_range",
        );
        continue;
      }
      out.set(attachmentKey(d.name, a.network), ip);
    }
  }
  return out;
}

function nextFree(pool: Pool6, net: NetDecl, owner: string): bigint | null {
  const subnet = net.v6!.subnet!;
  const last = lastOf6(net.v6!.ipRange ?? subnet);
  for (let ip = pool.cursor; ip <= last; ip++) {
    if (ip === subnet.base || pool.owners.has(ip)) continue;
    pool.cursor = ip + 1n;
    pool.owners.set(ip, owner);
    return ip;
  }
  pool.cursor = last + 1n;
  return null;
}

/**
 * The next free IPv6 address of `network` for a container joining it on `host` at run time
 * (`network connect`): the first address of the range held by no endpoint in its scope, never
 * the subnet-router address or the gateway. Null when the range is full.
 */
export function nextFreeIpv6(model: Model, network: Network, host: string): string | null {
  const v6 = network.ipv6!;
  const subnet = parseCidr6(v6.subnet);
  const range = parseCidr6(v6.ipRange);
  if (!subnet.ok || !range.ok) return null;
  const taken = new Set<bigint>();
  if (v6.gateway) taken.add(parseIp6(v6.gateway)!);
  for (const c of model.containers) {
    if (network.driver === "bridge" && c.host !== host) continue;
    for (const e of c.endpoints) {
      if (e.network === network.name && e.ipv6) taken.add(parseIp6(e.ipv6.address)!);
    }
  }
  const last = lastOf6(range.cidr);
  for (let ip = range.cidr.base; ip <= last; ip++) {
    if (ip !== subnet.cidr.base && !taken.has(ip)) return formatIp6(ip);
  }
  return null;
}
