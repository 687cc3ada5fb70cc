/**
 * Published-port rows: each port a container publishes is probed from outside its host, from the
 * host itself (127.0.0.1 and its address) and from the container through its host's address
 * (hairpin), each answered by the right container; a 127.0.0.1-bound port is closed from outside.
 * Ports published on IPv6 get the same rows on the host's IPv6 address (ports6.ts).
 *
 * @module
 */

import { type DeriveContext, hasResponder, outsideVantage } from "./derive_context.ts";
import { portRows6 } from "./ports6.ts";
import { answeredPort, portExpectation, type PortRow } from "./port_row.ts";
import type { Container, Host, PublishedPort } from "../model/types.ts";
import { isIpv6Only } from "../model/ipv6_only.ts";

/** One published port of a container, and what decides its rows. */
interface PortSubject {
  c: Container;
  p: PublishedPort;
  host: Host;
  /** nslab's responder answers (the reply names the container), else any open port counts. */
  responder: boolean;
  /** `<hostPort>/<protocol>`, as row ids and notes show it. */
  spec: string;
}

/** Rows for every port published by a container with a network of its own. */
export function implyPorts(ctx: DeriveContext): void {
  for (const c of ctx.model.containers) {
    if (c.mode.kind !== "own" || c.ports.length === 0) continue;
    const host = ctx.host(c.host);
    const responder = hasResponder(c);
    for (const p of c.ports) {
      const port: PortSubject = { c, p, host, responder, spec: `${p.hostPort}/${p.protocol}` };
      if (!probeable(ctx, port)) continue;
      const outside = outsideVantage(ctx, host.name);
      const v6 = portRows6(ctx.model, {
        c,
        p,
        host,
        responder,
        outside: outside?.netns ? outside : null,
      });
      ctx.out.push(...v6.rows);
      if (v6.note) ctx.note(v6.note);
      if (p.hostIp.includes(":")) continue; // published on IPv6 only: its rows are above
      if (isIpv6Only(c)) continue; // only on IPv6-only networks: nothing is published on IPv4
      if (boundWhereProbed(ctx, port)) implyPortRows(ctx, port, outside);
    }
  }
}

/**
 * Whether nslab probes the port: not sctp, and not udp answered by the container's own command
 * (a note says why not).
 */
function probeable(ctx: DeriveContext, { c, p, responder, spec }: PortSubject): boolean {
  if (p.protocol === "sctp") {
    ctx.note(`port ${c.name} ${spec}: sctp is not probed`);
    return false;
  }
  if (p.protocol === "udp" && !responder) {
    ctx.note(`port ${c.name} ${spec}: udp with a command of its own is not probed`);
    return false;
  }
  return true;
}

/**
 * Whether the port is bound where the IPv4 rows probe it: every address, 127.0.0.1 or the host's
 * own address (a note says why not).
 */
function boundWhereProbed(ctx: DeriveContext, { c, p, host, spec }: PortSubject): boolean {
  const bound = p.hostIp === "0.0.0.0" || p.hostIp === "127.0.0.1" || p.hostIp === host.address;
  if (!bound) {
    ctx.note(`port ${c.name} ${p.hostIp}:${spec}: bound to an address nslab does not probe`);
    return false;
  }
  return true;
}

/**
 * The port's IPv4 rows: from outside (`outside`: where such probes run from), from the host
 * (loopback and its address), and hairpin.
 */
function implyPortRows(
  ctx: DeriveContext,
  port: PortSubject,
  outside: { netns: string; label: string } | null,
): void {
  const { c, p, host, responder, spec } = port;
  const answered = answeredPort(c, responder);
  const any = p.hostIp === "0.0.0.0";
  const loopOnly = p.hostIp === "127.0.0.1";
  const add = (row: PortRow) => ctx.out.push(portExpectation(c, p, responder, row));
  if (!outside) {
    ctx.note(`port ${c.name} ${spec}: no vantage point outside ${host.name} (one host, no uplink)`);
  } else {
    add({
      id: `${outside.label}->${host.name}`,
      source: outside.label,
      netns: outside.netns,
      address: host.address,
      expect: loopOnly ? { kind: "closed" } : answered,
      description: loopOnly
        ? `${c.name}'s port ${p.hostPort} is bound to 127.0.0.1 and must be closed from outside`
        : `${host.name}:${p.hostPort} from outside the host lands on ${c.name}`,
    });
  }
  add({
    id: `${host.name}->127.0.0.1`,
    source: host.name,
    netns: host.netns,
    address: "127.0.0.1",
    expect: any || loopOnly ? answered : { kind: "closed" },
    description: any || loopOnly
      ? `127.0.0.1:${p.hostPort} on ${host.name} itself lands on ${c.name}`
      : `${c.name}'s port is bound to ${p.hostIp}: 127.0.0.1:${p.hostPort} stays closed`,
  });
  add({
    id: `${host.name}->${host.name}`,
    source: host.name,
    netns: host.netns,
    address: host.address,
    expect: loopOnly ? { kind: "closed" } : answered,
    description: loopOnly
      ? `${c.name}'s port is bound to 127.0.0.1: ${host.address}:${p.hostPort} stays closed`
      : `${host.address}:${p.hostPort} from ${host.name} itself lands on ${c.name}`,
  });
  if (!loopOnly && hasWayOut(ctx, c)) {
    add({
      id: `${c.name}->${host.name}(hairpin)`,
      source: c.name,
      netns: c.netns,
      address: host.address,
      expect: answered,
      description:
        `${c.name} reaches its own published port through ${host.name}'s address (hairpin)`,
    });
  }
}

/** Whether `c` has a default route through a gateway that is not a macvlan network's. */
function hasWayOut(ctx: DeriveContext, c: Container): boolean {
  const def = c.defaultEndpoint >= 0 ? c.endpoints[c.defaultEndpoint] : undefined;
  const viaMacvlan = def && ctx.nets.get(def.network)?.driver === "macvlan";
  return !!def && !!def.gateway && !viaMacvlan;
}
