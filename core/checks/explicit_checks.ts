/**
 * Explicit checks (`checks:`, or `lab.expect(…)`) as expectations: each names its source and
 * target as the file does, resolved against the lab (a target name to the address its source
 * reaches it at); a check naming what the lab does not have becomes a row that fails with why.
 *
 * @module
 */

import { type DeriveContext, outsideVantage } from "./derive_context.ts";
import { reverseName } from "./implied_dns.ts";
import type { CheckSpec, Container } from "../model/types.ts";
import type { Expectation, Expected, Probe } from "./types.ts";
import { primaryAddress } from "../model/ipv6_only.ts";

/** A DNS check of the file. */
type DnsCheck = Extract<CheckSpec, { kind: "dns" }>;
/** A reachability check of the file. */
type ReachCheck = Extract<CheckSpec, { kind: "reach" }>;

/** A row that fails with `reason`: the check names something the lab does not have. */
function invalid(spec: CheckSpec, index: number, reason: string): Expectation {
  const to = spec.kind === "reach" ? spec.to : spec.name;
  return {
    id: `check:${index + 1}:${spec.from}->${to}`,
    kind: spec.kind === "dns" ? "dns" : "reach",
    source: spec.from,
    target: to,
    protocol: spec.kind === "dns" ? "dns" : spec.protocol === "sctp" ? "tcp" : spec.protocol,
    probe: { kind: "invalid", netns: "", reason },
    expect: { kind: "open" },
    description: `checks[${index}] at ${spec.pos.file}:${spec.pos.line}:${spec.pos.col}`,
    containers: [spec.from],
    explicit: true,
  };
}

/** The namespace a check `from:` runs in, or null. */
function sourceOf(ctx: DeriveContext, from: string, targetHost: string | null) {
  if (from === "outside") {
    const v = outsideVantage(ctx, targetHost);
    return v ? { netns: v.netns, container: null as Container | null } : null;
  }
  const c = ctx.model.containers.find((x) => x.name === from);
  if (c) {
    const netns = c.mode.kind === "host" ? ctx.host(c.host).netns : c.netns;
    return { netns, container: c };
  }
  const h = ctx.hosts.get(from);
  if (h) return { netns: h.netns, container: null };
  return null;
}

/** A dotted-quad IPv4 address. */
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Resolves a check's target name to an address as seen from `src` (a container or not). */
function targetAddress(
  ctx: DeriveContext,
  name: string,
  src: Container | null,
): { address: string; container: Container | null; host: string | null } | null {
  if (IPV4.test(name)) {
    const owner = ctx.boxes.find((c) => c.endpoints.some((e) => e.address === name)) ?? null;
    const host = ctx.model.hosts.find((h) => h.address === name);
    return { address: name, container: owner, host: host?.name ?? owner?.host ?? null };
  }
  const h = ctx.hosts.get(name);
  if (h) return { address: h.address, container: null, host: h.name };
  const candidates = ctx.model.containers.filter((c) => c.name === name || c.service === name);
  for (const c of candidates) {
    if (c.mode.kind === "host") {
      return { address: ctx.host(c.host).address, container: c, host: c.host };
    }
    if (src) {
      const shared = ctx.sharedEndpoints(src, c).find((x) => x.link === "shared");
      if (shared) return { address: primaryAddress(shared.ep), container: c, host: c.host };
    }
  }
  const first = candidates.find((c) => c.endpoints.length > 0);
  if (first) {
    return { address: primaryAddress(first.endpoints[0]), container: first, host: first.host };
  }
  return null;
}

/**
 * The expectation of the file's check number `index` (or of one written outside the file): a row
 * that fails with the reason when the check names something the lab does not have.
 */
export function explicitExpectation(
  ctx: DeriveContext,
  spec: CheckSpec,
  index: number,
): Expectation {
  return spec.kind === "dns" ? explicitDns(ctx, spec, index) : explicitReach(ctx, spec, index);
}

/** Where a check was written, for its row's description. */
function whereWritten(spec: CheckSpec): string {
  return `${spec.pos.file}:${spec.pos.line}:${spec.pos.col}`;
}

/** A DNS check: `from` asks `name` (A, AAAA, PTR, SRV) and must get what it expects. */
function explicitDns(ctx: DeriveContext, spec: DnsCheck, index: number): Expectation {
  const src = sourceOf(ctx, spec.from, null);
  if (!src || !src.container) {
    return invalid(spec, index, `"${spec.from}" is not a container of this lab`);
  }
  let expect: Expected;
  const e = spec.expect;
  if (e.kind === "addresses") expect = { kind: "addresses", addresses: [...e.addresses].sort() };
  else if (e.kind === "nxdomain") expect = { kind: "nxdomain" };
  else if (e.kind === "answeredBy" && spec.type === "PTR") {
    const target = ctx.model.containers.find((c) => c.name === e.container);
    // "answered by web": its name, or (Compose files) the Compose name Docker's PTR gives
    expect = {
      kind: "ptr",
      names: [e.container, ...(target?.composeName ? [target.composeName] : [])],
    };
  } else {
    return invalid(spec, index, `a dns check cannot expect "${e.kind}" for ${spec.type}`);
  }
  const name = spec.type === "PTR" && IPV4.test(spec.name) ? reverseName(spec.name) : spec.name;
  return {
    id: `check:${index + 1}:dns:${spec.from}:${spec.type}:${spec.name}`,
    kind: "dns",
    source: spec.from,
    target: `${spec.type} ${spec.name}`,
    protocol: "dns",
    probe: { kind: "dns", netns: src.netns, name, type: spec.type },
    expect,
    description: `explicit check at ${whereWritten(spec)}`,
    containers: [spec.from],
    explicit: true,
  };
}

/** A reachability check: `from` probes `to` (ICMP, or TCP/UDP to a port) and must see `expect`. */
function explicitReach(ctx: DeriveContext, spec: ReachCheck, index: number): Expectation {
  const m = /^(.*?)(?::(\d+))?$/.exec(spec.to)!;
  const targetName = m[1];
  const port = m[2] === undefined ? null : Number(m[2]);
  const fromContainer = ctx.model.containers.find((c) => c.name === spec.from) ?? null;
  const target = targetAddress(ctx, targetName, fromContainer);
  if (!target) return invalid(spec, index, `"${targetName}" is no container, host or address`);
  const src = sourceOf(ctx, spec.from, target.host);
  if (!src) {
    return invalid(
      spec,
      index,
      spec.from === "outside"
        ? "no vantage point outside (one host and no uplink)"
        : `"${spec.from}" is no container or host of this lab`,
    );
  }
  const protocol = port === null ? "icmp" : spec.protocol === "icmp" ? "tcp" : spec.protocol;
  if (protocol === "sctp") return invalid(spec, index, "sctp cannot be probed");
  const e = spec.expect;
  let expect: Expected;
  if (e.kind === "open" || e.kind === "closed" || e.kind === "unreachable") {
    expect = { kind: e.kind };
  } else if (e.kind === "answeredBy") {
    if (protocol === "icmp") {
      return invalid(spec, index, "ICMP cannot tell which container answered");
    }
    expect = { kind: "answeredBy", container: e.container };
  } else return invalid(spec, index, `a reach check cannot expect "${e.kind}"`);
  const involved = [spec.from, target.container?.name, e.kind === "answeredBy" ? e.container : null]
    .filter((x): x is string => typeof x === "string");
  return {
    id: `check:${index + 1}:${spec.from}->${spec.to}`,
    kind: "reach",
    source: spec.from,
    target: `${spec.to} (${target.address}${port === null ? "" : `:${port}`}/${protocol})`,
    protocol,
    probe: reachCheckProbe(protocol, src.netns, target.address, port, e.kind === "answeredBy"),
    expect,
    description: `explicit check at ${whereWritten(spec)}`,
    containers: [...new Set(involved)],
    explicit: true,
  };
}

/** The probe of a reachability check (`port` is set for TCP and UDP). */
function reachCheckProbe(
  protocol: "icmp" | "tcp" | "udp",
  netns: string,
  address: string,
  port: number | null,
  responder: boolean,
): Probe {
  if (protocol === "icmp") return { kind: "icmp", netns, address };
  if (protocol === "udp") return { kind: "udp", netns, address, port: port! };
  return { kind: "tcp", netns, address, port: port!, responder };
}
