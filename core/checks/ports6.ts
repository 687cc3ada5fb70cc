/**
 * Published ports on IPv6: a port Docker publishes on `::` (the default, `[::]:8080:80`) or on the
 * host's own IPv6 address is probed on the host's IPv6 underlay address too — from another host,
 * from the host itself and from the container through it (hairpin) — each row the IPv6 twin of
 * the IPv4 one (its id carries `/ipv6`), so a broken ip6tables DNAT rule fails exactly these rows.
 * Which ports are published on IPv6 is what the plan's ip6tables rules say (`portMappings`), not a
 * second reading of the file. Pure.
 *
 * @module
 */

import type { Container, Host, Model, PublishedPort } from "../model/types.ts";
import { hostAddress6 } from "../model/underlay6.ts";
import { IPV6_LOOPBACK } from "../model/ports.ts";
import { portMappings } from "../plan/firewall/rules.ts";
import { ipv6DefaultEndpoint } from "../model/ipv6_only.ts";
import type { Expectation } from "./types.ts";
import { answeredPort, portExpectation, type PortRow } from "./port_row.ts";

/** What the IPv4 side of the port checks already decided about one port. */
export interface PortSubject {
  c: Container;
  p: PublishedPort;
  host: Host;
  /** nslab's responder answers (the reply names the container), else any open port counts. */
  responder: boolean;
  /** Another host to probe from (the uplink in the root namespace has no IPv6), or null. */
  outside: { netns: string; label: string } | null;
}

/** Host → keys of the ports its ip6tables publish, per model (derived once, not per port). */
const published6 = new WeakMap<Model, Map<string, Set<string>>>();

function portKey(
  container: string,
  p: Pick<PublishedPort, "hostPort" | "protocol" | "containerPort">,
): string {
  return `${container} ${p.hostPort}/${p.protocol}->${p.containerPort}`;
}

function publishedOnIpv6(model: Model, host: string): Set<string> {
  let perHost = published6.get(model);
  if (!perHost) published6.set(model, perHost = new Map());
  let keys = perHost.get(host);
  if (!keys) {
    keys = new Set(portMappings(model, host, "ipv6").map((m) => portKey(m.container, m)));
    perHost.set(host, keys);
  }
  return keys;
}

/** One IPv6 port row of `s`: probe `row.address` from `row.netns`, expect `row.expect`. */
function portRow(s: PortSubject, row: PortRow): Expectation {
  return portExpectation(s.c, s.p, s.responder, row, "ipv6");
}

/**
 * A port on `[::1]` (carried by the loopback proxy): answered on `::1` from the host itself,
 * closed on the host's IPv6 address, from the host and from outside — the IPv6 twin of a
 * `127.0.0.1` port.
 */
function loopbackRows(s: PortSubject, address6: string | null): Expectation[] {
  const { c, p, host } = s;
  const rows = [portRow(s, {
    id: `${host.name}->[::1]`,
    source: host.name,
    netns: host.netns,
    address: IPV6_LOOPBACK,
    expect: answeredPort(s.c, s.responder),
    description: `[::1]:${p.hostPort} on ${host.name} itself lands on ${c.name}`,
  })];
  if (address6 === null) return rows;
  const closed = `${c.name}'s port is bound to [::1]: [${address6}]:${p.hostPort} stays closed`;
  rows.push(portRow(s, {
    id: `${host.name}->${host.name}`,
    source: host.name,
    netns: host.netns,
    address: address6,
    expect: { kind: "closed" },
    description: closed,
  }));
  if (s.outside) {
    rows.push(portRow(s, {
      id: `${s.outside.label}->${host.name}`,
      source: s.outside.label,
      netns: s.outside.netns,
      address: address6,
      expect: { kind: "closed" },
      description: `${closed} from outside`,
    }));
  }
  return rows;
}

/**
 * The IPv6 rows of one published port, or a note saying why there are none; nothing for a port
 * that ip6tables does not publish (IPv4-only bindings, a container without IPv6).
 */
export function portRows6(model: Model, s: PortSubject): { rows: Expectation[]; note?: string } {
  const { c, p, host } = s;
  const address = hostAddress6(model, host);
  if (p.hostIp === IPV6_LOOPBACK) return { rows: loopbackRows(s, address) };
  if (address === null || !publishedOnIpv6(model, host.name).has(portKey(c.name, p))) {
    return { rows: [] };
  }
  const spec = `${p.hostPort}/${p.protocol}`;
  const bound = p.hostIp === "0.0.0.0" || p.hostIp === "::" ? "::" : p.hostIp;
  if (bound !== "::" && bound !== address) {
    return {
      rows: [],
      note: `port ${c.name} [${bound}]:${spec}: bound to an address nslab does not probe`,
    };
  }
  const answered = answeredPort(s.c, s.responder);
  const row = (id: string, source: string, netns: string, description: string) =>
    portRow(s, { id, source, netns, address, expect: answered, description });
  const rows: Expectation[] = [];
  if (s.outside) {
    rows.push(row(
      `${s.outside.label}->${host.name}`,
      s.outside.label,
      s.outside.netns,
      `${host.name}'s IPv6 address, port ${p.hostPort}, from outside the host lands on ${c.name}`,
    ));
  }
  rows.push(row(
    `${host.name}->${host.name}`,
    host.name,
    host.netns,
    `[${address}]:${p.hostPort} from ${host.name} itself lands on ${c.name}`,
  ));
  const def = ipv6DefaultEndpoint(c);
  const viaMacvlan = model.networks.find((n) => n.name === def?.network)?.driver === "macvlan";
  if (def?.ipv6?.gateway && !viaMacvlan) {
    rows.push(row(
      `${c.name}->${host.name}(hairpin)`,
      c.name,
      c.netns,
      `${c.name} reaches its own published port through ${host.name}'s IPv6 address (hairpin)`,
    ));
  }
  return { rows };
}
