/**
 * Network membership: which hosts each network lives on (from the containers that join it), the
 * docker_gwbridge that overlay containers get a way out through, and warnings about networks
 * nobody uses or overlays that stay on one host.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Draft } from "./containers.ts";
import {
  DOCKER0_NETWORK,
  GWBRIDGE,
  gwbridgeNetwork,
  type NetDecl,
  PROJECT_NETWORK,
} from "./networks.ts";
import { HOST_GATEWAY } from "./links.ts";

/** Overlay containers get a way out through docker_gwbridge, as in Docker (added when needed). */
export function attachGwbridge(
  drafts: Draft[],
  nets: NetDecl[],
  byName: Map<string, NetDecl>,
): void {
  let gw: NetDecl | null = null;
  for (const d of drafts) {
    const needs = d.attachments.some((a) => {
      const n = byName.get(a.network);
      return n?.driver === "overlay" && !n.internal;
    });
    if (!needs) continue;
    if (!gw) {
      gw = gwbridgeNetwork();
      nets.push(gw);
      byName.set(GWBRIDGE, gw);
    }
    d.attachments.push({
      network: GWBRIDGE,
      aliases: [],
      ipv4: null,
      ipv4Base: null,
      ipv6: null,
      ipv6Base: null,
      mac: null,
      priority: -Infinity,
      gwPriority: 0,
      interfaceName: null,
      path: d.path,
    });
  }
}

/** The hosts each network has containers on, in the order of `hostNames`. */
export function networkMembers(drafts: Draft[], hostNames: string[]): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const d of drafts) {
    for (const a of d.attachments) {
      const list = members.get(a.network) ?? [];
      if (!list.includes(d.host)) list.push(d.host);
      members.set(a.network, list);
    }
  }
  // `host-gateway` is docker0's address, as in Docker: docker0 exists on hosts that need it.
  for (const d of drafts) {
    if (!d.keys.extraHosts.some((h) => h.address === HOST_GATEWAY)) continue;
    const list = members.get(DOCKER0_NETWORK) ?? [];
    if (!list.includes(d.host)) members.set(DOCKER0_NETWORK, [...list, d.host]);
  }
  for (const [k, list] of members) members.set(k, hostNames.filter((h) => list.includes(h)));
  return members;
}

/** Warns of declared networks no container uses, and of overlays that stay on one host. */
export function warnNetworkUse(
  userNets: NetDecl[],
  members: Map<string, string[]>,
  diags: Diagnostics,
  positions: Positions,
): void {
  for (const n of userNets) {
    const on = members.get(n.name) ?? [];
    if (on.length === 0 && n.name !== PROJECT_NETWORK) {
      diags.warn(positions.keyOf(n.path), `network "${n.name}" is not used by any container`);
    } else if (n.driver === "overlay" && on.length === 1) {
      diags.warn(
        positions.keyOf(n.path),
        `overlay network "${n.name}" has containers on one host only (${on[0]}); ` +
          "a bridge network would do, or place a container on another host",
      );
    }
  }
}
