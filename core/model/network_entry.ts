/**
 * The model's entry of a network ({@link Network}): a declaration with its subnet assigned, as
 * the plan and the checks read it — addresses as text, the bridge (docker0, `br-…`, the owner's
 * for an external network), the VXLAN device of an overlay, and the hosts it lives on.
 *
 * @module
 */

import type { Positions } from "./positions.ts";
import type { Network } from "./types.ts";
import { formatCidr, formatIp } from "./ip.ts";
import type { Cidr6 } from "./ip6.ts";
import { ifnameFor } from "./names.ts";
import { toIpv6Network } from "./ipv6.ts";
import { GWBRIDGE, type NetDecl } from "./networks.ts";

/** The final model entry of a declared network. */
export function toNetwork(
  n: NetDecl,
  hosts: string[],
  file: string,
  positions: Positions,
  ula: Cidr6 | null,
): Network {
  const ipv6 = toIpv6Network(n.v6, ula);
  const subnet = n.subnet;
  const bridge = n.external
    ? n.external.bridge
    : n.isDefault
    ? "docker0"
    : n.bridgeName !== null
    ? n.bridgeName
    : n.isGwbridge
    ? GWBRIDGE
    : n.driver === "bridge"
    ? ifnameFor("br-", n.name)
    : n.driver === "overlay"
    ? ifnameFor("ov-", n.name)
    : "";
  return {
    name: n.name,
    driver: n.driver,
    scope: n.driver === "overlay" ? "global" : "local",
    internal: n.internal,
    hasSubnet: true,
    subnet: subnet ? formatCidr(subnet) : "",
    prefix: subnet ? subnet.prefix : 0,
    gateway: n.gateway === null ? "" : formatIp(n.gateway),
    ipRange: subnet ? formatCidr(n.ipRange ?? subnet) : "",
    ...(n.enableIpv4 ? {} : { enableIpv4: false as const }),
    isDefault: n.isDefault,
    dockerName: n.dockerName,
    bridge,
    mtu: n.mtu,
    enableIpv6: n.enableIpv6,
    ...(ipv6 ? { ipv6 } : {}),
    encrypted: n.encrypted,
    driverOpts: n.driverOpts,
    ...(n.external ? { external: n.external } : {}),
    vxlan: n.driver === "overlay"
      ? { vni: n.vni!, port: n.port, device: ifnameFor("vx-", n.name) }
      : null,
    macvlan: n.macvlan,
    hosts,
    pos: n.path.length === 0 ? { file, line: 1, col: 1 } : positions.keyOf(n.path),
  };
}
