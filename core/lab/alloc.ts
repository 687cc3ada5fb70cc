/**
 * Choosing a lab's underlay subnet safely when several `up`s run at once. The loader picks the
 * first free 10.77.X.0/24 from the machine's routes and the underlays other labs recorded; two
 * loads running at the same instant can still pick the same one. `up` therefore re-checks its
 * choice and records its state under one machine-wide lock (an exclusive `flock` on the
 * `/run/nslab` directory — no lock file is left behind), and re-resolves the topology when the
 * subnet was taken in between. The state file written under the lock is the reservation.
 *
 * @module
 */

import { formatCidr, overlaps, parseCidr } from "../model/ip.ts";
import { readMachineRoutes } from "../kernel/routes.ts";
import type { Model } from "../model/types.ts";
import type { MachineView } from "../model/load.ts";
import { listStateDirs, readUnderlay, STATE_ROOT } from "./state.ts";
import { readSharedNetworks } from "./shared.ts";

/**
 * What the loader must know about this machine now: its routes and the underlays labs recorded.
 *
 * @example
 * ```ts
 * const { model } = loadTopology({ file, text }, { machine: readMachine() });
 * ```
 */
export function readMachine(): MachineView {
  return {
    routes: readMachineRoutes(),
    underlays: recordedUnderlays(""),
    networks: readSharedNetworks(),
  };
}

/**
 * Runs `fn` holding the machine-wide allocation lock (like `flock /run/nslab CMD`). Waits for
 * other holders; the lock is released when `fn` settles, or by the kernel when the process dies.
 *
 * @example
 * ```ts
 * const state = await withAllocLock(() => { writeState(s); return s; });
 * ```
 */
export async function withAllocLock<T>(fn: () => T | Promise<T>): Promise<T> {
  Deno.mkdirSync(STATE_ROOT, { recursive: true, mode: 0o755 });
  const dir = await Deno.open(STATE_ROOT, { read: true });
  try {
    await dir.lock(true);
    return await fn();
  } finally {
    dir.close(); // closing the descriptor drops the flock
  }
}

/**
 * The underlay subnets of the other labs recorded on this machine that have an uplink (their
 * subnet is routed, or about to be, in the root namespace). Unreadable states are skipped.
 */
export function recordedUnderlays(exceptLab: string): { lab: string; subnet: string }[] {
  const out: { lab: string; subnet: string }[] = [];
  for (const lab of listStateDirs()) {
    if (lab === exceptLab) continue;
    try {
      const u = readUnderlay(lab);
      if (u?.uplink && typeof u.subnet === "string") out.push({ lab, subnet: u.subnet });
    } catch { /* a state being written or a foreign directory: not a reservation */ }
  }
  return out;
}

/**
 * Why the model's uplinked underlay can no longer be used (another lab recorded it, or the
 * machine routes it through an interface that is not this lab's uplink), or null when it is free
 * or the lab has no uplink.
 */
export function underlayTaken(model: Model): string | null {
  const u = model.underlay;
  if (!u.uplink) return null;
  const mine = parseCidr(u.subnet);
  if (!mine.ok) return null;
  for (const r of recordedUnderlays(model.lab)) {
    const theirs = parseCidr(r.subnet);
    if (theirs.ok && overlaps(mine.cidr, theirs.cidr)) return `lab "${r.lab}" uses ${r.subnet}`;
  }
  for (const r of readMachineRoutes()) {
    if (r.iface === u.uplink.rootIfname) continue;
    const route = parseCidr(r.cidr);
    if (route.ok && overlaps(mine.cidr, route.cidr)) {
      return `the machine routes ${formatCidr(route.cidr)} via ${r.iface}`;
    }
  }
  return null;
}
