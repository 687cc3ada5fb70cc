/**
 * The underlay's IPv6 side: when a lab has an IPv6 network, every host also gets an IPv6 address
 * on the underlay, so a port published on `::` can be reached from another host the way Docker's
 * host is reached on its own IPv6 address. The subnet is the last /64 of the lab's ULA /48
 * (networks take theirs from the start of it), and a host's number in it is its number in the
 * IPv4 underlay: `10.77.0.11` → `fdXX:XXXX:XXXX:ffff::b`. Derived, pure, never stored.
 *
 * @module
 */

import type { Host, Model } from "./types.ts";
import { formatCidr6, formatIp6 } from "./ip6.ts";
import { parseCidr, parseIp } from "./ip.ts";
import { ulaPrefix } from "./ipv6.ts";

/** Prefix length of the underlay's IPv6 subnet. */
export const UNDERLAY6_PREFIX = 64;

/** Index of the underlay's /64 inside the lab's /48: the last one. */
const UNDERLAY6_SLOT = 0xffffn;

function underlayBase6(lab: string): bigint {
  return ulaPrefix(lab).base + (UNDERLAY6_SLOT << BigInt(128 - UNDERLAY6_PREFIX));
}

/**
 * The underlay's IPv6 subnet, or null when no network of the lab has IPv6 (the underlay then
 * stays IPv4 only, exactly as before).
 *
 * @example
 * ```ts
 * underlaySubnet6(model); // "fdXX:XXXX:XXXX:ffff::/64"
 * ```
 */
export function underlaySubnet6(model: Model): string | null {
  if (!model.networks.some((n) => n.ipv6)) return null;
  return formatCidr6({ base: underlayBase6(model.lab), prefix: UNDERLAY6_PREFIX });
}

/** `host`'s IPv6 address on the underlay, or null when the lab has no IPv6 network. */
export function hostAddress6(model: Model, host: Host): string | null {
  if (underlaySubnet6(model) === null) return null;
  const cidr = parseCidr(model.underlay.subnet);
  const ip = parseIp(host.address);
  if (!cidr.ok || ip === null) return null;
  return formatIp6(underlayBase6(model.lab) + BigInt(ip - cidr.cidr.base));
}
