/**
 * Endpoints on an `external: true` network that another lab owns: the veth is created in the
 * container's namespace with its peer directly in the owning lab's host namespace, enslaved to
 * that lab's bridge — the container joins the owner's L2 segment, firewall and IPAM as Docker's
 * containers of two projects share one user network. This lab builds no bridge, gateway or rule
 * for the network; removing the container's namespace takes the peer with it.
 *
 * @module
 */

import { addEndpointAddress, type EndpointContext } from "./driver.ts";

/**
 * Wires one endpoint of a container onto another lab's network (`network.external`).
 * Equivalent to: `ip -n CTR link add eth1 type veth peer name vethX netns OWNER-host` and
 * `ip -n OWNER-host link set vethX master br-X up`.
 */
export function externalEndpoint(ctx: EndpointContext): void {
  const { network, endpoint: ep, containerNs } = ctx;
  const owner = network.external!;
  containerNs.links.push({
    kind: "veth",
    name: ep.ifname,
    mac: ep.mac,
    mtu: ep.mtu,
    peer: { name: ep.hostIfname, ns: owner.netns, master: owner.bridge, mtu: ep.mtu },
  });
  addEndpointAddress(ctx);
}
