/**
 * The macvlan driver: each endpoint is a macvlan sub-interface of the host's `eth0` (or of an
 * 802.1Q link `eth0.<vid>` that nslab creates), created on the host and placed directly in the
 * container. The kernel keeps a host from talking to its own macvlan children; `host_shim: true`
 * adds the usual workaround, a host-side macvlan interface with a /32 route per local container.
 *
 * @module
 */

import type { Network } from "../../model/types.ts";
import { addEndpointAddress, type NetworkDriver } from "./driver.ts";

/** Name of the host-side shim interface of a macvlan network (≤ 15 bytes). */
export function shimName(network: Network): string {
  return `mvs-${network.name}`.slice(0, 15);
}

/** Docker's macvlan driver. */
export const macvlanDriver: NetworkDriver = {
  host({ model, network, host, hostNs }) {
    const mv = network.macvlan!;
    if (mv.vlan !== null) {
      hostNs.links.push({ kind: "vlan", name: mv.parent, parent: "eth0", id: mv.vlan });
      hostNs.up.push(mv.parent);
    }
    if (!mv.hostShim) return;
    const shim = shimName(network);
    hostNs.links.push({
      kind: "macvlan",
      name: shim,
      parent: mv.parent,
      mode: "bridge",
      targetNs: hostNs.name,
    });
    hostNs.up.push(shim);
    for (const c of model.containers) {
      if (c.host !== host.name) continue;
      for (const ep of c.endpoints) {
        if (ep.network !== network.name) continue;
        hostNs.routes.push({ dst: `${ep.address}/32`, dev: shim, src: host.address });
      }
    }
  },
  endpoint(ctx) {
    const { network, endpoint: ep, hostNs, containerNs } = ctx;
    const mv = network.macvlan!;
    hostNs.links.push({
      kind: "macvlan",
      name: ep.ifname,
      parent: mv.parent,
      mode: mv.mode,
      targetNs: containerNs.name,
      mac: ep.mac,
      mtu: ep.mtu,
    });
    addEndpointAddress(ctx);
  },
};
