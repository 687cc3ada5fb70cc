/**
 * "Up" means the lab answers, not only that its objects exist. Right after the kernel objects are
 * made, the first packet of each path still has to resolve ARP on the underlay (the VTEPs of an
 * overlay) and on each bridge; on a loaded machine that takes longer than a probe's deadline, and
 * `check` straight after `up` saw overlay and underlay rows time out (3 of 8 tries) that passed a
 * few seconds later. `up` therefore sends one echo along each kind of path the lab has and waits
 * until each has answered once, within a deadline.
 *
 * @module
 */

import type { Model, Network } from "../model/types.ts";
import { hostAddress6 } from "../model/underlay6.ts";
import type { Probe } from "../checks/types.ts";
import { runProbes } from "../checks/probes.ts";

/** One path to warm: an ICMP echo that must answer. */
export interface WarmPath {
  /** For people: `h1 → h2 (underlay)`, `a@h1 → b@h2 (mesh)`. */
  label: string;
  probe: Extract<Probe, { kind: "icmp" }>;
}

/** Hosts and ordered host pairs: all pairs up to this many, else a ring. */
const ALL_PAIRS_UP_TO = 6;

function pairs<T>(xs: T[]): [T, T][] {
  if (xs.length <= ALL_PAIRS_UP_TO) {
    return xs.flatMap((a) => xs.filter((b) => b !== a).map((b) => [a, b] as [T, T]));
  }
  return xs.map((a, i) => [a, xs[(i + 1) % xs.length]] as [T, T]);
}

/**
 * The paths that prove a lab answers (pure): every host to the others on the underlay; on each
 * bridge network, per host, one member to its gateway (not on internal networks) and to a second
 * member; on each overlay,
 * one member of each host to one member of each other host.
 *
 * @example
 * ```ts
 * warmPaths(model).map((p) => p.label); // ["h1 → h2 (underlay)", "a@h1 → b@h2 (mesh)", …]
 * ```
 */
export function warmPaths(model: Model): WarmPath[] {
  const out: WarmPath[] = [];
  const icmp = (label: string, netns: string, address: string) =>
    out.push({ label, probe: { kind: "icmp", netns, address } });
  for (const [a, b] of pairs(model.hosts)) {
    icmp(`${a.name} → ${b.name} (underlay)`, a.netns, b.address);
    const b6 = hostAddress6(model, b);
    if (b6) icmp(`${a.name} → ${b.name} (underlay, IPv6)`, a.netns, b6);
  }
  for (const net of model.networks) {
    if (!net.hasSubnet || (net.driver !== "bridge" && net.driver !== "overlay")) continue;
    networkPaths(model, net, 4, icmp);
    if (net.ipv6) networkPaths(model, net, 6, icmp);
  }
  return out;
}

/**
 * The paths of one bridge or overlay network in one family (IPv6: over the IPv6 addresses,
 * as NDP has to resolve them separately from ARP).
 */
function networkPaths(
  model: Model,
  net: Network,
  family: 4 | 6,
  icmp: (label: string, netns: string, address: string) => void,
): void {
  const tag = family === 6 ? ", IPv6" : "";
  const members = model.containers.flatMap((c) => {
    const ep = c.mode.kind === "own" ? c.endpoints.find((e) => e.network === net.name) : undefined;
    const address = family === 6 ? ep?.ipv6?.address : ep?.address;
    return address ? [{ c, address }] : [];
  });
  const byHost = model.hosts.map((h) => members.filter((m) => m.c.host === h.name))
    .filter((ms) => ms.length > 0);
  if (net.driver === "overlay") {
    for (const [a, b] of pairs(byHost)) {
      icmp(`${a[0].c.name} → ${b[0].c.name} (${net.name}${tag})`, a[0].c.netns, b[0].address);
    }
    return;
  }
  const gateway = family === 6 ? net.ipv6?.gateway : net.gateway;
  for (const ms of byHost) {
    if (gateway && !net.internal) {
      icmp(`${ms[0].c.name} → gateway (${net.name}${tag})`, ms[0].c.netns, gateway);
      // IPv6: a published port's first DNAT'd packet waited 1-2 s on the host resolving its
      // container (seen on docker0); the container's own solicitation teaches the host its MAC.
      const publishers = family === 6 ? ms.slice(1).filter((m) => m.c.ports.length > 0) : [];
      for (const m of publishers) {
        icmp(`${m.c.name} → gateway (${net.name}${tag})`, m.c.netns, gateway);
      }
    }
    if (ms.length > 1) {
      icmp(`${ms[0].c.name} → ${ms[1].c.name} (${net.name}${tag})`, ms[0].c.netns, ms[1].address);
    }
  }
}

/**
 * Sends the lab's {@link warmPaths} until each has answered once or `timeoutMs` passes; returns
 * the labels of the paths that never answered (empty: the lab answers).
 */
export async function waitUntilAnswering(model: Model, timeoutMs = 15_000): Promise<string[]> {
  let pending = warmPaths(model);
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0) {
    const seen = await runProbes(pending.map((p) => p.probe), { timeoutMs: 1000 });
    pending = pending.filter((_, i) => seen[i].kind !== "open");
    if (pending.length === 0 || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pending.map((p) => p.label);
}
