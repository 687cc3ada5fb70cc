/**
 * Subnets: explicit subnets checked for overlaps in the scope where they would clash, then every
 * other network given the first free pool (local from Docker's local pools, overlay from
 * 10.0.0.0/8, macvlan the underlay's subnet), default gateways and VXLAN ids.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import { type Cidr, formatCidr, overlaps } from "./ip.ts";
import { firstFreePool, globalPools, localPools } from "./ipam.ts";
import type { NetDecl } from "./networks.ts";

/** Which hosts each network exists on (members' hosts), by network name. */
export type Membership = Map<string, string[]>;

/** A host both lists name, or null. */
function sharedHost(a: string[], b: string[]): string | null {
  return a.find((h) => b.includes(h)) ?? null;
}

/**
 * Refuses explicit subnets that overlap in one scope (overlay against everything; local networks
 * against each other and the underlay on a shared host), then gives every other network the first
 * free pool: local from Docker's local pools, overlay from 10.0.0.0/8, macvlan the underlay's
 * subnet. Sets default gateways.
 */
export function assignSubnets(
  nets: NetDecl[],
  members: Membership,
  underlay: Cidr,
  reserved: readonly Cidr[],
  diags: Diagnostics,
  positions: Positions,
): void {
  const hostsOf = (n: NetDecl) => members.get(n.name) ?? [];
  const explicit = nets.filter((n) => n.explicitSubnet && n.subnet);
  const where = (n: NetDecl) => positions.of([...n.path, "ipam", "config"]);
  for (let i = 0; i < explicit.length; i++) {
    const a = explicit[i];
    if (a.isDefault) continue;
    const aHosts = hostsOf(a);
    if (aHosts.length > 0 || a.driver === "overlay") {
      const clash = a.driver === "overlay" || a.driver === "bridge";
      if (clash && overlaps(a.subnet!, underlay)) {
        diags.error(
          where(a),
          `subnet ${formatCidr(a.subnet!)} of network "${a.name}" overlaps the underlay ` +
            `${formatCidr(underlay)} (the hosts' own segment)`,
          "give the network another subnet, or set underlay.subnet to a different range",
        );
      }
    }
    for (let j = 0; j < i; j++) {
      const b = explicit[j];
      if (!overlaps(a.subnet!, b.subnet!)) continue;
      let on: string | null = null;
      if (a.driver === "overlay" || b.driver === "overlay") on = "";
      else {
        if (
          a.driver === "macvlan" && b.driver === "macvlan" &&
          a.macvlan?.parent !== b.macvlan?.parent
        ) continue;
        on = sharedHost(aHosts, hostsOf(b));
      }
      if (on === null) continue;
      diags.error(
        where(a),
        `subnet ${formatCidr(a.subnet!)} of network "${a.name}" overlaps ` +
          `${formatCidr(b.subnet!)} of network "${b.name}"` +
          (on ? ` on host "${on}"` : " (overlay networks span every host)"),
        "give one of them a different subnet, or leave subnet out to let nslab pick a free one",
      );
    }
  }
  const avoid: Cidr[] = [underlay, ...reserved, ...explicit.map((n) => n.subnet!)];
  for (const n of nets) {
    if (n.subnet || !n.enableIpv4) continue;
    if (n.driver === "macvlan") {
      n.subnet = underlay;
      n.underlaySubnet = true;
      continue;
    }
    const pool = firstFreePool(n.driver === "overlay" ? globalPools() : localPools(), avoid);
    if (!pool) {
      diags.error(
        positions.keyOf(n.path),
        `no free subnet for network "${n.name}": all predefined address pools have been fully ` +
          "subnetted",
        "give the network an explicit subnet in ipam.config",
      );
      continue;
    }
    n.subnet = pool;
    avoid.push(pool);
  }
  for (const n of nets) {
    if (n.subnet && n.gateway === null && n.driver !== "macvlan") n.gateway = n.subnet.base + 1;
  }
  let vni = 4096;
  const used = new Set(nets.map((n) => n.vni).filter((v) => v !== null));
  for (const n of nets) {
    if (n.driver !== "overlay" || n.vni !== null) continue;
    while (used.has(vni)) vni++;
    n.vni = vni++;
  }
}
