/**
 * Neighbour capacity: the kernel's ARP and NDP tables are each ONE table for every namespace of
 * the machine, capped by `net.ipv{4,6}.neigh.default.gc_thresh3` (1024 by default). A check of a
 * 100-container network makes ~10,000 ARP entries at once; past the cap the kernel drops them
 * ("neighbor table overflow!") and probes time out. `up` therefore works out how many entries its
 * lab can need, raises the thresholds in the initial namespace where they are too low, and `down`
 * puts the previous values back when the last lab that needed them goes.
 *
 * Bookkeeping: each lab writes its need to `/run/nslab/<lab>/neighbours.json`; the values found
 * before nslab first raised anything are kept in `/run/nslab/neighbours.json`. Thresholds are
 * derived from the sum of the needs of every lab with a state directory, so a lab killed with -9
 * keeps its share until `nslab down` removes its state, and the last lab's `down` restores.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { STATE_ROOT, stateDir } from "./state.ts";
import { withAllocLock } from "./alloc.ts";
import { NetlinkHandle } from "../kernel/netlink/client.ts";
import { type NeighTable, neighTables } from "../kernel/netlink/ntable.ts";

/** The two neighbour tables nslab sizes. */
export type NeighFamily = "inet" | "inet6";
const FAMILIES: NeighFamily[] = ["inet", "inet6"];

/** gc_thresh1/2/3 of one table. */
export interface Thresholds {
  gc_thresh1: number;
  gc_thresh2: number;
  gc_thresh3: number;
}
const KEYS = ["gc_thresh1", "gc_thresh2", "gc_thresh3"] as const;

/** Entries a lab can need in each table. */
export type NeighbourNeed = Record<NeighFamily, number>;

/** One sysctl nslab changed: `net.ipv4.neigh.default.gc_thresh3 1024 → 11264`. */
export interface ThresholdChange {
  sysctl: string;
  old: number;
  new: number;
}

/** What a lab records in its state directory. */
export interface LabNeighbours {
  need: NeighbourNeed;
  /** What this lab's `up` changed (empty when the thresholds were high enough). */
  changes: ThresholdChange[];
}

/** Free entries below which the thresholds count as too low (the machine's own use, other labs). */
const MARGIN = 256;
/** Free entries a raise leaves above the labs' need: the kernel's default table, kept for others. */
const HEADROOM = 1024;

/**
 * The neighbour entries a lab can need at once, per table (pure). Every namespace with an address
 * on an L2 domain can learn every other one there: a domain of n addresses (containers, the
 * bridge's gateway, hosts on the underlay and the uplink) can hold n·(n−1) entries; an overlay
 * adds its permanent entries (each host: the endpoints of the other hosts). IPv6: each interface
 * with IPv6 on (every veth end, bridge, VXLAN device) holds ~2 multicast entries (routers, MLD),
 * and networks with `enable_ipv6` need the same matrix again.
 *
 * @example
 * ```ts
 * neighbourNeed(model); // { inet: 10100, inet6: 404 } for 100 containers on one bridge
 * ```
 */
export function neighbourNeed(model: Model): NeighbourNeed {
  const matrix = (n: number) => n * (n - 1);
  let inet = 0;
  let inet6 = 0;
  let interfaces = 0;
  for (const net of model.networks) {
    if (!net.hasSubnet) continue;
    const members = model.containers.filter((c) =>
      c.mode.kind === "own" && c.endpoints.some((e) => e.network === net.name)
    );
    const gateway = net.driver === "bridge" && !net.internal ? 1 : 0;
    const domains = net.scope === "global" || net.driver === "macvlan"
      ? [members.length + gateway * net.hosts.length]
      : net.hosts.map((h) => members.filter((c) => c.host === h).length + gateway);
    let need = domains.reduce((sum, n) => sum + matrix(n), 0);
    if (net.driver === "overlay") {
      for (const h of net.hosts) need += members.filter((c) => c.host !== h).length;
    }
    if (net.enableIpv4 !== false) inet += need;
    if (net.enableIpv6) inet6 += need;
    interfaces += members.length * (net.driver === "macvlan" ? 1 : 2) + net.hosts.length * 2;
  }
  const underlay = model.hosts.length + (model.underlay.uplink ? 1 : 0);
  inet += matrix(underlay);
  interfaces += model.hosts.length * 2 + 2;
  return { inet, inet6: inet6 + 2 * interfaces };
}

/**
 * The thresholds that hold `entries`: gc_thresh3 (the hard cap) is the entries plus a headroom of
 * 1024 (the kernel's default table, left to the machine and to other users), rounded up to 256;
 * gc_thresh2 and gc_thresh1 keep the kernel defaults' ratios (1/2 and 1/8).
 */
export function thresholdsFor(entries: number): Thresholds {
  const cap = Math.ceil((entries + HEADROOM) / 256) * 256;
  return { gc_thresh1: cap / 8, gc_thresh2: cap / 2, gc_thresh3: cap };
}

/**
 * What `base` must become for the labs' `entries` (pure): unchanged while they fit with a margin
 * of 256 under its gc_thresh3, else raised to {@link thresholdsFor} (never lowered below `base`).
 */
export function thresholdsNeeded(base: Thresholds, entries: number): Thresholds {
  return entries + MARGIN <= base.gc_thresh3 ? base : atLeast(base, thresholdsFor(entries));
}

/** Per key, the larger value. */
export function atLeast(a: Thresholds, b: Thresholds): Thresholds {
  return {
    gc_thresh1: Math.max(a.gc_thresh1, b.gc_thresh1),
    gc_thresh2: Math.max(a.gc_thresh2, b.gc_thresh2),
    gc_thresh3: Math.max(a.gc_thresh3, b.gc_thresh3),
  };
}

/** `net.ipv4.neigh.default.gc_thresh3` for a family and key. */
export function sysctlName(family: NeighFamily, key: keyof Thresholds): string {
  return `net.${family === "inet" ? "ipv4" : "ipv6"}.neigh.default.${key}`;
}

const sysctlPath = (family: NeighFamily, key: keyof Thresholds) =>
  `/proc/sys/${sysctlName(family, key).replaceAll(".", "/")}`;

/** The thresholds in force (read in the initial namespace, where they live). */
export function readThresholds(family: NeighFamily): Thresholds {
  const read = (k: keyof Thresholds) => Number(Deno.readTextFileSync(sysctlPath(family, k)).trim());
  return {
    gc_thresh1: read("gc_thresh1"),
    gc_thresh2: read("gc_thresh2"),
    gc_thresh3: read("gc_thresh3"),
  };
}

/** Writes the keys that differ; returns the changes. gc_thresh3 first when growing, last when shrinking. */
function writeThresholds(family: NeighFamily, from: Thresholds, to: Thresholds): ThresholdChange[] {
  const grow = to.gc_thresh3 >= from.gc_thresh3;
  const order = grow ? [...KEYS].reverse() : [...KEYS];
  const changes: ThresholdChange[] = [];
  for (const k of order) {
    if (from[k] === to[k]) continue;
    Deno.writeTextFileSync(sysctlPath(family, k), `${to[k]}\n`);
    changes.push({ sysctl: sysctlName(family, k), old: from[k], new: to[k] });
  }
  return changes.sort((a, b) => a.sysctl.localeCompare(b.sysctl));
}

/** The machine-wide record of what nslab changed. */
interface MachineRecord {
  /** The values before nslab raised anything. */
  original: Record<NeighFamily, Thresholds>;
  /** The values nslab set last. */
  set: Record<NeighFamily, Thresholds>;
}

const MACHINE_FILE = `${STATE_ROOT}/neighbours.json`;
const LAB_FILE = "neighbours.json";

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch {
    return null;
  }
}

/** What a lab recorded (its need, and what its `up` changed), or null. */
export function readLabNeighbours(lab: string): LabNeighbours | null {
  return readJson<LabNeighbours>(`${stateDir(lab)}/${LAB_FILE}`);
}

/** The sum of the needs of every lab with a state directory. */
function totalNeed(): NeighbourNeed {
  const total: NeighbourNeed = { inet: 0, inet6: 0 };
  for (const { need } of listLabNeeds()) for (const f of FAMILIES) total[f] += need[f] ?? 0;
  return total;
}

function writeMachineRecord(rec: MachineRecord | null): void {
  if (rec === null) {
    try {
      Deno.removeSync(MACHINE_FILE);
    } catch { /* none */ }
    return;
  }
  const tmp = `${MACHINE_FILE}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  Deno.renameSync(tmp, MACHINE_FILE);
}

/**
 * Records the lab's need and raises the thresholds that are too low for every lab now up
 * (machine-wide lock held). Returns what changed; the lab's record keeps it too.
 */
export async function reserveNeighbours(lab: string, model: Model): Promise<ThresholdChange[]> {
  return await withAllocLock(() => {
    const need = neighbourNeed(model);
    const mine: LabNeighbours = { need, changes: [] };
    Deno.writeTextFileSync(`${stateDir(lab)}/${LAB_FILE}`, JSON.stringify(mine), { mode: 0o600 });
    const total = totalNeed();
    const rec = readJson<MachineRecord>(MACHINE_FILE);
    const next: MachineRecord = rec ?? { original: {}, set: {} } as MachineRecord;
    for (const f of FAMILIES) {
      const now = readThresholds(f);
      const wanted = thresholdsNeeded(now, total[f]);
      next.original[f] ??= now;
      next.set[f] = wanted;
      mine.changes.push(...writeThresholds(f, now, wanted));
    }
    if (mine.changes.length > 0 || rec) writeMachineRecord(next);
    Deno.writeTextFileSync(`${stateDir(lab)}/${LAB_FILE}`, JSON.stringify(mine), { mode: 0o600 });
    return mine.changes;
  });
}

/**
 * After a lab's state is gone: lowers the thresholds to what the labs still up need, and back to
 * the values found before nslab raised them when no lab needs more. A value someone changed by
 * hand since nslab set it is left alone. Returns what changed.
 */
export async function releaseNeighbours(): Promise<ThresholdChange[]> {
  if (readJson<MachineRecord>(MACHINE_FILE) === null) return [];
  return await withAllocLock(() => {
    const rec = readJson<MachineRecord>(MACHINE_FILE);
    if (!rec) return [];
    const total = totalNeed();
    const changes: ThresholdChange[] = [];
    let restored = true;
    for (const f of FAMILIES) {
      const original = rec.original[f];
      if (!original) continue;
      const now = readThresholds(f);
      const wanted = thresholdsNeeded(original, total[f]);
      // Keys still holding what nslab set are ours to change; one changed by hand is not.
      const ours = KEYS.filter((k) => now[k] === rec.set[f]?.[k]);
      const next = { ...now };
      for (const k of ours) next[k] = wanted[k];
      changes.push(...writeThresholds(f, now, next));
      if (ours.some((k) => next[k] !== original[k])) restored = false;
      rec.set[f] = next;
    }
    writeMachineRecord(restored ? null : rec);
    return changes;
  });
}

/** The machine-wide record, for `nslab doctor`: what nslab raised and from what. */
export function neighbourRecord(): { original: Record<NeighFamily, Thresholds> } | null {
  return readJson<MachineRecord>(MACHINE_FILE);
}

/** `net.ipv4.neigh.default.gc_thresh3 1024 → 11264`, one per change. */
export function formatChanges(changes: ThresholdChange[]): string[] {
  return changes.map((c) => `${c.sysctl} ${c.old} → ${c.new}`);
}

/**
 * Lines for `nslab doctor`: each table's entries, thresholds and overflow count, what nslab raised
 * (from which values) and which labs need how many entries.
 */
export function neighbourReport(): string[] {
  const h = new NetlinkHandle("", { probe: true });
  let tables: NeighTable[];
  try {
    tables = neighTables(h);
  } finally {
    h.close();
  }
  const rec = readJson<MachineRecord>(MACHINE_FILE);
  const out: string[] = [];
  for (const t of tables) {
    const f = t.family;
    const was = rec?.original[f];
    const raised = was && KEYS.some((k) => was[k] !== t[k.replace("gc_", "") as "thresh1"])
      ? `, raised by nslab from ${was.gc_thresh1}/${was.gc_thresh2}/${was.gc_thresh3}`
      : "";
    out.push(
      `neighbour table ${t.name}: ${t.entries} entries, gc_thresh1/2/3 ` +
        `${t.thresh1}/${t.thresh2}/${t.thresh3}${raised}, table_fulls ${t.tableFulls}` +
        (t.tableFulls > 0n ? " (the table overflowed since boot: see dmesg)" : ""),
    );
  }
  for (const lab of listLabNeeds()) {
    out.push(`  lab ${lab.lab} can need ${lab.need.inet} ARP and ${lab.need.inet6} NDP entries`);
  }
  return out;
}

/** Every lab that recorded a need. */
function listLabNeeds(): { lab: string; need: NeighbourNeed }[] {
  const out: { lab: string; need: NeighbourNeed }[] = [];
  try {
    for (const d of Deno.readDirSync(STATE_ROOT)) {
      if (!d.isDirectory) continue;
      const rec = readJson<LabNeighbours>(`${STATE_ROOT}/${d.name}/${LAB_FILE}`);
      if (rec?.need) out.push({ lab: d.name, need: rec.need });
    }
  } catch { /* no labs */ }
  return out.sort((a, b) => a.lab.localeCompare(b.lab));
}
