/**
 * The bridge driver: a Linux bridge per network on each host (`docker0` for Docker's `bridge`), the
 * gateway address on it, and one veth per endpoint with the host end enslaved to the bridge.
 *
 * @module
 */

import { addEndpointAddress, type NetworkDriver } from "./driver.ts";

/** Docker's bridge driver. */
export const bridgeDriver: NetworkDriver = {
  host({ network, hostNs }) {
    hostNs.links.push({ kind: "bridge", name: network.bridge, mtu: network.mtu });
    hostNs.up.push(network.bridge);
    if (network.gateway) {
      hostNs.addrs.push({ dev: network.bridge, address: network.gateway, prefix: network.prefix });
    }
    if (network.ipv6?.gateway) {
      hostNs.addrs.push({
        dev: network.bridge,
        address: network.ipv6.gateway,
        prefix: network.ipv6.prefix,
        nodad: true,
      });
    }
  },
  endpoint(ctx) {
    const { network, endpoint: ep, hostNs, containerNs } = ctx;
    hostNs.links.push({
      kind: "veth",
      name: ep.hostIfname,
      mtu: ep.mtu,
      master: network.bridge,
      hairpin: true,
      peer: { name: ep.ifname, ns: containerNs.name, mac: ep.mac, mtu: ep.mtu },
    });
    hostNs.up.push(ep.hostIfname);
    addEndpointAddress(ctx);
  },
};
