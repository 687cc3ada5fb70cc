/**
 * The impairment section of a plan: for every impaired link, which devices get a tbf, which get
 * set down and where a delay relay is inserted; for every namespace, the iptables `mangle` rules
 * that drop lost packets and partitioned traffic. Pure: Model (+ the namespaces' links) → data.
 *
 * How each impairment is made (this kernel has no netem):
 * - `down`: the outer end of the veth (host side of an endpoint, underlay side of a host link) is
 *   set down, so the inner end loses its carrier and keeps its addresses and routes.
 * - `rate`: a tbf root qdisc on both ends (each end's egress is one direction).
 * - `loss`: `-m statistic --mode random` DROP rules on the inner device, in and out.
 * - `delay`/`jitter`: the outer end leaves its bridge; a relay veth pair takes its place, and the
 *   supervisor moves frames between the two with AF_PACKET sockets, holding each for the delay.
 * - partitions: DROP rules per endpoint for the addresses of the other groups, and on host
 *   links for the other groups' hosts (which cuts VXLAN between them).
 * - a namespace with IPv6 gets the same loss rules in ip6tables, and partition rules for the
 *   other groups' IPv6 addresses; host links stay IPv4 only (the underlay is IPv4).
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { groupMembers } from "../model/impair_edit.ts";
import { formatImpair } from "../model/impair.ts";
import type { ImpairSpec } from "../model/types.ts";
import type { ImpairLinkPlan, ImpairPlan, ImpairRulesPlan, NamespacePlan } from "./types.ts";

export type { ImpairLinkPlan, ImpairPlan, ImpairRulesPlan, LinkEnd } from "./types.ts";

/** An empty section (nothing impaired). */
export function emptyImpairPlan(): ImpairPlan {
  return { links: [], rules: [] };
}

/** Whether two impairment sections hold the same (absent: nothing impaired). */
export function sameImpairments(a: ImpairPlan | undefined, b: ImpairPlan | undefined): boolean {
  return JSON.stringify(a ?? emptyImpairPlan()) === JSON.stringify(b ?? emptyImpairPlan());
}

/** Names of the relay pair of an outer device: short, deterministic, ≤ 15 bytes. */
export function relayNames(outerNs: string, outerDev: string): { dev: string; peer: string } {
  let h = 0x811c9dc5;
  for (const ch of `${outerNs}/${outerDev}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const id = h.toString(16).padStart(8, "0");
  return { dev: `rl${id}`, peer: `rl${id}p` };
}

/** A veth end's settings, as the impairment of its link needs them. */
interface VethEnd {
  master: string;
  hairpin: boolean;
  mtu: number;
}

/**
 * Every veth end of the plan by `ns\0dev` (either end of each veth), with its settings: one pass,
 * so that looking up each of 8,000 endpoints does not scan every link of the plan again. The
 * first veth that names an end wins, as a scan in plan order would find it.
 */
function vethEnds(namespaces: NamespacePlan[]): Map<string, VethEnd> {
  const ends = new Map<string, VethEnd>();
  const add = (key: string, end: VethEnd) => ends.has(key) || ends.set(key, end);
  for (const ns of namespaces) {
    for (const l of ns.links) {
      if (l.kind !== "veth") continue;
      add(`${ns.name}\0${l.name}`, {
        master: l.master ?? "",
        hairpin: l.hairpin ?? false,
        mtu: l.mtu ?? 1500,
      });
      add(`${l.peer.ns}\0${l.peer.name}`, {
        master: l.peer.master ?? "",
        hairpin: false,
        mtu: l.peer.mtu ?? l.mtu ?? 1500,
      });
    }
  }
  return ends;
}

/** Every impairable link of the model: endpoints with a veth, and host cables. */
export function impairableLinks(
  model: Model,
  namespaces: NamespacePlan[],
): Omit<ImpairLinkPlan, "spec" | "relay">[] {
  const out: Omit<ImpairLinkPlan, "spec" | "relay">[] = [];
  const ends = vethEnds(namespaces);
  const findVeth = (ns: string, dev: string) => ends.get(`${ns}\0${dev}`) ?? null;
  for (const h of model.hosts) {
    const v = findVeth(model.underlay.netns, h.underlayIfname);
    if (!v) continue;
    out.push({
      name: h.name,
      kind: "host",
      inner: { ns: h.netns, dev: "eth0" },
      outer: {
        ns: model.underlay.netns,
        dev: h.underlayIfname,
        bridge: v.master,
        hairpin: v.hairpin,
        mtu: v.mtu,
      },
    });
  }
  const hosts = new Map(model.hosts.map((h) => [h.name, h]));
  for (const c of model.containers) {
    const host = hosts.get(c.host);
    if (!host || c.mode.kind !== "own") continue;
    for (const ep of c.endpoints) {
      if (!ep.hostIfname) continue;
      const v = findVeth(host.netns, ep.hostIfname);
      if (!v || !v.master) continue;
      out.push({
        name: `${c.name}:${ep.network}`,
        kind: "endpoint",
        inner: { ns: c.netns, dev: ep.ifname },
        outer: {
          ns: host.netns,
          dev: ep.hostIfname,
          bridge: v.master,
          hairpin: v.hairpin,
          mtu: v.mtu,
        },
      });
    }
  }
  return out;
}

/** The impairment of a link named by {@link impairableLinks} (`host`, or `container:network`). */
function specOf(
  model: Model,
  containers: Map<string, Model["containers"][number]>,
  name: string,
): ImpairSpec | undefined {
  const [container, network] = name.split(":");
  if (network === undefined) return model.hosts.find((h) => h.name === name)?.impair;
  return containers.get(container)?.endpoints.find((e) => e.network === network)?.impair;
}

/** iptables' probability for a loss percentage (5 decimals, as `iptables -S` prints it back). */
export function lossProbability(pct: number): string {
  return (pct / 100).toFixed(5).replace(/0+$/, "").replace(/\.$/, "");
}

/**
 * The impairment section for a model whose namespaces are planned: links with a spec, and the
 * rules of loss and partitions per namespace. Empty when nothing is impaired.
 */
export function planImpairments(model: Model, namespaces: NamespacePlan[]): ImpairPlan {
  const links: ImpairLinkPlan[] = [];
  const rules = new Map<string, ImpairRulesPlan>();
  const dualStack = new Set(
    model.containers.filter((c) => c.endpoints.some((e) => e.ipv6)).map((c) => c.netns),
  );
  const rulesOf = (ns: string) => {
    let r = rules.get(ns);
    if (!r) {
      r = dualStack.has(ns) ? { netns: ns, in: [], out: [], in6: [], out6: [] } : {
        netns: ns,
        in: [],
        out: [],
      };
      rules.set(ns, r);
    }
    return r;
  };
  const containers = new Map(model.containers.map((c) => [c.name, c]));
  for (const l of impairableLinks(model, namespaces)) {
    const spec = specOf(model, containers, l.name);
    if (!spec || Object.keys(spec).length === 0) continue;
    const delays = (spec.delayMs ?? 0) > 0 || (spec.jitterMs ?? 0) > 0;
    links.push({ ...l, spec, relay: delays ? relayNames(l.outer.ns, l.outer.dev) : null });
    if (spec.lossPct !== undefined) {
      const stat = `-m statistic --mode random --probability ${lossProbability(spec.lossPct)}`;
      const tag = `-m comment --comment "nslab loss ${l.name}"`;
      const r = rulesOf(l.inner.ns);
      for (const [ins, outs] of [[r.in, r.out], [r.in6, r.out6]]) {
        ins?.push(`-i ${l.inner.dev} ${stat} ${tag} -j DROP`);
        outs?.push(`-o ${l.inner.dev} ${stat} ${tag} -j DROP`);
      }
    }
  }
  for (const p of model.partitions ?? []) partitionRules(model, p.id, p.groups, rulesOf);
  const count = (r: ImpairRulesPlan) =>
    r.in.length + r.out.length + (r.in6?.length ?? 0) + (r.out6?.length ?? 0);
  return { links, rules: [...rules.values()].filter((r) => count(r) > 0) };
}

function partitionRules(
  model: Model,
  id: number,
  groups: string[][],
  rulesOf: (ns: string) => ImpairRulesPlan,
): void {
  const members = groups.map((g) => groupMembers(model, g));
  const tag = `-m comment --comment "nslab partition ${id}"`;
  members.forEach((mine, i) => {
    const others = members.filter((_, j) => j !== i);
    const remote = others.flatMap((o) => o.endpoints);
    const local = new Set(model.networks.filter((n) => n.scope === "local").map((n) => n.name));
    for (const { container, network } of mine.endpoints) {
      if (container.mode.kind !== "own") continue;
      const ep = container.endpoints.find((e) => e.network === network)!;
      const r = rulesOf(container.netns);
      // A host-scoped network's address on another host is not reachable from here (and may be
      // this host's own, as docker_gwbridge's are): only addresses a packet could reach are cut.
      const reachable = remote.filter((e) =>
        !(local.has(e.network) && e.container.host !== container.host)
      );
      const addrs = new Set(
        reachable.map((e) => e.container.endpoints.find((x) => x.network === e.network)!.address),
      );
      for (const a of addrs) {
        r.in.push(`-s ${a}/32 -i ${ep.ifname} ${tag} -j DROP`);
        r.out.push(`-d ${a}/32 -o ${ep.ifname} ${tag} -j DROP`);
      }
      const addrs6 = new Set(
        reachable.flatMap((e) =>
          e.container.endpoints.find((x) => x.network === e.network)?.ipv6?.address ?? []
        ),
      );
      for (const a of r.in6 && ep.ipv6 ? addrs6 : []) {
        r.in6!.push(`-s ${a}/128 -i ${ep.ifname} ${tag} -j DROP`);
        r.out6!.push(`-d ${a}/128 -o ${ep.ifname} ${tag} -j DROP`);
      }
    }
    const remoteHosts = others.flatMap((o) => o.hosts);
    for (const name of mine.hosts) {
      const h = model.hosts.find((x) => x.name === name)!;
      const r = rulesOf(h.netns);
      for (const other of remoteHosts) {
        const a = model.hosts.find((x) => x.name === other)!.address;
        r.in.push(`-s ${a}/32 -i eth0 ${tag} -j DROP`);
        r.out.push(`-d ${a}/32 -o eth0 ${tag} -j DROP`);
      }
    }
  });
}

/**
 * What can stay while the links change from `a` to `b`: `a`'s impairments of links whose veth is
 * the same in both (their differences are applied afterwards, in place), and the rules equal in
 * both. A change goes `a` → shared (lifts impairments of links that go away or are rebuilt, so no
 * relay outlives its veth) → link edits → `b`.
 */
export function sharedImpairments(
  a: ImpairPlan | undefined,
  b: ImpairPlan | undefined,
): ImpairPlan {
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const bLinks = new Map((b?.links ?? []).map((l) => [l.name, l]));
  const bRules = new Map((b?.rules ?? []).map((r) => [r.netns, r]));
  return {
    links: (a?.links ?? []).filter((l) => {
      const other = bLinks.get(l.name);
      return other !== undefined && same(l.inner, other.inner) && same(l.outer, other.outer);
    }),
    rules: (a?.rules ?? []).filter((r) => same(r, bRules.get(r.netns))),
  };
}

/** The section as `nslab plan` prints it: what each link gets, the commands it equals. */
export function impairLines(impair: ImpairPlan): string[] {
  const out: string[] = [];
  for (const l of impair.links) {
    out.push(`${l.name} (${l.inner.ns}/${l.inner.dev}): ${formatImpair(l.spec)}`);
    const o = l.outer;
    if (l.relay) {
      out.push(
        `  ip -n ${o.ns} link add ${l.relay.dev} type veth peer name ${l.relay.peer}; ` +
          `${o.dev} leaves ${o.bridge}, ${l.relay.peer} joins it; ` +
          `the supervisor relays ${o.dev} ↔ ${l.relay.dev} (AF_PACKET)`,
      );
    }
    if (l.spec.rateBit !== undefined) {
      for (const end of [l.inner, o]) {
        out.push(
          `  tc -n ${end.ns} qdisc replace dev ${end.dev} root tbf rate ${l.spec.rateBit}bit …`,
        );
      }
    }
    if (l.spec.down) out.push(`  ip -n ${o.ns} link set ${o.dev} down`);
  }
  for (const r of impair.rules) {
    out.push(`iptables -t mangle in ${r.netns}:`);
    for (const x of r.in) out.push(`  -A NSLAB-IMPAIR-IN ${x}`);
    for (const x of r.out) out.push(`  -A NSLAB-IMPAIR-OUT ${x}`);
    if (!r.in6 || !r.out6 || r.in6.length + r.out6.length === 0) continue;
    out.push(`ip6tables -t mangle in ${r.netns}:`);
    for (const x of r.in6) out.push(`  -A NSLAB-IMPAIR-IN ${x}`);
    for (const x of r.out6) out.push(`  -A NSLAB-IMPAIR-OUT ${x}`);
  }
  return out;
}
