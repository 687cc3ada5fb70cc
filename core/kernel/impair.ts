/**
 * The applier of the plan's impairment section: takes the kernel from one {@link ImpairPlan} to
 * another, touching only what differs (a link whose delay changed needs nothing here: the
 * supervisor's relay reads the new value).
 *
 * Links are changed through netlink (`ip link`), rates with `tc` (one run per shaped device: tbf
 * needs rate tables nslab's netlink codec does not build), rules with one
 * `iptables-restore --noflush` per namespace into the `mangle` chains NSLAB-IMPAIR-IN/OUT, and
 * one `ip6tables-restore --noflush` into the same chains of ip6tables where the namespace has IPv6.
 *
 * @module
 */

import type { ImpairLinkPlan, ImpairPlan, ImpairRulesPlan } from "../plan/impair.ts";
import { handleFor } from "./netlink/client.ts";
import { bridgePortSet, linkAdd, linkDel, linkGet, linkSet } from "./netlink/link.ts";
import { attrValue } from "./netlink/codec.ts";
import { neighDel, neighList } from "./netlink/neigh.ts";
import { applyFirewall } from "./firewall.ts";
import { assertNetnsName } from "./netns/netns.ts";
import type { Family } from "../plan/firewall/family.ts";
import { NslabError } from "../errors.ts";
import { pollUntil } from "../poll.ts";

/** The mangle chains impairment rules live in, and the built-in chains that jump to them. */
export const IMPAIR_CHAINS = { in: "NSLAB-IMPAIR-IN", out: "NSLAB-IMPAIR-OUT" } as const;
const HOOKS = { in: "PREROUTING", out: "POSTROUTING" } as const;

/** Runs `tc ARGS…` inside a namespace; throws with tc's message. */
export async function tc(ns: string, args: string[]): Promise<string> {
  assertNetnsName(ns);
  const out = await new Deno.Command("tc", {
    args: ["-n", ns, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    throw new NslabError(
      `tc -n ${ns} ${args.join(" ")} failed: ${stderr || `exit ${out.code}`}`,
      1,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * The tbf arguments for a rate: the bucket holds at least a few full frames (less would drop
 * every full-size frame), and a frame waits at most 100 ms in the queue.
 */
export function tbfArgs(rateBit: number): string[] {
  const burst = Math.max(4096, Math.round(rateBit / 8 / 250));
  return ["tbf", "rate", `${Math.round(rateBit)}bit`, "burst", String(burst), "latency", "100ms"];
}

/** Shapes (or stops shaping) both ends of a link. Equivalent to: `tc qdisc replace … root tbf`. */
async function setRate(l: ImpairLinkPlan, rateBit: number | undefined): Promise<void> {
  for (const end of [l.inner, l.outer]) {
    if (rateBit === undefined) {
      await tc(end.ns, ["qdisc", "del", "dev", end.dev, "root"]).catch(() => {});
    } else {
      await tc(end.ns, ["qdisc", "replace", "dev", end.dev, "root", ...tbfArgs(rateBit)]);
    }
  }
}

/** `NUD_INCOMPLETE | NUD_FAILED`: resolutions that were tried while the cable was out. */
const NUD_UNRESOLVED = 0x01 | 0x20;

/**
 * Deletes the neighbour entries of a device still waiting for (or given up on) an answer: ARP
 * asked while the link was down would otherwise hold packets until its next retry, up to a second
 * later, as a replugged cable does not. Equivalent to: `ip neigh flush dev DEV nud incomplete`.
 */
function forgetUnresolved(end: { ns: string; dev: string }): void {
  const h = handleFor(end.ns);
  const index = linkGet(h, end.dev)?.index;
  if (!index) return;
  for (const n of neighList(h)) {
    if (n.index !== index || !(n.state & NUD_UNRESOLVED) || !n.dst) continue;
    try {
      neighDel(h, { index, address: n.dst, dev: end.dev });
    } catch { /* resolved or gone meanwhile */ }
  }
}

/** `IF_OPER_UP`: the kernel passes traffic on the device (its qdisc is attached). */
const OPER_UP = 6;
/** How long a link set up may take to pass traffic. */
const CARRIER_WAIT_MS = 3000;

/**
 * Sets the outer end up or down; up, waits until both ends pass traffic (the kernel attaches
 * their qdiscs a moment after the carrier returns). Equivalent to: `ip -n NS link set DEV down`.
 */
async function setDown(l: ImpairLinkPlan, down: boolean): Promise<void> {
  linkSet(handleFor(l.outer.ns), l.outer.dev, { up: !down });
  if (down) return;
  forgetUnresolved(l.inner);
  const operUp = (end: { ns: string; dev: string }) =>
    Number(attrValue(linkGet(handleFor(end.ns), end.dev)?.attrs ?? [], "operstate") ?? 0) ===
      OPER_UP;
  const up = () => operUp(l.inner) && operUp(l.outer);
  if (!await pollUntil(up, { timeoutMs: CARRIER_WAIT_MS, firstMs: 10, maxMs: 10 })) {
    throw new NslabError(
      `Link "${l.name}" was set up but does not pass traffic after ${CARRIER_WAIT_MS} ms ` +
        `(operstate of ${l.inner.ns}/${l.inner.dev} is not UP)`,
      1,
    );
  }
}

function indexOf(ns: string, dev: string): number {
  const link = linkGet(handleFor(ns), dev);
  if (!link) throw new NslabError(`Cannot impair: "${dev}" does not exist in namespace "${ns}"`, 1);
  return link.index;
}

/**
 * Puts the relay pair between the outer end and its bridge.
 * Equivalent to: `ip link add RL type veth peer name RLp; ip link set OUTER nomaster;
 * ip link set RLp master BR up; ip link set RL up` (in the outer end's namespace).
 */
function insertRelay(l: ImpairLinkPlan, relay: { dev: string; peer: string }): void {
  const h = handleFor(l.outer.ns);
  if (!linkGet(h, relay.dev)) {
    linkAdd(h, {
      kind: "veth",
      name: relay.dev,
      mtu: l.outer.mtu,
      peer: { name: relay.peer, mtu: l.outer.mtu },
    });
  }
  const bridge = pinBridgeMac(l.outer.ns, l.outer.bridge);
  linkSet(h, l.outer.dev, { master: 0 });
  linkSet(h, relay.peer, { master: bridge, up: true });
  if (l.outer.hairpin) bridgePortSet(h, indexOf(l.outer.ns, relay.peer), { hairpin: true });
  linkSet(h, relay.dev, { up: true });
}

/**
 * Sets a bridge's MAC to the one it has, which makes the kernel keep it: a bridge without a set
 * address takes the lowest MAC of its ports, so swapping a port for the relay could change the
 * gateway's MAC under every container's ARP cache. Returns the bridge's ifindex.
 * Equivalent to: `ip link set BR address $(cat /sys/class/net/BR/address)`.
 */
function pinBridgeMac(ns: string, name: string): number {
  const h = handleFor(ns);
  const bridge = linkGet(h, name);
  if (!bridge) throw new NslabError(`Cannot impair: bridge "${name}" does not exist in "${ns}"`, 1);
  linkSet(h, bridge.index, { mac: bridge.mac });
  return bridge.index;
}

/** Takes the relay out again: the outer end goes back on its bridge. */
function removeRelay(l: ImpairLinkPlan, relay: { dev: string; peer: string }): void {
  const h = handleFor(l.outer.ns);
  const bridge = pinBridgeMac(l.outer.ns, l.outer.bridge);
  if (linkGet(h, relay.dev)) linkDel(h, relay.dev);
  linkSet(h, l.outer.dev, { master: bridge });
  if (l.outer.hairpin) bridgePortSet(h, indexOf(l.outer.ns, l.outer.dev), { hairpin: true });
}

/** Takes one link from `from` to `to` (either may be null: not impaired). */
async function changeLink(from: ImpairLinkPlan | null, to: ImpairLinkPlan | null): Promise<void> {
  const l = (to ?? from)!;
  if (from?.relay && !to?.relay) removeRelay(l, from.relay);
  if (to?.relay && !from?.relay) insertRelay(l, to.relay);
  if (from?.spec.rateBit !== to?.spec.rateBit) await setRate(l, to?.spec.rateBit);
  if (Boolean(from?.spec.down) !== Boolean(to?.spec.down)) await setDown(l, Boolean(to?.spec.down));
}

/** The rule bodies of one family: `in`/`out`, or `in6`/`out6` (null: the family has no chains). */
function familyRules(
  r: ImpairRulesPlan | null,
  family: Family,
): { in: string[]; out: string[] } | null {
  if (!r) return null;
  if (family === "ipv4") return { in: r.in, out: r.out };
  return r.in6 && r.out6 ? { in: r.in6, out: r.out6 } : null;
}

/**
 * The iptables-restore (or, for `ipv6`, ip6tables-restore) input that makes a namespace's
 * impairment chains hold exactly `r`'s rules of that family.
 */
export function impairRuleset(
  plan: ImpairRulesPlan,
  hooked: boolean,
  family: Family = "ipv4",
): string {
  const r = familyRules(plan, family) ?? { in: [], out: [] };
  const lines = ["*mangle", `:${IMPAIR_CHAINS.in} - [0:0]`, `:${IMPAIR_CHAINS.out} - [0:0]`];
  if (!hooked) {
    lines.push(`-A ${HOOKS.in} -j ${IMPAIR_CHAINS.in}`, `-A ${HOOKS.out} -j ${IMPAIR_CHAINS.out}`);
  }
  for (const rule of r.in) lines.push(`-A ${IMPAIR_CHAINS.in} ${rule}`);
  for (const rule of r.out) lines.push(`-A ${IMPAIR_CHAINS.out} ${rule}`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** The iptables-restore input that removes the chains and their hooks. */
function unhookRuleset(): string {
  return [
    "*mangle",
    `-D ${HOOKS.in} -j ${IMPAIR_CHAINS.in}`,
    `-D ${HOOKS.out} -j ${IMPAIR_CHAINS.out}`,
    `-F ${IMPAIR_CHAINS.in}`,
    `-F ${IMPAIR_CHAINS.out}`,
    `-X ${IMPAIR_CHAINS.in}`,
    `-X ${IMPAIR_CHAINS.out}`,
    "COMMIT",
    "",
  ].join("\n");
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Takes a namespace's chains from `from` to `to`, each family on its own, only where it differs. */
async function changeRules(
  ns: string,
  from: ImpairRulesPlan | null,
  to: ImpairRulesPlan | null,
): Promise<void> {
  for (const family of ["ipv4", "ipv6"] as const) {
    const was = familyRules(from, family);
    const will = familyRules(to, family);
    if (same(was, will)) continue;
    if (will) await applyFirewall(ns, impairRuleset(to!, was !== null, family), family);
    else if (was) await applyFirewall(ns, unhookRuleset(), family);
  }
}

/**
 * Takes the kernel from impairment section `from` to `to` (absent: nothing impaired). Links are
 * changed one by one (relays, rates, carrier), then each namespace's rules in one restore.
 *
 * @example
 * ```ts
 * await applyImpairments(before.impair, buildPlan(changedModel).impair);
 * ```
 */
export async function applyImpairments(
  from: ImpairPlan | undefined,
  to: ImpairPlan | undefined,
): Promise<void> {
  const fromLinks = new Map((from?.links ?? []).map((l) => [l.name, l]));
  const toLinks = new Map((to?.links ?? []).map((l) => [l.name, l]));
  for (const name of new Set([...fromLinks.keys(), ...toLinks.keys()])) {
    const a = fromLinks.get(name) ?? null;
    const b = toLinks.get(name) ?? null;
    if (!same(a, b)) await changeLink(a, b);
  }
  const fromRules = new Map((from?.rules ?? []).map((r) => [r.netns, r]));
  const toRules = new Map((to?.rules ?? []).map((r) => [r.netns, r]));
  await Promise.all(
    [...new Set([...fromRules.keys(), ...toRules.keys()])].map((ns) => {
      const a = fromRules.get(ns) ?? null;
      const b = toRules.get(ns) ?? null;
      return same(a, b) ? Promise.resolve() : changeRules(ns, a, b);
    }),
  );
}
