/**
 * Reach and isolation between containers: every ordered pair with a namespace of its own reaches
 * the other on each network they share (TCP to a port the target listens on, else UDP to nslab's
 * responder, else ICMP echo), and reaches none of the addresses of a target it shares no network
 * with (IPv4 and IPv6).
 *
 * @module
 */

import {
  addressIn,
  type DeriveContext,
  familyTag,
  hasResponder,
  type Link,
} from "./derive_context.ts";
import type { Container, Endpoint } from "../model/types.ts";
import type { Expectation, Expected, Probe } from "./types.ts";
import { isIpv6Only } from "../model/ipv6_only.ts";

/** Ports the container (its responder or command) listens on, tcp first. */
function listenPorts(c: Container): { port: number; protocol: "tcp" | "udp" }[] {
  const seen = new Map<string, { port: number; protocol: "tcp" | "udp" }>();
  const add = (port: number, protocol: string) => {
    if (protocol !== "tcp" && protocol !== "udp") return;
    seen.set(`${port}/${protocol}`, { port, protocol });
  };
  for (const p of c.ports) add(p.containerPort, p.protocol);
  for (const e of c.expose) add(e.port, e.protocol);
  return [...seen.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
}

/** The probe that shows `s` reaching `t` at `address`, and what a reach looks like. */
function reachProbe(
  netns: string,
  t: Container,
  address: string,
): { probe: Probe; open: Expected; proto: "tcp" | "udp" | "icmp"; port: number | null } {
  const ports = listenPorts(t);
  const tcp = ports.find((p) => p.protocol === "tcp");
  const udp = ports.find((p) => p.protocol === "udp");
  const responder = hasResponder(t);
  if (tcp) {
    return {
      probe: { kind: "tcp", netns, address, port: tcp.port, responder },
      open: responder ? { kind: "answeredBy", container: t.name } : { kind: "open" },
      proto: "tcp",
      port: tcp.port,
    };
  }
  if (udp && responder) {
    return {
      probe: { kind: "udp", netns, address, port: udp.port },
      open: { kind: "answeredBy", container: t.name },
      proto: "udp",
      port: udp.port,
    };
  }
  return {
    probe: { kind: "icmp", netns, address },
    open: { kind: "open" },
    proto: "icmp",
    port: null,
  };
}

/** `tcp/80`, or the protocol alone when there is no port. */
function protoLabel(proto: string, port: number | null): string {
  return port === null ? proto : `${proto}/${port}`;
}

/** One pair expectation: `s` probes `t`'s endpoint `ep` and must (reach) or must not (isolation). */
function pairExpectation(
  s: Container,
  t: Container,
  ep: Endpoint,
  kind: "reach" | "isolation",
  description: string,
  family: 4 | 6 = 4,
): Expectation {
  const address = addressIn(ep, family)!;
  const r = reachProbe(s.netns, t, address);
  const shown = family === 6 && r.port !== null ? `[${address}]` : address;
  return {
    id: `${kind}:${s.name}->${t.name}@${ep.network}${familyTag(family)}:${
      protoLabel(r.proto, r.port)
    }`,
    kind,
    source: s.name,
    target: `${t.name} ${shown}${r.port === null ? "" : `:${r.port}`} (${ep.network})`,
    protocol: r.proto,
    probe: r.probe,
    expect: kind === "reach" ? r.open : { kind: "unreachable" },
    description,
    containers: [s.name, t.name],
    explicit: false,
  };
}

/**
 * Reach and isolation between every ordered pair of containers with a namespace of their own:
 * reach on each network they share (IPv4, and IPv6 when both have it there), else isolation from
 * each of the target's addresses.
 */
export function implyPairs(ctx: DeriveContext): void {
  for (const s of ctx.boxes) {
    for (const t of ctx.boxes) {
      if (s === t) continue;
      const shared = ctx.sharedEndpoints(s, t);
      for (const { ep, link } of shared) implyReach(ctx, s, t, ep, link);
      if (shared.length > 0) continue;
      implyIsolation6(ctx, s, t);
      for (const ep of t.endpoints) implyIsolation(ctx, s, t, ep);
    }
  }
}

/** `s` reaches `t`'s endpoint `ep` on a network both are on (over IPv6 too when both have it). */
function implyReach(ctx: DeriveContext, s: Container, t: Container, ep: Endpoint, link: Link) {
  if (link !== "shared") {
    ctx.note(
      `${s.name} → ${t.name} on "${ep.network}": not checked (a host-scoped network on ` +
        `two hosts, or macvlan in ${ctx.nets.get(ep.network)?.macvlan?.mode ?? "?"} mode)`,
    );
    return;
  }
  if (ep.address !== undefined) {
    ctx.out.push(
      pairExpectation(s, t, ep, "reach", `${s.name} reaches ${t.name} on network ${ep.network}`),
    );
  }
  if (ep.ipv6 && s.endpoints.some((x) => x.network === ep.network && x.ipv6)) {
    ctx.out.push(
      pairExpectation(
        s,
        t,
        ep,
        "reach",
        `${s.name} reaches ${t.name} on network ${ep.network} over IPv6`,
        6,
      ),
    );
  }
}

/**
 * `s`, which shares no network with `t`, must not reach `t`'s endpoint `ep` — unless `ep` is a
 * macvlan endpoint on the underlay, which `s` reaches like any machine there.
 */
function implyIsolation(ctx: DeriveContext, s: Container, t: Container, ep: Endpoint): void {
  // IPv6-only on either side: the IPv6 rows (implyIsolation6) are its isolation rows.
  if (ep.address === undefined || isIpv6Only(s)) return;
  if ((ctx.addressUse.get(ep.address) ?? 0) > 1) {
    ctx.note(`isolation ${s.name} → ${t.name} ${ep.address}: not checked (address in use twice)`);
    return;
  }
  const viaUnderlay = ctx.macvlanViaUnderlay(s, t, ep);
  if (viaUnderlay === "unknown") {
    ctx.note(
      `isolation ${s.name} → ${t.name} ${ep.address}: not checked (macvlan behind macvlan)`,
    );
    return;
  }
  ctx.out.push(
    viaUnderlay === "reach"
      ? pairExpectation(
        s,
        t,
        ep,
        "reach",
        `${t.name} is a macvlan endpoint on the underlay: ${s.name} reaches it through its ` +
          `gateway and ${s.host}'s NAT, like any machine on that segment`,
      )
      : pairExpectation(
        s,
        t,
        ep,
        "isolation",
        `${s.name} shares no network with ${t.name} and must not reach it on ${ep.network}`,
      ),
  );
}

/**
 * IPv6 isolation of `t` from `s`, which share no network: only when `s` has IPv6 itself (else the
 * row would only show that it has no IPv6 route), and not for macvlan endpoints (whose IPv6 side
 * of the underlay nslab does not model).
 */
function implyIsolation6(ctx: DeriveContext, s: Container, t: Container): void {
  if (!s.endpoints.some((x) => x.ipv6)) return;
  for (const ep of t.endpoints) {
    if (!ep.ipv6) continue;
    if (ctx.nets.get(ep.network)?.driver === "macvlan") {
      ctx.note(`isolation ${s.name} → ${t.name} ${ep.ipv6.address}: not checked (IPv6 macvlan)`);
      continue;
    }
    if ((ctx.addressUse.get(ep.ipv6.address) ?? 0) > 1) continue;
    ctx.out.push(
      pairExpectation(
        s,
        t,
        ep,
        "isolation",
        `${s.name} shares no network with ${t.name} and must not reach it on ${ep.network} ` +
          "over IPv6",
        6,
      ),
    );
  }
}
