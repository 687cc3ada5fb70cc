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

/** Adds the address of an endpoint and brings its interface up inside the container. */
export function addEndpointAddress(ctx: EndpointContext): void {
  const { endpoint: ep, containerNs } = ctx;
  containerNs.up.push(ep.ifname);
  containerNs.addrs.push({ dev: ep.ifname, address: ep.address, prefix: ep.prefix });
}
