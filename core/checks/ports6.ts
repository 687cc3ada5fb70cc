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
import { portMappings } from "../plan/firewall/rules.ts";
import { IPV6_TAG } from "./families.ts";
import type { Expectation, Expected } from "./types.ts";

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

/**
 * The IPv6 rows of one published port, or a note saying why there are none; nothing for a port
 * that ip6tables does not publish (IPv4-only bindings, a container without IPv6).
 */
export function portRows6(model: Model, s: PortSubject): { rows: Expectation[]; note?: string } {
  const { c, p, host } = s;
  const address = hostAddress6(model, host);
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
  const answered: Expected = s.responder
    ? { kind: "answeredBy", container: c.name }
    : { kind: "open" };
  const row = (id: string, source: string, netns: string, description: string): Expectation => ({
    id: `port:${id}${IPV6_TAG}:${spec}`,
    kind: "port",
    source,
    target: `[${address}]:${p.hostPort}/${p.protocol} → ${c.name}:${p.containerPort}`,
    protocol: p.protocol as "tcp" | "udp",
    probe: p.protocol === "tcp"
      ? { kind: "tcp", netns, address, port: p.hostPort, responder: s.responder }
      : { kind: "udp", netns, address, port: p.hostPort },
    expect: answered,
    description,
    containers: [c.name],
    explicit: false,
  });
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
  const def = c.defaultEndpoint >= 0 ? c.endpoints[c.defaultEndpoint] : undefined;
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
