/**
 * Host ports: each host's published ports checked for conflicts (the same port, protocol and
 * host_ip twice; 0.0.0.0 conflicts with every address) and free ports chosen for entries without a
 * host port — the first free port from 49153 up on that host, in file order, so the choice is
 * deterministic.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { PublishedPort } from "./types.ts";
import type { Draft } from "./containers.ts";

interface Held {
  hostIp: string;
  owner: string;
}

function clash(held: Held[] | undefined, hostIp: string): Held | undefined {
  return held?.find((h) => h.hostIp === hostIp || h.hostIp === "0.0.0.0" || hostIp === "0.0.0.0");
}

/**
 * Returns the published ports of every container (by name), reporting conflicts on a host.
 * Containers that share another's network publish nothing (that is refused earlier).
 */
export function publishPorts(
  drafts: Draft[],
  diags: Diagnostics,
  positions: Positions,
): Map<string, PublishedPort[]> {
  const byHost = new Map<string, Map<string, Held[]>>();
  const heldOn = (host: string) => {
    let m = byHost.get(host);
    if (!m) byHost.set(host, m = new Map());
    return m;
  };
  const out = new Map<string, PublishedPort[]>();
  const slots = new Map<string, (PublishedPort | null)[]>();
  for (const d of drafts) slots.set(d.name, d.ports.map(() => null));

  for (const d of drafts) {
    if (d.mode.kind !== "own") continue;
    const held = heldOn(d.host);
    d.ports.forEach(({ req, path }, i) => {
      if (req.host.kind !== "fixed") return;
      const key = `${req.protocol}/${req.host.port}`;
      const other = clash(held.get(key), req.hostIp);
      if (other) {
        const replicaHint = d.replicas > 1
          ? `; each replica of "${d.service}" needs its own host port: publish a range such as ` +
            `"${req.host.port}-${req.host.port + d.replicas - 1}:${req.containerPort}"`
          : "";
        diags.error(
          positions.of(path),
          `host port ${req.hostIp}:${req.host.port}/${req.protocol} of "${d.name}" is already ` +
            `published by ${other.owner} on host "${d.host}" (Bind for ${req.hostIp}:` +
            `${req.host.port} failed: port is already allocated)`,
          `publish a different host port, or bind each to its own host_ip${replicaHint}`,
        );
        return;
      }
      held.set(key, [...(held.get(key) ?? []), { hostIp: req.hostIp, owner: `"${d.name}"` }]);
      slots.get(d.name)![i] = {
        hostIp: req.hostIp,
        hostPort: req.host.port,
        containerPort: req.containerPort,
        protocol: req.protocol,
        name: req.name,
        random: false,
      };
    });
  }
  for (const d of drafts) {
    if (d.mode.kind !== "own") continue;
    const held = heldOn(d.host);
    d.ports.forEach(({ req, path }, i) => {
      if (req.host.kind !== "range") return;
      let chosen: number | null = null;
      for (let p = req.host.first; p <= req.host.last; p++) {
        if (!clash(held.get(`${req.protocol}/${p}`), req.hostIp)) {
          chosen = p;
          break;
        }
      }
      if (chosen === null) {
        diags.error(
          positions.of(path),
          `no free host port in ${req.host.first}-${req.host.last}/${req.protocol} on host ` +
            `${d.host} for "${d.name}"`,
          "widen the host port range, or publish fewer ports",
        );
        return;
      }
      const key = `${req.protocol}/${chosen}`;
      held.set(key, [...(held.get(key) ?? []), { hostIp: req.hostIp, owner: `"${d.name}"` }]);
      slots.get(d.name)![i] = {
        hostIp: req.hostIp,
        hostPort: chosen,
        containerPort: req.containerPort,
        protocol: req.protocol,
        name: req.name,
        random: req.host.ephemeral,
      };
    });
  }
  for (const d of drafts) {
    out.set(d.name, slots.get(d.name)!.filter((p): p is PublishedPort => p !== null));
  }
  return out;
}
