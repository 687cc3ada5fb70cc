/**
 * One address family's view of a lab, so the iptables layout is written once for both families:
 * the IPv6 view is the model with each network's IPv6 subnet and each endpoint's IPv6 address in
 * place of the IPv4 ones (networks without IPv6 left out), and ports published without a host
 * address published on `::` as well, as Docker does with ip6tables on. Pure.
 *
 * @module
 */

import type { Container, Endpoint, Model, Network, PublishedPort } from "../../model/types.ts";
import { IPV6_LOOPBACK } from "../../model/ports.ts";

/** `ipv4` for iptables, `ipv6` for ip6tables. */
export type Family = "ipv4" | "ipv6";

/** The address a port binds when it names none, per family. */
export const UNBOUND: Readonly<Record<Family, string>> = { ipv4: "0.0.0.0", ipv6: "::" };

/** Prefix length of one address: 32 or 128. */
export function hostBits(family: Family): number {
  return family === "ipv6" ? 128 : 32;
}

/** Whether `host` has a network with IPv6 (its namespace then forwards IPv6 and runs ip6tables). */
export function hasIpv6(model: Model, host: string): boolean {
  return model.networks.some((n) => n.ipv6 !== undefined && n.hosts.includes(host));
}

function ipv6Network(n: Network): Network {
  const v6 = n.ipv6!;
  return { ...n, subnet: v6.subnet, prefix: v6.prefix, gateway: v6.gateway, ipRange: v6.ipRange };
}

/** An endpoint with its IPv6 address in place of its IPv4 one; "" when it has none. */
function ipv6Endpoint(e: Endpoint): Endpoint {
  if (!e.ipv6) return { ...e, address: "", gateway: "" };
  return { ...e, address: e.ipv6.address, prefix: e.ipv6.prefix, gateway: e.ipv6.gateway };
}

/**
 * The ports ip6tables publishes: those on `::` (and unbound ones) and on other IPv6 addresses;
 * not those on `::1`, which the kernel cannot DNAT (the runtime's loopback proxy carries them).
 */
function ipv6Ports(ports: PublishedPort[]): PublishedPort[] {
  return ports.flatMap((p) =>
    p.hostIp === UNBOUND.ipv4
      ? [{ ...p, hostIp: UNBOUND.ipv6 }]
      : p.hostIp.includes(":") && p.hostIp !== IPV6_LOOPBACK
      ? [p]
      : []
  );
}

/**
 * The model as the firewall of `family` sees it (the model itself for IPv4).
 *
 * @example
 * ```ts
 * familyView(model, "ipv6").networks.map((n) => n.subnet); // ["fd…::/64", …]
 * ```
 */
export function familyView(model: Model, family: Family): Model {
  if (family === "ipv4") {
    // IPv6-only networks have no IPv4 side: iptables leaves them alone.
    if (model.networks.every((n) => n.enableIpv4 !== false)) return model;
    return { ...model, networks: model.networks.filter((n) => n.enableIpv4 !== false) };
  }
  const containers: Container[] = model.containers.map((c) => ({
    ...c,
    // IPv6 goes out (and its published ports come in) through the IPv6 default endpoint.
    defaultEndpoint: c.defaultEndpoint6 ?? c.defaultEndpoint,
    endpoints: c.endpoints.map(ipv6Endpoint),
    ports: ipv6Ports(c.ports),
  }));
  return { ...model, networks: model.networks.filter((n) => n.ipv6).map(ipv6Network), containers };
}
