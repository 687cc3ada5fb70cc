/**
 * IPv6-only networks (`enable_ipv4: false`, Docker 28+): validation of the switch, and the
 * deterministic MAC of an endpoint that has no IPv4 address to derive one from.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import { hashHex } from "./names.ts";
import type { Container, Endpoint } from "./types.ts";

/** The parts of a declared network the IPv4 switch is checked against. */
export interface Ipv4Switch {
  name: string;
  driver: string;
  path: (string | number)[];
  enableIpv6: boolean;
}

/**
 * Whether the network has IPv4: `enable_ipv4` (default true). `false` needs `enable_ipv6: true`
 * (Docker refuses a network with neither family), no IPv4 ipam entry, and the bridge driver (the
 * only one nslab builds IPv6-only). Each problem is a located error.
 */
export function readEnableIpv4(
  n: Ipv4Switch,
  value: boolean | undefined,
  ipv4Entries: { i: number }[],
  diags: Diagnostics,
  positions: Positions,
): boolean {
  if (value !== false) return true;
  const where = positions.of([...n.path, "enable_ipv4"]);
  if (!n.enableIpv6) {
    diags.error(
      where,
      `network "${n.name}": IPv4 or IPv6 must be enabled (enable_ipv4: false without ` +
        "enable_ipv6: true)",
      "add enable_ipv6: true for an IPv6-only network, or remove enable_ipv4: false",
    );
  }
  if (n.driver !== "bridge") {
    diags.error(
      where,
      `network "${n.name}": IPv6-only networks are built for the bridge driver, not ${n.driver}`,
      "use driver: bridge, or remove enable_ipv4: false",
    );
  }
  if (ipv4Entries.length > 0) {
    diags.error(
      positions.of([...n.path, "ipam", "config", ipv4Entries[0].i]),
      `network "${n.name}" has an IPv4 ipam config, but enable_ipv4 is false`,
      "remove the IPv4 ipam config entry, or remove enable_ipv4: false",
    );
  }
  return false;
}

/**
 * The MAC of an endpoint without an IPv4 address: locally administered, unicast (`02:`), the
 * other five bytes a hash of lab, container and network — random-looking like Docker 28's, but
 * the same on every run of the lab.
 */
export function macFromName(lab: string, container: string, network: string): string {
  const hex = hashHex("mac", lab, container, network).slice(0, 10);
  return ["02", ...hex.match(/../g)!].join(":");
}

/**
 * The address an endpoint is known by where one address is named (`/etc/hosts`, links, `ps`):
 * its IPv4 address, or its IPv6 one on an IPv6-only network.
 */
export function primaryAddress(ep: Endpoint): string {
  return ep.address ?? ep.ipv6!.address;
}

/** The endpoint carrying the container's IPv6 default route (`defaultEndpoint6`, else the default). */
export function ipv6DefaultEndpoint(c: Container): Endpoint | undefined {
  const i = c.defaultEndpoint6 ?? c.defaultEndpoint;
  return i >= 0 ? c.endpoints[i] : undefined;
}

/**
 * Whether the container is only on IPv6-only networks: it has endpoints, none with an IPv4
 * address (a `none` container, with no endpoint at all, is not).
 */
export function isIpv6Only(c: Container): boolean {
  return c.endpoints.length > 0 && c.endpoints.every((e) => e.address === undefined);
}
