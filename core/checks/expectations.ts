/**
 * Model → expectations: everything that must be true of a running lab, derived from the topology
 * alone, plus the file's explicit `checks:`. Pure and deterministic.
 *
 * What is implied (SPEC §6):
 * - every ordered pair of containers with a namespace of their own reaches the other on each
 *   network they share (TCP to a port the target listens on, else ICMP echo), and reaches NONE of
 *   the addresses of a target it shares no network with;
 * - DNS: every visible name (container, replica set, service, alias, hostname, `<name>.<network>`)
 *   resolves to exactly its addresses on the first shared network that knows it, in Docker's
 *   order (`dockerOrder`); names of containers sharing no
 *   network are NXDOMAIN; PTR for peer addresses; SRV for named ports;
 * - published ports: from outside the host, from the host itself (127.0.0.1 and its address) and
 *   from the container through its host's address (hairpin), each answered by the right container;
 *   a 127.0.0.1-bound port is closed from outside;
 * - interfaces: `none` has only `lo`, a container has `lo` + its endpoints, `host` mode sees its
 *   host's `eth0` and bridges;
 * - a container only on internal networks cannot reach the underlay, the others can.
 *
 * Where the model leaves an outcome open (a bridge network of the same name on two hosts, an
 * address two hosts both use, macvlan in vepa/private mode) no expectation is made and a note says
 * so: an expectation that could be wrong is worse than none.
 *
 * @module
 */

import { DeriveContext } from "./derive_context.ts";
import { implyPairs } from "./implied_pairs.ts";
import { implyDns } from "./implied_dns.ts";
import { implyPorts } from "./implied_ports.ts";
import { explicitExpectation } from "./explicit_checks.ts";
import type { CheckSpec, Model } from "../model/types.ts";
import type { CheckKind, Expectation, Probe } from "./types.ts";
import { isIpv6Only } from "../model/ipv6_only.ts";

export { hasResponder } from "./derive_context.ts";
export { reverseName } from "./implied_dns.ts";

/** Expectations plus what was deliberately not checked. */
export interface Derived {
  expectations: Expectation[];
  notes: string[];
}

/**
 * Every expectation of a lab: the implied ones, with the explicit `checks:` added (an explicit
 * check that probes exactly what an implied one probes replaces it).
 *
 * @example
 * ```ts
 * const exps = deriveExpectations(model);
 * console.log(exps.filter((e) => e.kind === "isolation").length);
 * ```
 */
export function deriveExpectations(model: Model): Expectation[] {
  return deriveWithNotes(model).expectations;
}

/**
 * {@link deriveExpectations}, with notes on what was left out and why. With `kinds`, only implied
 * expectations of those kinds are derived (explicit ones always are): `--only reach` on a big lab
 * does not build its tens of thousands of DNS expectations first.
 */
export function deriveWithNotes(model: Model, kinds?: ReadonlySet<CheckKind>): Derived {
  const ctx = new DeriveContext(model);
  const want = (...k: CheckKind[]) => !kinds || kinds.size === 0 || k.some((x) => kinds.has(x));
  if (want("reach", "isolation")) implyPairs(ctx);
  if (want("dns")) implyDns(ctx);
  if (want("port")) implyPorts(ctx);
  if (want("iface")) implyIfaces(ctx);
  if (want("reach", "isolation")) implyUnderlay(ctx);
  const explicit = model.checks.map((spec, i) => explicitExpectation(ctx, spec, i));
  const keys = new Set(explicit.map((e) => probeKey(e.probe)));
  const implied = ctx.out.filter((e) => !keys.has(probeKey(e.probe)));
  return { expectations: uniqueIds([...implied, ...explicit]), notes: ctx.notes };
}

/**
 * Expectations for checks written outside the file (the fixture's `lab.expect(…)`), built exactly
 * as the file's `checks:` are: a name that is not in the lab gives a row that fails with the reason.
 */
export function expectationsFor(model: Model, specs: CheckSpec[]): Expectation[] {
  const ctx = new DeriveContext(model);
  return specs.map((spec, i) => explicitExpectation(ctx, spec, i));
}

/** A key identifying what a probe measures; equal keys measure the same thing. */
export function probeKey(p: Probe): string {
  switch (p.kind) {
    case "tcp":
    case "udp":
      return `${p.netns}|${p.kind}|${p.address}:${p.port}`;
    case "icmp":
      return `${p.netns}|icmp|${p.address}`;
    case "dns":
      return `${p.netns}|dns|${p.type}|${p.name.toLowerCase().replace(/\.$/, "")}`;
    case "iface":
      return `${p.netns}|iface`;
    case "invalid":
      return `invalid|${p.reason}`;
  }
}

/** Makes row ids unique: a repeated id gets `#2`, `#3`, … in the order the rows came. */
function uniqueIds(exps: Expectation[]): Expectation[] {
  const seen = new Map<string, number>();
  for (const e of exps) {
    const n = (seen.get(e.id) ?? 0) + 1;
    seen.set(e.id, n);
    if (n > 1) e.id = `${e.id}#${n}`;
  }
  return exps;
}

/**
 * Interfaces: `none` has only `lo`, a container has `lo` + its endpoints, `host` mode sees its
 * host's `eth0` and bridges.
 */
function implyIfaces(ctx: DeriveContext): void {
  for (const c of ctx.model.containers) {
    let names: string[];
    let exact = true;
    let netns = c.netns;
    let description: string;
    if (c.mode.kind === "none") {
      names = ["lo"];
      description = `${c.name} (network_mode none) has only lo`;
    } else if (c.mode.kind === "own") {
      names = ["lo", ...c.endpoints.map((e) => e.ifname)];
      description = `${c.name} has lo and one interface per network`;
    } else if (c.mode.kind === "host") {
      const host = ctx.host(c.host);
      netns = host.netns;
      exact = false;
      const bridges = ctx.model.networks
        .filter((n) => n.driver === "bridge" && n.hosts.includes(host.name) && n.bridge)
        .map((n) => n.bridge);
      names = ["lo", "eth0", ...new Set(bridges)];
      description = `${c.name} (network_mode host) sees ${host.name}'s interfaces`;
    } else {
      continue;
    }
    ctx.out.push({
      id: `iface:${c.name}`,
      kind: "iface",
      source: c.name,
      target: exact ? `interfaces = ${names.join(",")}` : `interfaces ⊇ ${names.join(",")}`,
      protocol: "iface",
      probe: { kind: "iface", netns },
      expect: { kind: "interfaces", names: [...names].sort(), exact },
      description,
      containers: [c.name],
      explicit: false,
    });
  }
}

/**
 * The underlay: a container only on internal networks cannot reach its host's (and another
 * host's) underlay address; the others can.
 */
function implyUnderlay(ctx: DeriveContext): void {
  for (const c of ctx.boxes) {
    if (c.mode.kind !== "own" || c.endpoints.length === 0) continue;
    if (c.defaultEndpoint >= 0 && c.endpoints[c.defaultEndpoint].address === undefined) {
      ctx.note(`underlay from ${c.name}: not checked (its default route is IPv6 only)`);
      continue;
    }
    if (isIpv6Only(c)) continue; // IPv6-only: no IPv4 way to the underlay
    if (c.endpoints.some((e) => ctx.nets.get(e.network)?.driver === "macvlan")) {
      ctx.note(`underlay from ${c.name}: not checked (macvlan endpoint)`);
      continue;
    }
    const way = c.defaultEndpoint >= 0
      ? ctx.nets.get(c.endpoints[c.defaultEndpoint].network)
      : null;
    if (way?.external) {
      // Its gateway is another lab's host (the external network's owner), not its own.
      ctx.note(
        `underlay from ${c.name}: not checked (default route through lab ${way.external.lab})`,
      );
      continue;
    }
    const internalOnly = c.endpoints.every((e) => ctx.nets.get(e.network)?.internal === true);
    const own = ctx.host(c.host);
    const other = ctx.model.hosts.find((h) => h.name !== c.host);
    for (const h of other ? [own, other] : [own]) {
      const kind = internalOnly ? "isolation" : "reach";
      ctx.out.push({
        id: `${kind}:${c.name}->underlay:${h.name}:icmp`,
        kind,
        source: c.name,
        target: `${h.name} ${h.address} (underlay)`,
        protocol: "icmp",
        probe: { kind: "icmp", netns: c.netns, address: h.address },
        expect: internalOnly ? { kind: "unreachable" } : { kind: "open" },
        description: internalOnly
          ? `${c.name} is only on internal networks and must not reach ${h.name} on the underlay`
          : `${c.name} reaches ${h.name}'s underlay address through its gateway`,
        containers: [c.name],
        explicit: false,
      });
    }
  }
}
