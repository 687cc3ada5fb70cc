/**
 * Positive controls (SPEC §6): a negative result — unreachable, closed, NXDOMAIN — means something
 * only when the source was alive and the target answered someone. A namespace whose veths are all
 * gone "cannot reach" everything, and a stopped responder is "closed" everywhere: without controls
 * such a lab passes every isolation check.
 *
 * For each negative expectation this picks (pure, deterministic):
 * - a **source control**: a probe from the same namespace that should succeed — implied positive
 *   expectations (reach for reach-like rows; DNS for DNS rows, since the resolver answers inside
 *   the namespace and proves nothing about its links), and a ping of the gateway of the source's
 *   own network (so the cable is tested, not just the namespace), or for a namespace with no
 *   network at all, of its loopback; a DNS row with no name to find needs none (its NXDOMAIN
 *   is the resolver's own answer);
 * - a **target control** (not for DNS, whose target is the source's own resolver): the same
 *   probe (same port: the listener the row's probe would hit) reaching the same address from
 *   elsewhere — implied positives, and the probe sent from the target's own host (bridge
 *   networks); a host's underlay address from another host or the uplink; for `closed`, failing
 *   those, a ping of the address from the source itself ("there, but not that port").
 *
 * A control holds when any of its alternatives passes. A row whose control failed, or for which
 * no control exists, is inconclusive: a failure.
 *
 * @module
 */

import type { Container, Endpoint, Model } from "../model/types.ts";
import type { Expectation, Probe } from "./types.ts";

/** Why a control is there. */
export type ControlRole = "source" | "target";

/** One control of one negative expectation: it holds when any of its alternatives passes. */
export interface Control {
  role: ControlRole;
  /** Positive expectations (implied, or made here), best first. */
  alternatives: Expectation[];
}

/** The controls of one negative expectation; `missing` names a role no probe can prove. */
export interface Controls {
  controls: Control[];
  missing: ControlRole[];
}

/** Implied positives used as alternatives of one control, at most. */
const ALTERNATIVES = 3;

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

const portOf = (p: Probe) => (p.kind === "tcp" || p.kind === "udp" ? p.port : null);

const isLoopback = (a: string) => a.startsWith("127.");

/** The address family a probe uses (DNS rows: 4, the resolver is 127.0.0.11). */
const familyOf = (p: Probe): 4 | 6 => (address(p)?.includes(":") ? 6 : 4);

/** A control made here: ICMP echo from `netns` to `to`, which must answer. */
function ping(netns: string, source: string, to: string, why: string): Expectation {
  return made(source, to, { kind: "icmp", netns, address: to }, { kind: "open" }, why);
}

function made(
  source: string,
  target: string,
  probe: Probe,
  expect: Expectation["expect"],
  why: string,
): Expectation {
  return {
    id: `control:${source}->${target}:${probe.kind}`,
    kind: "reach",
    source,
    target,
    protocol: probe.kind === "tcp" || probe.kind === "udp" ? probe.kind : "icmp",
    probe,
    expect,
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

/** A host (or the uplink, netns "") proves itself alive by reaching another on the underlay. */
function underlayPing(model: Model, netns: string): Expectation | null {
  const me = netns === "" ? "uplink" : model.hosts.find((h) => h.netns === netns)?.name;
  if (me === undefined) return null;
  const other = model.hosts.find((h) => h.netns !== netns);
  const to = other?.address ?? (me === "uplink" ? undefined : model.underlay.uplink?.address);
  if (to === undefined) return null;
  return ping(netns, me, to, `${me} reaches ${other?.name ?? "the uplink"} on the underlay`);
}

/**
 * A probe from the source's own namespace that must succeed without any peer, in `family`: for
 * IPv6, a ping of the IPv6 gateway of one of its bridge networks.
 */
function selfProof(model: Model, netns: string, family: 4 | 6): Expectation | null {
  const c = model.containers.find((x) => x.netns === netns && x.mode.kind !== "host");
  if (family === 6) {
    for (const ep of c?.endpoints ?? []) {
      const net = model.networks.find((n) => n.name === ep.network);
      const gw = net?.driver === "bridge" ? net.ipv6?.gateway : "";
      if (c && gw) {
        return ping(c.netns, c.name, gw, `${c.name} reaches its IPv6 gateway on ${ep.network}`);
      }
    }
    return null;
  }
  if (!c) return underlayPing(model, netns);
  if (c.endpoints.length === 0) {
    return ping(c.netns, c.name, "127.0.0.1", `${c.name}'s namespace answers on its loopback`);
  }
  for (const ep of c.endpoints) {
    const net = model.networks.find((n) => n.name === ep.network);
    if (net?.driver === "bridge" && net.gateway) {
      return ping(c.netns, c.name, net.gateway, `${c.name} reaches its gateway on ${net.name}`);
    }
    if (net?.driver === "macvlan" && net.macvlan?.vlan === null) {
      // On the underlay segment itself: another host (its own is out of reach without the shim).
      const other = model.hosts.find((h) => h.name !== c.host || net.macvlan?.hostShim);
      const to = other?.address ?? model.underlay.uplink?.address;
      if (to) return ping(c.netns, c.name, to, `${c.name} reaches ${to} on the underlay`);
    }
  }
  return null;
}

/**
 * What proves the source of `e` alive: its positives (same kind of row — DNS or not — and, for
 * probes, the same address family: an IPv4 answer proves nothing of the IPv6 routes), then a
 * self-proof.
 */
function sourceControl(model: Model, pos: Positives, e: Expectation): Expectation[] {
  const mine = pos.byNetns.get(e.probe.netns) ?? [];
  const dns = e.probe.kind === "dns";
  const family = familyOf(e.probe);
  // The resolver answers inside the namespace: a DNS answer proves nothing about its links.
  const picked = mine.filter((x) => (x.probe.kind === "dns") === dns)
    .filter((x) => dns || familyOf(x.probe) === family)
    .sort((a, b) => Number(a.kind !== "reach") - Number(b.kind !== "reach"))
    .slice(0, ALTERNATIVES);
  const self = dns ? null : selfProof(model, e.probe.netns, family);
  return self ? [...picked, self] : picked;
}

/**
 * The probe `e` makes, sent from the target's own host over its bridge (bridge networks only):
 * the target answers it when its link and its listener are up.
 */
function fromTargetHost(model: Model, e: Expectation, a: string): Expectation | null {
  const holds = (ep: Endpoint) => ep.address === a || ep.ipv6?.address === a;
  const owner: Container | undefined = model.containers.find((c) =>
    c.mode.kind === "own" && c.endpoints.some(holds)
  );
  const ep = owner?.endpoints.find(holds);
  const net = ep && model.networks.find((n) => n.name === ep.network);
  const host = owner && model.hosts.find((h) => h.name === owner.host);
  const gateway = a.includes(":") ? net?.ipv6?.gateway : net?.gateway;
  if (!owner || !host || net?.driver !== "bridge" || !gateway) return null;
  const p = e.probe;
  const why = `${owner.name} answers ${host.name} on ${net.name}`;
  if (p.kind === "tcp") {
    const probe: Probe = { ...p, netns: host.netns };
    const expect = p.responder ? { kind: "answeredBy" as const, container: owner.name } : {
      kind: "open" as const,
    };
    return made(host.name, owner.name, probe, expect, why);
  }
  if (p.kind === "udp") {
    return made(host.name, owner.name, { ...p, netns: host.netns }, {
      kind: "answeredBy",
      container: owner.name,
    }, why);
  }
  return ping(host.netns, host.name, a, why);
}

/**
 * What proves the target of `e` answers someone: positives probing the same address the same
 * way (the same port for isolation rows: the listener the row's probe would hit), then the same
 * probe from the target's host; for `closed`, failing those, a ping from the source.
 */
function targetControl(model: Model, pos: Positives, e: Expectation): Expectation[] {
  const a = address(e.probe);
  if (a === null) return [];
  const closed = e.expect.kind === "closed";
  const key = isLoopback(a) ? `${e.probe.netns}|${a}` : a;
  const picked = (pos.byAddress.get(key) ?? []).filter((x) =>
    x.probe.kind === e.probe.kind && (closed || portOf(x.probe) === portOf(e.probe)) &&
    (closed || isLoopback(a) || x.probe.netns !== e.probe.netns)
  ).slice(0, ALTERNATIVES);
  const host = isLoopback(a) ? null : fromTargetHost(model, e, a);
  const out = host ? [...picked, host] : picked;
  if (out.length === 0 && closed) {
    out.push(
      ping(e.probe.netns, e.source, a, `${a} answers ${e.source} (only the port is closed)`),
    );
  }
  if (out.length === 0 && !isLoopback(a)) {
    const up = underlayVantage(model, a);
    if (up) out.push(up);
  }
  return out;
}

/** A host's underlay address answers a ping from another host or the uplink. */
function underlayVantage(model: Model, a: string): Expectation | null {
  const host = model.hosts.find((h) => h.address === a);
  if (!host) return null;
  const other = model.hosts.find((h) => h !== host);
  if (other) return ping(other.netns, other.name, a, `${host.name} answers ${other.name}`);
  return model.underlay.uplink ? ping("", "uplink", a, `${host.name} answers the uplink`) : null;
}

/**
 * The controls of every negative expectation in `selected`, drawn from `all` (every expectation
 * derived for the run's kinds, selected or not) or made here.
 *
 * @example
 * ```ts
 * const plan = planControls(model, selected, derived.expectations);
 * plan.get("isolation:a->c@n2:icmp")?.controls[0].alternatives.map((x) => x.id);
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
    const roles: [ControlRole, Expectation[]][] = [["source", sourceControl(model, pos, e)]];
    if (e.probe.kind !== "dns") roles.push(["target", targetControl(model, pos, e)]);
    for (const [role, alternatives] of roles) {
      if (alternatives.length > 0) controls.push({ role, alternatives });
      // An NXDOMAIN is itself the resolver's answer: without a name it should find, the
      // requester (e.g. alone on Docker's default network) still proved its resolver answers.
      else if (e.probe.kind !== "dns") missing.push(role);
    }
    out.set(e.id, { controls, missing });
  }
  return out;
}
