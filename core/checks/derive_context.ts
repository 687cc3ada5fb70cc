/**
 * The context every derivation of expectations shares: the model indexed for lookups, the rows
 * and notes derived so far, and the small facts several kinds of rows need (an endpoint's address
 * in a family, whether nslab's responder answers, where "outside" probes run from).
 *
 * @module
 */

import { IPV6_TAG } from "./families.ts";
import type { Container, Endpoint, Host, Model, Network } from "../model/types.ts";
import type { Expectation } from "./types.ts";

/** How two endpoints of one network relate at layer 2. */
export type Link = "shared" | "separate" | "unknown";

/**
 * What deriving expectations reads from the model, indexed once (networks and hosts by name, the
 * containers with a namespace of their own, how many endpoints hold each address), and the rows
 * and notes derived so far.
 */
export class DeriveContext {
  readonly out: Expectation[] = [];
  readonly notes: string[] = [];
  readonly nets: Map<string, Network>;
  readonly hosts: Map<string, Host>;
  /** Containers with a namespace of their own (`own` and `none` modes). */
  readonly boxes: Container[];
  /** address → how many endpoints in the lab hold it. */
  readonly addressUse = new Map<string, number>();

  constructor(readonly model: Model) {
    this.nets = new Map(model.networks.map((n) => [n.name, n]));
    this.hosts = new Map(model.hosts.map((h) => [h.name, h]));
    this.boxes = model.containers.filter((c) => c.mode.kind === "own" || c.mode.kind === "none");
    for (const c of this.boxes) {
      for (const ep of c.endpoints) {
        for (const a of [ep.address, ep.ipv6?.address]) {
          if (a) this.addressUse.set(a, (this.addressUse.get(a) ?? 0) + 1);
        }
      }
    }
  }

  /** Records why something was not checked (each text once). */
  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  /** The host `name` (the model always has it). */
  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`Model has no host "${name}"`);
    return h;
  }

  /** Does `a`'s endpoint reach `b`'s endpoint on network `net` at layer 2? */
  link(net: string, a: Container, b: Container): Link {
    const n = this.nets.get(net);
    if (!n) return "unknown";
    if (n.scope === "global") return "shared";
    if (n.driver === "macvlan") {
      if (a.host !== b.host) return "shared"; // sub-interfaces of eth0s on one underlay segment
      return n.macvlan?.mode === "bridge" ? "shared" : "unknown";
    }
    return a.host === b.host ? "shared" : "unknown";
  }

  /**
   * A macvlan endpoint sits on the underlay segment, so a container that shares no network with it
   * still reaches it the way it reaches any machine there: out through its gateway and its host's
   * NAT. Except from the target's own host, whose eth0 cannot talk to its macvlan children (unless
   * the network has the host shim). "isolated" when `ep` is not macvlan or `s` has no way out.
   */
  macvlanViaUnderlay(s: Container, t: Container, ep: Endpoint): "reach" | "isolated" | "unknown" {
    const n = this.nets.get(ep.network);
    if (n?.driver !== "macvlan") return "isolated";
    const def = s.defaultEndpoint >= 0 ? s.endpoints[s.defaultEndpoint] : undefined;
    if (!def || !def.gateway) return "isolated";
    if (this.nets.get(def.network)?.driver === "macvlan") return "unknown";
    if (s.host !== t.host) return "reach";
    return n.macvlan?.hostShim ? "reach" : "isolated";
  }

  /** Endpoints of `t` that `s` reaches (networks both are on, linked at layer 2). */
  sharedEndpoints(s: Container, t: Container): { ep: Endpoint; link: Link }[] {
    const mine = new Set(s.endpoints.map((e) => e.network));
    return t.endpoints.filter((e) => mine.has(e.network)).map((ep) => ({
      ep,
      link: this.link(ep.network, s, t),
    }));
  }
}

/** An endpoint's address in one family (`ep.ipv6` for 6), or null when it has none. */
export function addressIn(ep: Endpoint, family: 4 | 6): string | null {
  return family === 4 ? ep.address ?? null : ep.ipv6?.address ?? null;
}

/** Row ids name the family of IPv6 rows only: IPv4 rows keep their old ids. */
export const familyTag = (family: 4 | 6) => (family === 6 ? IPV6_TAG : "");

/** true when nslab's responder (not the container's own command) answers on its ports. */
export function hasResponder(c: Container): boolean {
  return c.command === null && c.runtime === "netns";
}

/** Where "outside" probes run from when the target is on `host`: another host, else the uplink. */
export function outsideVantage(
  ctx: DeriveContext,
  host: string | null,
): { netns: string; label: string } | null {
  const other = ctx.model.hosts.find((h) => h.name !== host);
  if (other) return { netns: other.netns, label: `outside(${other.name})` };
  if (ctx.model.underlay.uplink) return { netns: "", label: "outside(uplink)" };
  return null;
}
