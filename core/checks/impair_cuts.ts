/**
 * Implied expectations of an impaired lab: a pair cut by a partition or a down link is expected
 * unreachable (and proven so), every other pair still expects to reach; probe deadlines grow with
 * the declared delays. Pure: reads the model, rewrites expectations.
 *
 * A probe is cut when, following nslab's own rules (core/plan/impair.ts), a packet of it would be
 * dropped: its source's outgoing endpoint or the target's endpoint is down or on the other side of
 * a partition, or it crosses the underlay between two hosts that are partitioned, or through a
 * host link that is down.
 *
 * @module
 */

import type { Container, Model } from "../model/types.ts";
import { contains, parseIp } from "../model/ip.ts";
import { groupMembers } from "../model/impair_edit.ts";
import type { Expectation } from "./types.ts";

/** Where an address lives: a container's endpoint, or a host's underlay address. */
type Owner = { kind: "endpoint"; container: Container; network: string } | {
  kind: "host";
  host: string;
};

/** Who sends: a container (and its host), a host, or the machine outside the lab. */
type Sender = { container: Container | null; host: string | null };

/** The deadline of a probe in an impaired lab: the default plus four times the worst delay. */
export function impairedTimeoutMs(model: Model, base = 1000): number {
  const worst = Math.max(
    0,
    ...model.hosts.map((h) => (h.impair?.delayMs ?? 0) + (h.impair?.jitterMs ?? 0)),
    ...model.containers.flatMap((c) =>
      c.endpoints.map((e) => (e.impair?.delayMs ?? 0) + (e.impair?.jitterMs ?? 0))
    ),
  );
  return base + 4 * 2 * worst;
}

function ownerOf(model: Model, address: string, near: string | null): Owner | null {
  const found: Owner[] = [];
  for (const h of model.hosts) {
    if (h.address === address) found.push({ kind: "host", host: h.name });
  }
  for (const c of model.containers) {
    for (const e of c.endpoints) {
      if (e.address === address) found.push({ kind: "endpoint", container: c, network: e.network });
    }
  }
  // An address used on two hosts (docker_gwbridge) is the one on the sender's host.
  const hostOf = (o: Owner) => (o.kind === "host" ? o.host : o.container.host);
  return found.find((o) => hostOf(o) === near) ?? found[0] ?? null;
}

/** The endpoint a container sends from to reach `address`: on its subnet, else the default. */
function egressNetwork(model: Model, c: Container, address: string): string | null {
  const ip = parseIp(address);
  if (ip === null) return null;
  for (const e of c.endpoints) {
    const net = model.networks.find((n) => n.name === e.network);
    if (!net?.hasSubnet) continue;
    const base = parseIp(net.subnet.split("/")[0]);
    if (base !== null && contains({ base, prefix: net.prefix }, ip)) return e.network;
  }
  return c.defaultEndpoint >= 0 ? c.endpoints[c.defaultEndpoint].network : null;
}

function isDown(c: Container, network: string | null): boolean {
  return Boolean(c.endpoints.find((e) => e.network === network)?.impair?.down);
}

/** Why a probe from `sender` to `address` is cut, or null when nothing drops it. */
export function cutReason(model: Model, sender: Sender, address: string): string | null {
  const target = ownerOf(model, address, sender.host);
  if (!target) return null;
  const fromNet = sender.container ? egressNetwork(model, sender.container, address) : null;
  const targetHost = target.kind === "host" ? target.host : target.container.host;
  if (sender.container && isDown(sender.container, fromNet)) {
    return `${sender.container.name}:${fromNet} is down`;
  }
  if (target.kind === "endpoint" && isDown(target.container, target.network)) {
    return `${target.container.name}:${target.network} is down`;
  }
  const crosses = sender.host !== targetHost;
  if (crosses) {
    for (const h of [sender.host, targetHost]) {
      if (h && model.hosts.find((x) => x.name === h)?.impair?.down) return `host link ${h} is down`;
    }
  }
  for (const p of model.partitions ?? []) {
    const members = p.groups.map((g) => groupMembers(model, g));
    const sideOfEndpoint = (c: Container, net: string | null) =>
      members.findIndex((m) =>
        m.endpoints.some((e) => e.container.name === c.name && e.network === net)
      );
    const sideOfHost = (h: string | null) =>
      members.findIndex((m) => h !== null && m.hosts.includes(h));
    const a = sender.container ? sideOfEndpoint(sender.container, fromNet) : -1;
    const b = target.kind === "endpoint" ? sideOfEndpoint(target.container, target.network) : -1;
    if (a >= 0 && b >= 0 && a !== b) return `partition ${p.id}`;
    const ha = sideOfHost(sender.host);
    const hb = sideOfHost(targetHost);
    if (crosses && ha >= 0 && hb >= 0 && ha !== hb) return `partition ${p.id} (hosts)`;
  }
  return null;
}

function senderOf(model: Model, e: Expectation): Sender | null {
  const c = model.containers.find((x) => x.name === e.source);
  if (c) return { container: c.mode.kind === "own" ? c : null, host: c.host };
  if (model.hosts.some((h) => h.name === e.source)) return { container: null, host: e.source };
  if (e.source === "outside") return { container: null, host: null };
  return null;
}

/**
 * The implied expectations, with every positive reach that a partition or a down link cuts turned
 * into "unreachable" (so the check proves the cut), and a note per rewritten row. Explicit checks
 * stay as the file wrote them.
 */
export function applyCuts(
  model: Model,
  exps: Expectation[],
): { expectations: Expectation[]; notes: string[] } {
  const impaired = (model.partitions?.length ?? 0) > 0 ||
    model.hosts.some((h) => h.impair?.down) ||
    model.containers.some((c) => c.endpoints.some((e) => e.impair?.down));
  if (!impaired) return { expectations: exps, notes: [] };
  let cut = 0;
  const out = exps.map((e) => {
    const positive = e.expect.kind === "open" || e.expect.kind === "answeredBy";
    const p = e.probe;
    if (e.explicit || !positive || (p.kind !== "tcp" && p.kind !== "udp" && p.kind !== "icmp")) {
      return e;
    }
    const sender = senderOf(model, e);
    const why = sender ? cutReason(model, sender, p.address) : null;
    if (!why) return e;
    cut++;
    return {
      ...e,
      expect: { kind: "unreachable" as const },
      description: `${e.description} — cut: ${why}`,
    };
  });
  return {
    expectations: out,
    notes: cut
      ? [`${cut} implied reach check(s) expect unreachable: cut by a partition or a down link`]
      : [],
  };
}
