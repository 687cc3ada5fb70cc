/**
 * Why a check run failed, when the machine can tell: the neighbour table overflowed during the
 * run, a namespace is gone, the lab's supervisor is down, the embedded DNS refused, the run ran out
 * of time. A failing report leads with these before its rows, so a user reads "the ARP table was
 * full" instead of 6,000 timeouts.
 *
 * @module
 */

import { NetlinkHandle } from "../kernel/netlink/client.ts";
import { type NeighTable, neighTables } from "../kernel/netlink/ntable.ts";
import type { CheckResult } from "./types.ts";
import { NOT_RUN } from "./probes.ts";

/** Overflow counters of the neighbour tables (`ip -s ntable`'s table_fulls), by table name. */
export type NeighSnapshot = Map<string, NeighTable>;

/** Reads the neighbour tables; null when they cannot be read (the run goes on without). */
export function neighSnapshot(): NeighSnapshot | null {
  let h: NetlinkHandle | null = null;
  try {
    h = new NetlinkHandle("", { probe: true });
    return new Map(neighTables(h).map((t) => [t.name, t]));
  } catch {
    return null;
  } finally {
    h?.close();
  }
}

/** What the run saw besides its rows. */
export interface RunFacts {
  before: NeighSnapshot | null;
  after: NeighSnapshot | null;
  /** Namespaces the run probes from that do not exist. */
  missingNetns: string[];
  /** Causes the caller knows (the lab's supervisor is down, …). */
  health: string[];
  /** The run's time budget, in ms. */
  budgetMs: number;
}

const SYSCTL: Record<string, string> = {
  arp_cache: "net.ipv4.neigh.default.gc_thresh3",
  ndisc_cache: "net.ipv6.neigh.default.gc_thresh3",
};

/** The neighbour tables that refused entries between the two snapshots. */
export function overflowCauses(
  before: NeighSnapshot | null,
  after: NeighSnapshot | null,
): string[] {
  if (!before || !after) return [];
  const out: string[] = [];
  for (const [name, t] of after) {
    const grew = t.tableFulls - (before.get(name)?.tableFulls ?? t.tableFulls);
    if (grew <= 0n) continue;
    out.push(
      `neighbour table overflow: ${name} refused ${grew} new entr${grew === 1n ? "y" : "ies"} ` +
        `during this run (${t.entries} entries, gc_thresh3 ${t.thresh3}); probes whose ARP/NDP ` +
        `entry was refused time out. The table is one for every namespace of the machine: raise ` +
        `${SYSCTL[name] ?? "gc_thresh3"} (nslab up does for its own labs) or stop other labs`,
    );
  }
  return out;
}

/**
 * The causes a failing run can see, most telling first (pure).
 *
 * @example
 * ```ts
 * const causes = runCauses(results, facts); // ["neighbour table overflow: arp_cache refused …"]
 * ```
 */
export function runCauses(results: CheckResult[], facts: RunFacts): string[] {
  const out = overflowCauses(facts.before, facts.after);
  if (facts.missingNetns.length > 0) {
    const ns = facts.missingNetns;
    out.push(
      `namespace${ns.length > 1 ? "s" : ""} gone: ${ns.slice(0, 5).join(", ")}` +
        `${ns.length > 5 ? ` and ${ns.length - 5} more` : ""} (deleted, or the lab is half torn ` +
        `down): probes from there cannot run — "nslab down" then "nslab up" rebuilds the lab`,
    );
  }
  out.push(...facts.health);
  const refused = new Set(
    results.filter((r) => r.expectation.probe.kind === "dns" && r.observed.kind === "refused")
      .map((r) => r.expectation.source),
  );
  if (refused.size > 0) {
    out.push(
      `DNS refused in ${refused.size} container(s) (${[...refused].slice(0, 5).join(", ")}): ` +
        "nothing listens on 127.0.0.11:53 there — the supervisor or its DNS listener is down",
    );
  }
  const notRun =
    results.filter((r) => r.observed.kind === "error" && r.observed.message === NOT_RUN).length;
  if (notRun > 0) {
    out.push(
      `the run's deadline (${Math.round(facts.budgetMs / 1000)} s for its probes) passed: ` +
        `${notRun} check(s) not run — the lab is too slow to answer or mostly silent`,
    );
  }
  return out;
}
