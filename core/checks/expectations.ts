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

import { DOCKER0_NETWORK, GWBRIDGE } from "../model/networks.ts";
import { dockerOrder, ptrName } from "../dns/records.ts";
import { parseIp6 } from "../model/ip6.ts";
import { IPV6_TAG } from "./families.ts";
import { portRows6 } from "./ports6.ts";
import type { CheckSpec, Container, Endpoint, Host, Model, Network } from "../model/types.ts";
import type { CheckKind, DnsType, Expectation, Expected, Probe } from "./types.ts";

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
  const ctx = new Ctx(model);
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
  const ctx = new Ctx(model);
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

/** `in-addr.arpa` name of an IPv4 address, `ip6.arpa` (32 nibbles) name of an IPv6 one. */
export function reverseName(address: string): string {
  const v6 = parseIp6(address);
  if (v6 === null) return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
  return `${[...v6.toString(16).padStart(32, "0")].reverse().join(".")}.ip6.arpa`;
}

/** An endpoint's address in one family (`ep.ipv6` for 6), or null when it has none. */
function addressIn(ep: Endpoint, family: 4 | 6): string | null {
  return family === 4 ? ep.address : ep.ipv6?.address ?? null;
}

/** Row ids name the family of IPv6 rows only: IPv4 rows keep their old ids. */
const familyTag = (family: 4 | 6) => (family === 6 ? IPV6_TAG : "");

function uniqueIds(exps: Expectation[]): Expectation[] {
  const seen = new Map<string, number>();
  for (const e of exps) {
    const n = (seen.get(e.id) ?? 0) + 1;
    seen.set(e.id, n);
    if (n > 1) e.id = `${e.id}#${n}`;
  }
  return exps;
}

/** How two endpoints of one network relate at layer 2. */
type Link = "shared" | "separate" | "unknown";

class Ctx {
  readonly out: Expectation[] = [];
  readonly notes: string[] = [];
  readonly nets: Map<string, Network>;
  readonly hosts: Map<string, Host>;
  /** Containers with a namespace of their own (`own` and `none` modes). */
  readonly boxes: Container[];
  /** address → how many endpoints in the lab hold it. */
  readonly addressUse = new Map<string, number>();

  constructor(readonly model: Model) {
    this.nets = new Map(model.networks.map((n) => [n.name, n]));
    this.hosts = new Map(model.hosts.map((h) => [h.name, h]));
    this.boxes = model.containers.filter((c) => c.mode.kind === "own" || c.mode.kind === "none");
    for (const c of this.boxes) {
      for (const ep of c.endpoints) {
        for (const a of [ep.address, ep.ipv6?.address]) {
          if (a) this.addressUse.set(a, (this.addressUse.get(a) ?? 0) + 1);
        }
      }
    }
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`Model has no host "${name}"`);
    return h;
  }

  /** Does `a`'s endpoint reach `b`'s endpoint on network `net` at layer 2? */
  link(net: string, a: Container, b: Container): Link {
    const n = this.nets.get(net);
    if (!n) return "unknown";
    if (n.scope === "global") return "shared";
    if (n.driver === "macvlan") {
      if (a.host !== b.host) return "shared"; // sub-interfaces of eth0s on one underlay segment
      return n.macvlan?.mode === "bridge" ? "shared" : "unknown";
    }
    return a.host === b.host ? "shared" : "unknown";
  }

  /**
   * A macvlan endpoint sits on the underlay segment, so a container that shares no network with it
   * still reaches it the way it reaches any machine there: out through its gateway and its host's
   * NAT. Except from the target's own host, whose eth0 cannot talk to its macvlan children (unless
   * the network has the host shim). "isolated" when `ep` is not macvlan or `s` has no way out.
   */
  macvlanViaUnderlay(s: Container, t: Container, ep: Endpoint): "reach" | "isolated" | "unknown" {
    const n = this.nets.get(ep.network);
    if (n?.driver !== "macvlan") return "isolated";
    const def = s.defaultEndpoint >= 0 ? s.endpoints[s.defaultEndpoint] : undefined;
    if (!def || !def.gateway) return "isolated";
    if (this.nets.get(def.network)?.driver === "macvlan") return "unknown";
    if (s.host !== t.host) return "reach";
    return n.macvlan?.hostShim ? "reach" : "isolated";
  }

  /** Endpoints of `t` that `s` reaches (networks both are on, linked at layer 2). */
  sharedEndpoints(s: Container, t: Container): { ep: Endpoint; link: Link }[] {
    const mine = new Set(s.endpoints.map((e) => e.network));
    return t.endpoints.filter((e) => mine.has(e.network)).map((ep) => ({
      ep,
      link: this.link(ep.network, s, t),
    }));
  }
}

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

/** true when nslab's responder (not the container's own command) answers on its ports. */
export function hasResponder(c: Container): boolean {
  return c.command === null && c.runtime === "netns";
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

function implyPairs(ctx: Ctx): void {
  for (const s of ctx.boxes) {
    for (const t of ctx.boxes) {
      if (s === t) continue;
      const shared = ctx.sharedEndpoints(s, t);
      for (const { ep, link } of shared) {
        if (link !== "shared") {
          ctx.note(
            `${s.name} → ${t.name} on "${ep.network}": not checked (a host-scoped network on ` +
              `two hosts, or macvlan in ${ctx.nets.get(ep.network)?.macvlan?.mode ?? "?"} mode)`,
          );
          continue;
        }
        ctx.out.push(
          pairExpectation(
            s,
            t,
            ep,
            "reach",
            `${s.name} reaches ${t.name} on network ${ep.network}`,
          ),
        );
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
      if (shared.length > 0) continue;
      implyIsolation6(ctx, s, t);
      for (const ep of t.endpoints) {
        if ((ctx.addressUse.get(ep.address) ?? 0) > 1) {
          ctx.note(
            `isolation ${s.name} → ${t.name} ${ep.address}: not checked (address in use twice)`,
          );
          continue;
        }
        const viaUnderlay = ctx.macvlanViaUnderlay(s, t, ep);
        if (viaUnderlay === "unknown") {
          ctx.note(
            `isolation ${s.name} → ${t.name} ${ep.address}: not checked (macvlan behind macvlan)`,
          );
          continue;
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
    }
  }
}

/**
 * IPv6 isolation of `t` from `s`, which share no network: only when `s` has IPv6 itself (else the
 * row would only show that it has no IPv6 route), and not for macvlan endpoints (whose IPv6 side
 * of the underlay nslab does not model).
 */
function implyIsolation6(ctx: Ctx, s: Container, t: Container): void {
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

/** One way a name resolves: container `c` at `address` on `network`. */
interface NameEntry {
  c: Container;
  network: string;
  address: string;
  /** The IPv6 address on that network, when it has IPv6. */
  address6?: string;
}

/** Every name the embedded DNS serves, lowercased → the endpoints it stands for. */
function nameIndex(ctx: Ctx): Map<string, NameEntry[]> {
  const index = new Map<string, NameEntry[]>();
  const add = (name: string, e: NameEntry) => {
    const key = name.toLowerCase();
    const list = index.get(key) ?? [];
    if (!list.some((x) => x.c === e.c && x.network === e.network)) list.push(e);
    index.set(key, list);
  };
  for (const c of ctx.boxes) {
    if (c.mode.kind !== "own") continue;
    for (const ep of c.endpoints) {
      if (!givesNames(ep.network)) continue;
      const e = { c, network: ep.network, address: ep.address, address6: ep.ipv6?.address };
      add(c.name, e);
      if (c.service !== c.name) add(c.service, e);
      if (c.hostname && c.hostname !== c.name) add(c.hostname, e);
      for (const a of ep.aliases) add(a, e);
    }
  }
  // `<name>.<network>` is every holder of that name on that network (another container may
  // have the container's name as an alias: an extended Compose service inherits its aliases).
  for (const c of ctx.boxes) {
    if (c.mode.kind !== "own") continue;
    for (const ep of c.endpoints) {
      if (!givesNames(ep.network)) continue;
      const holders = (index.get(c.name.toLowerCase()) ?? []).filter((x) =>
        x.network === ep.network
      );
      index.set(`${c.name}.${ep.network}`.toLowerCase(), holders);
    }
  }
  return index;
}

/**
 * Docker's way out for overlay members (`docker_gwbridge`) and docker0 (`bridge`, the default
 * bridge of `network_mode: bridge`) give no names; every other network does.
 */
function givesNames(network: string): boolean {
  return network !== GWBRIDGE && network !== DOCKER0_NETWORK;
}

/** Does `c` use the embedded DNS (own namespace with at least one network)? */
function usesDns(c: Container): boolean {
  return c.mode.kind === "own" && c.endpoints.length > 0;
}

function dnsExpectation(
  s: Container,
  name: string,
  type: DnsType,
  expect: Expected,
  containers: string[],
  description: string,
): Expectation {
  const shown = expect.kind === "addresses"
    ? `→ ${expect.addresses.join(", ")}`
    : expect.kind === "nxdomain"
    ? "→ NXDOMAIN"
    : "";
  return {
    id: `dns:${s.name}:${type}:${name}`,
    kind: "dns",
    source: s.name,
    target: `${type} ${name}${shown ? " " + shown : ""}`,
    protocol: "dns",
    probe: { kind: "dns", netns: s.netns, name, type },
    expect,
    description,
    containers: [s.name, ...containers.filter((c) => c !== s.name)],
    explicit: false,
  };
}

function implyDns(ctx: Ctx): void {
  const index = nameIndex(ctx);
  const names = [...index.keys()].sort();
  for (const s of ctx.boxes) {
    if (!usesDns(s)) continue;
    const mine = new Set(s.endpoints.map((e) => e.network).filter(givesNames));
    const order = dockerOrder([...mine].map((n) => ctx.nets.get(n)!).filter(Boolean))
      .map((n) => n.name);
    for (const name of names) {
      const entries = index.get(name)!;
      if (entries.every((e) => e.c === s)) continue; // its own name: /etc/hosts answers
      const onMyNets = entries.filter((e) => mine.has(e.network));
      if (onMyNets.some((e) => e.c !== s && ctx.link(e.network, s, e.c) !== "shared")) {
        ctx.note(`dns ${s.name} → ${name}: not checked (a host-scoped network on two hosts)`);
        continue;
      }
      const who = [...new Set(entries.map((e) => e.c.name))];
      if (onMyNets.length > 0) {
        // Docker answers from the first of s's networks (in its order) that knows the name.
        const first = order.find((n) => onMyNets.some((e) => e.network === n))!;
        const addresses = [
          ...new Set(onMyNets.filter((e) => e.network === first).map((e) => e.address)),
        ]
          .sort();
        ctx.out.push(
          dnsExpectation(
            s,
            name,
            "A",
            { kind: "addresses", addresses },
            who,
            `${s.name} resolves ${name} to its address(es) on ${first}, the first network it ` +
              "shares that knows the name (Docker's order)",
          ),
        );
        if (onMyNets.some((e) => e.address6)) {
          // AAAA comes from the same first network: one without IPv6 answers an empty NOERROR.
          const addresses6 = [
            ...new Set(
              onMyNets.filter((e) => e.network === first && e.address6).map((e) => e.address6!),
            ),
          ].sort();
          ctx.out.push(
            dnsExpectation(
              s,
              name,
              "AAAA",
              { kind: "addresses", addresses: addresses6 },
              who,
              addresses6.length > 0
                ? `${s.name} resolves ${name} to its IPv6 address(es) on ${first}`
                : `${first}, the first network ${s.name} shares that knows ${name}, has no IPv6: ` +
                  "an empty answer",
            ),
          );
        }
        continue;
      }
      const sharesAny = entries.some((e) => e.c.endpoints.some((ep) => mine.has(ep.network)));
      if (sharesAny) continue; // e.g. an alias on a network s is not on, of a container it does see
      ctx.out.push(
        dnsExpectation(
          s,
          name,
          "A",
          { kind: "nxdomain" },
          who,
          `${s.name} shares no network with ${who.join(", ")}: ${name} must not resolve`,
        ),
      );
      if (entries.some((e) => e.address6) && s.endpoints.some((e) => e.ipv6)) {
        ctx.out.push(
          dnsExpectation(
            s,
            name,
            "AAAA",
            { kind: "nxdomain" },
            who,
            `${s.name} shares no network with ${who.join(", ")}: ${name} has no AAAA either`,
          ),
        );
      }
    }
    // PTR for every peer address s reaches; SRV for named ports of services s sees.
    const srv = new Map<string, { targets: Set<string>; port: number; owners: string[] }>();
    for (const t of ctx.boxes) {
      if (t.mode.kind !== "own") continue;
      const shared = t === s ? [] : ctx.sharedEndpoints(s, t);
      if (shared.some((x) => x.link !== "shared")) continue;
      for (const { ep } of shared) {
        if (!givesNames(ep.network)) continue;
        for (const address of [ep.address, ep.ipv6?.address]) {
          if (!address || (ctx.addressUse.get(address) ?? 0) > 1) continue;
          ctx.out.push({
            ...dnsExpectation(
              s,
              reverseName(address),
              "PTR",
              { kind: "ptr", names: [ptrName(ctx.model, t, ep.network)] },
              [t.name],
              `${s.name} resolves ${address} back to ${t.name}`,
            ),
            id: `dns:${s.name}:PTR:${address}`,
            target: `PTR ${address} → ${t.name}`,
          });
        }
      }
      if (shared.length === 0 && t !== s) continue; // a replica sees its own service's SRV too
      for (const p of t.ports) {
        if (p.name === null || p.protocol === "sctp") continue;
        const srvName = `_${p.name}._${p.protocol}.${t.service}`;
        const entry = srv.get(srvName) ?? { targets: new Set(), port: p.containerPort, owners: [] };
        entry.targets.add(t.name);
        entry.owners.push(t.name);
        srv.set(srvName, entry);
      }
    }
    for (const [name, e] of [...srv].sort(([a], [b]) => a.localeCompare(b))) {
      const targets = [...e.targets].sort();
      ctx.out.push({
        ...dnsExpectation(
          s,
          name,
          "SRV",
          { kind: "srv", targets, port: e.port },
          e.owners,
          `${s.name} finds the named port ${name} on ${targets.join(", ")}`,
        ),
        target: `SRV ${name} → ${targets.map((t) => `${t}:${e.port}`).join(", ")}`,
      });
    }
  }
}

/** Where "outside" probes run from when the target is on `host`: another host, else the uplink. */
function outsideVantage(
  ctx: Ctx,
  host: string | null,
): { netns: string; label: string } | null {
  const other = ctx.model.hosts.find((h) => h.name !== host);
  if (other) return { netns: other.netns, label: `outside(${other.name})` };
  if (ctx.model.underlay.uplink) return { netns: "", label: "outside(uplink)" };
  return null;
}

function implyPorts(ctx: Ctx): void {
  for (const c of ctx.model.containers) {
    if (c.mode.kind !== "own" || c.ports.length === 0) continue;
    const host = ctx.host(c.host);
    const responder = hasResponder(c);
    for (const p of c.ports) {
      const spec = `${p.hostPort}/${p.protocol}`;
      if (p.protocol === "sctp") {
        ctx.note(`port ${c.name} ${spec}: sctp is not probed`);
        continue;
      }
      if (p.protocol === "udp" && !responder) {
        ctx.note(`port ${c.name} ${spec}: udp with a command of its own is not probed`);
        continue;
      }
      const answered: Expected = responder
        ? { kind: "answeredBy", container: c.name }
        : { kind: "open" };
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
      const any = p.hostIp === "0.0.0.0";
      const loopOnly = p.hostIp === "127.0.0.1";
      if (p.hostIp.includes(":")) continue; // published on IPv6 only: its rows are above
      if (!any && !loopOnly && p.hostIp !== host.address) {
        ctx.note(`port ${c.name} ${p.hostIp}:${spec}: bound to an address nslab does not probe`);
        continue;
      }
      const add = (
        id: string,
        source: string,
        netns: string,
        address: string,
        expect: Expected,
        description: string,
      ) => {
        ctx.out.push({
          id: `port:${id}:${spec}`,
          kind: "port",
          source,
          target: `${address}:${p.hostPort}/${p.protocol} → ${c.name}:${p.containerPort}`,
          protocol: p.protocol as "tcp" | "udp",
          probe: p.protocol === "tcp"
            ? { kind: "tcp", netns, address, port: p.hostPort, responder }
            : { kind: "udp", netns, address, port: p.hostPort },
          expect,
          description,
          containers: [c.name],
          explicit: false,
        });
      };
      if (!outside) {
        ctx.note(
          `port ${c.name} ${spec}: no vantage point outside ${host.name} (one host, no uplink)`,
        );
      } else if (loopOnly) {
        add(
          `${outside.label}->${host.name}`,
          outside.label,
          outside.netns,
          host.address,
          { kind: "closed" },
          `${c.name}'s port ${p.hostPort} is bound to 127.0.0.1 and must be closed from outside`,
        );
      } else {
        add(
          `${outside.label}->${host.name}`,
          outside.label,
          outside.netns,
          host.address,
          answered,
          `${host.name}:${p.hostPort} from outside the host lands on ${c.name}`,
        );
      }
      add(
        `${host.name}->127.0.0.1`,
        host.name,
        host.netns,
        "127.0.0.1",
        any || loopOnly ? answered : { kind: "closed" },
        any || loopOnly
          ? `127.0.0.1:${p.hostPort} on ${host.name} itself lands on ${c.name}`
          : `${c.name}'s port is bound to ${p.hostIp}: 127.0.0.1:${p.hostPort} stays closed`,
      );
      add(
        `${host.name}->${host.name}`,
        host.name,
        host.netns,
        host.address,
        loopOnly ? { kind: "closed" } : answered,
        loopOnly
          ? `${c.name}'s port is bound to 127.0.0.1: ${host.address}:${p.hostPort} stays closed`
          : `${host.address}:${p.hostPort} from ${host.name} itself lands on ${c.name}`,
      );
      const def = c.defaultEndpoint >= 0 ? c.endpoints[c.defaultEndpoint] : undefined;
      const viaMacvlan = def && ctx.nets.get(def.network)?.driver === "macvlan";
      if (!loopOnly && def && def.gateway && !viaMacvlan) {
        add(
          `${c.name}->${host.name}(hairpin)`,
          c.name,
          c.netns,
          host.address,
          answered,
          `${c.name} reaches its own published port through ${host.name}'s address (hairpin)`,
        );
      }
    }
  }
}

function implyIfaces(ctx: Ctx): void {
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

function implyUnderlay(ctx: Ctx): void {
  for (const c of ctx.boxes) {
    if (c.mode.kind !== "own" || c.endpoints.length === 0) continue;
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

// ---- explicit checks -------------------------------------------------------------------------

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
function sourceOf(ctx: Ctx, from: string, targetHost: string | null) {
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

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Resolves a check's target name to an address as seen from `src` (a container or not). */
function targetAddress(
  ctx: Ctx,
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
      if (shared) return { address: shared.ep.address, container: c, host: c.host };
    }
  }
  const first = candidates.find((c) => c.endpoints.length > 0);
  if (first) return { address: first.endpoints[0].address, container: first, host: first.host };
  return null;
}

function explicitExpectation(ctx: Ctx, spec: CheckSpec, index: number): Expectation {
  const where = `${spec.pos.file}:${spec.pos.line}:${spec.pos.col}`;
  if (spec.kind === "dns") {
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
      description: `explicit check at ${where}`,
      containers: [spec.from],
      explicit: true,
    };
  }
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
  let probe: Probe;
  if (protocol === "icmp") probe = { kind: "icmp", netns: src.netns, address: target.address };
  else if (protocol === "udp") {
    probe = { kind: "udp", netns: src.netns, address: target.address, port: port! };
  } else {
    probe = {
      kind: "tcp",
      netns: src.netns,
      address: target.address,
      port: port!,
      responder: spec.expect.kind === "answeredBy",
    };
  }
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
    probe,
    expect,
    description: `explicit check at ${where}`,
    containers: [...new Set(involved)],
    explicit: true,
  };
}
