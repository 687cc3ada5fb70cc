/**
 * The driver interface: each network driver turns a network into plan steps on a host, and an
 * endpoint into plan steps for one container (netavark's shape).
 *
 * @module
 */

import type { Container, Endpoint, Host, Model, Network } from "../../model/types.ts";
import type { NamespacePlan, XfrmPlan } from "../types.ts";

/** What a driver sees when it adds a network's objects to one host. */
export interface HostContext {
  model: Model;
  network: Network;
  host: Host;
  hostNs: NamespacePlan;
  xfrm: XfrmPlan[];
}

/** What a driver sees when it wires one container endpoint. */
export interface EndpointContext {
  model: Model;
  network: Network;
  host: Host;
  container: Container;
  endpoint: Endpoint;
  hostNs: NamespacePlan;
  containerNs: NamespacePlan;
}

/** A network driver. Drivers only append to the plans they are given. */
export interface NetworkDriver {
  /** Objects the network needs in a host namespace that has members of it. */
  host(ctx: HostContext): void;
  /** Objects for one endpoint; the container namespace gets the address and `up`. */
  endpoint(ctx: EndpointContext): void;
}

/**
 * Adds the addresses of an endpoint (IPv4, and IPv6 without duplicate address detection when the
 * network has IPv6) and brings its interface up inside the container.
 */
export function addEndpointAddress(ctx: EndpointContext): void {
  const { endpoint: ep, containerNs } = ctx;
  containerNs.up.push(ep.ifname);
  if (ep.address !== undefined) {
    containerNs.addrs.push({ dev: ep.ifname, address: ep.address, prefix: ep.prefix! });
  }
  if (ep.ipv6) {
    containerNs.addrs.push({
      dev: ep.ifname,
      address: ep.ipv6.address,
      prefix: ep.ipv6.prefix,
      nodad: true,
    });
    Object.assign(containerNs.sysctls, NO_ROUTER_ADVERTISEMENTS);
  }
}

/**
 * A sandbox takes its IPv6 routes from the plan, never from router advertisements (Docker turns
 * `accept_ra` off in containers too). Equivalent to: `sysctl -w net.ipv6.conf.all.accept_ra=0
 * net.ipv6.conf.default.accept_ra=0`.
 */
export const NO_ROUTER_ADVERTISEMENTS: Readonly<Record<string, string>> = {
  "net/ipv6/conf/all/accept_ra": "0",
  "net/ipv6/conf/default/accept_ra": "0",
};
