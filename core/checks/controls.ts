/**
 * Positive controls (SPEC §6): a negative result — unreachable, closed, NXDOMAIN — means something
 * only when the source was alive and the target answered someone. A namespace whose veths are all
 * gone "cannot reach" everything, and a stopped responder is "closed" everywhere: without controls
 * such a lab passes every isolation check.
 *
 * For each negative expectation this picks (pure, deterministic):
 * - a **source control**: a probe from the same namespace that should succeed — an implied
 *   positive expectation when there is one (reach for reach-like rows, DNS for DNS rows), else a
 *   ping of the gateway of the source's own network (so the cable is tested, not just the
 *   namespace), else, for a namespace with no network at all, a ping of its loopback;
 * - a **target control** (not for DNS, whose target is the source's own resolver): a probe that
 *   should reach the same address from elsewhere (an implied positive), else from the target's
 *   host (bridge networks), else from another host or the uplink (hosts' underlay addresses), else,
 *   for `closed`, a ping of the address from the source itself (closed means "there, but not that
 *   port").
 *
 * A row whose control failed, or for which no control exists, is inconclusive: a failure.
 *
 * @module
 */

import type { Container, Model } from "../model/types.ts";
import type { Expectation, Probe } from "./types.ts";

/** Why a control is there. */
export type ControlRole = "source" | "target";

/** One control of one negative expectation. */
export interface Control {
  role: ControlRole;
  /** The positive expectation that must pass (implied, or made here). */
  expectation: Expectation;
}

/** The controls of one negative expectation; `missing` names a role no probe can prove. */
export interface Controls {
  controls: Control[];
  missing: ControlRole[];
}

/** true for an expectation whose passing result is a negative one (nothing answered). */
export function isNegative(e: Expectation): boolean {
  const k = e.expect.kind;
  return k === "unreachable" || k === "closed" || k === "nxdomain";
}

function isPositive(e: Expectation): boolean {
  return !isNegative(e) && e.probe.kind !== "invalid" && e.probe.kind !== "iface" &&
    !(e.expect.kind === "addresses" && e.expect.addresses.length === 0);
}

const address = (p: Probe): string | null =>
  p.kind === "tcp" || p.kind === "udp" || p.kind === "icmp" ? p.address : null;

const isLoopback = (a: string) => a.startsWith("127.");

/** A control made here: ICMP echo from `netns` to `to`, which must answer. */
function ping(netns: string, source: string, to: string, why: string): Expectation {
  return {
    id: `control:${source}->${to}:icmp`,
    kind: "reach",
    source,
    target: to,
    protocol: "icmp",
    probe: { kind: "icmp", netns, address: to },
    expect: { kind: "open" },
    description: why,
    containers: [],
    explicit: false,
  };
}

/** Indexes of the positives, by source namespace and by probed address. */
class Positives {
  readonly byNetns = new Map<string, Expectation[]>();
  readonly byAddress = new Map<string, Expectation[]>();

  constructor(all: Expectation[]) {
    for (const e of all) {
      if (!isPositive(e)) continue;
      push(this.byNetns, e.probe.netns, e);
      const a = address(e.probe);
      if (a !== null) push(this.byAddress, isLoopback(a) ? `${e.probe.netns}|${a}` : a, e);
    }
  }
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Finds what proves the source of `e` alive. */
function sourceControl(model: Model, pos: Positives, e: Expectation): Expectation | null {
  const mine = pos.byNetns.get(e.probe.netns) ?? [];
  const dns = e.probe.kind === "dns";
  const same = mine.filter((x) => (x.probe.kind === "dns") === dns);
  const pick = same.find((x) => x.kind === "reach") ?? same[0] ?? mine[0];
  if (pick) return pick;
  const c = model.containers.find((x) => x.netns === e.probe.netns && x.mode.kind !== "host");
  if (!c) return underlayPing(model, e.probe.netns);
  if (c.endpoints.length === 0) {
    return ping(c.netns, c.name, "127.0.0.1", `${c.name}'s namespace answers on its loopback`);
  }
  for (const ep of c.endpoints) {
    const net = model.networks.find((n) => n.name === ep.network);
    if (net?.driver === "bridge" && net.gateway) {
      return ping(c.netns, c.name, net.gateway, `${c.name} reaches its gateway on ${net.name}`);
    }
  }
  return null;
}

/** A host (or the uplink, netns "") proves itself alive by reaching another on the underlay. */
function underlayPing(model: Model, netns: string): Expectation | null {
  const me = netns === "" ? "uplink" : model.hosts.find((h) => h.netns === netns)?.name;
  if (me === undefined) return null;
  const other = model.hosts.find((h) => h.netns !== netns);
  const to = other?.address ?? (me === "uplink" ? undefined : model.underlay.uplink?.address);
  if (to === undefined) return null;
  return ping(netns, me, to, `${me} reaches ${other?.name ?? "the uplink"} on the underlay`);
}

/** The container or host holding `a`, and where a probe that must reach it can run from. */
function vantageFor(model: Model, a: string): { netns: string; label: string } | null {
  const host = model.hosts.find((h) => h.address === a);
  if (host) {
    const other = model.hosts.find((h) => h !== host);
    if (other) return { netns: other.netns, label: other.name };
    return model.underlay.uplink ? { netns: "", label: "uplink" } : null;
  }
  const owner: Container | undefined = model.containers.find((c) =>
    c.mode.kind === "own" && c.endpoints.some((ep) => ep.address === a)
  );
  const ep = owner?.endpoints.find((x) => x.address === a);
  const net = ep && model.networks.find((n) => n.name === ep.network);
  if (!owner || net?.driver !== "bridge" || !net.gateway) return null;
  const h = model.hosts.find((x) => x.name === owner.host);
  return h ? { netns: h.netns, label: h.name } : null;
}

/** Finds what proves the target of `e` answers someone. */
function targetControl(model: Model, pos: Positives, e: Expectation): Expectation | null {
  const a = address(e.probe);
  if (a === null) return null;
  const key = isLoopback(a) ? `${e.probe.netns}|${a}` : a;
  const there = (pos.byAddress.get(key) ?? []).filter((x) =>
    isLoopback(a) || x.probe.netns !== e.probe.netns || e.expect.kind === "closed"
  );
  const port = e.probe.kind === "tcp" || e.probe.kind === "udp" ? e.probe.port : null;
  const pick = there.find((x) => x.probe.kind === e.probe.kind && portOf(x.probe) === port) ??
    there[0];
  if (pick) return pick;
  if (isLoopback(a) || e.expect.kind === "closed") {
    return ping(e.probe.netns, e.source, a, `${a} answers ${e.source} (only the port is closed)`);
  }
  const v = vantageFor(model, a);
  return v ? ping(v.netns, v.label, a, `${a} answers ${v.label}`) : null;
}

const portOf = (p: Probe) => (p.kind === "tcp" || p.kind === "udp" ? p.port : null);

/**
 * The controls of every negative expectation in `selected`, drawn from `all` (every expectation
 * derived for the run's kinds, selected or not) or made here.
 *
 * @example
 * ```ts
 * const plan = planControls(model, selected, derived.expectations);
 * plan.get("isolation:a->c@n2:icmp")?.controls.map((c) => c.expectation.id);
 * ```
 */
export function planControls(
  model: Model,
  selected: Expectation[],
  all: Expectation[],
): Map<string, Controls> {
  const pos = new Positives(all);
  const out = new Map<string, Controls>();
  for (const e of selected) {
    if (!isNegative(e) || e.probe.kind === "invalid") continue;
    const controls: Control[] = [];
    const missing: ControlRole[] = [];
    const s = sourceControl(model, pos, e);
    if (s) controls.push({ role: "source", expectation: s });
    else missing.push("source");
    if (e.probe.kind !== "dns") {
      const t = targetControl(model, pos, e);
      if (t) controls.push({ role: "target", expectation: t });
      else missing.push("target");
    }
    out.set(e.id, { controls, missing });
  }
  return out;
}
