/**
 * The default routes of a container: which endpoint carries IPv4's and which IPv6's (Docker's
 * gateway choice: `gw_priority`, connect order, `docker_gwbridge` for overlays; per family when
 * an IPv6-only network is involved, as Docker 28 chooses).
 *
 * @module
 */

import type { Endpoint } from "./types.ts";
import { GWBRIDGE, type NetDecl } from "./networks.ts";

/**
 * The endpoint carrying the default route: among non-internal networks, the highest
 * `gw_priority`, then the first in connect order; when that network is an overlay, the
 * `docker_gwbridge` endpoint (Docker's model). -1 when none. When that endpoint is on an
 * IPv6-only network and another one has an IPv4 gateway, the IPv4 one (Docker 28 picks each
 * family's gateway on its own; {@link ipv6DefaultEndpointOf} names the IPv6 one then).
 */
export function defaultEndpointOf(endpoints: Endpoint[], nets: Map<string, NetDecl>): number {
  const best = bestGatewayEndpoint(endpoints, nets, anyGateway);
  if (best < 0 || endpoints[best].address !== undefined) return best;
  const best4 = bestGatewayEndpoint(endpoints, nets, (e) => e.gateway !== "");
  return best4 >= 0 ? best4 : best;
}

/**
 * The endpoint carrying the IPv6 default route when it is not `def` (the one
 * {@link defaultEndpointOf} chose): an IPv6-only network that wins for IPv6 while IPv4 goes out
 * through another network. undefined otherwise.
 */
export function ipv6DefaultEndpointOf(
  endpoints: Endpoint[],
  nets: Map<string, NetDecl>,
  def: number,
): number | undefined {
  const best = bestGatewayEndpoint(endpoints, nets, anyGateway);
  return best >= 0 && best !== def ? best : undefined;
}

/** An endpoint with a gateway of either family (an IPv6-only network has its IPv6 one alone). */
function anyGateway(e: Endpoint): boolean {
  return e.gateway !== "" || !!e.ipv6?.gateway;
}

/** The highest `gw_priority`, then the first, of the endpoints `routes` accepts (see above). */
function bestGatewayEndpoint(
  endpoints: Endpoint[],
  nets: Map<string, NetDecl>,
  routes: (e: Endpoint) => boolean,
): number {
  const gw = endpoints.findIndex((e) => e.network === GWBRIDGE);
  let best = -1;
  for (let i = 0; i < endpoints.length; i++) {
    const net = nets.get(endpoints[i].network)!;
    if (net.isGwbridge || net.internal) continue;
    if (net.driver !== "overlay" && !routes(endpoints[i])) continue;
    const p = endpoints[i].gwPriority ?? 0;
    if (best < 0 || p > (endpoints[best].gwPriority ?? 0)) best = i;
  }
  if (best < 0) return -1;
  return nets.get(endpoints[best].network)!.driver === "overlay" ? gw : best;
}
