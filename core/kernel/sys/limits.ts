/**
 * The process's open-file limit (`RLIMIT_NOFILE`): every socket nslab serves a lab with is a file
 * descriptor, and a lab of thousands of containers needs tens of thousands of them. Root may raise
 * the limit up to the kernel's ceiling, `fs.nr_open` (given CAP_SYS_RESOURCE, which a container or a
 * VM's root may lack: then the hard limit is the ceiling); past that a lab is refused with the
 * numbers.
 *
 * @module
 */

import { NslabError } from "../../errors.ts";
import { check, libc, RLIMIT_NOFILE } from "./ffi.ts";

/** Descriptors a process keeps beside a lab's own (runtime threads, stdio, logs, connections). */
export const BASE_DESCRIPTORS = 256;

/** The soft and hard open-file limits of this process. */
export interface FileLimit {
  soft: number;
  hard: number;
}

/** This process's open-file limit. Equivalent to: `ulimit -Sn; ulimit -Hn`. */
export function openFileLimit(): FileLimit {
  const buf = new BigUint64Array(2);
  check("getrlimit", libc().getrlimit(RLIMIT_NOFILE, buf), "RLIMIT_NOFILE");
  return { soft: clamp(buf[0]), hard: clamp(buf[1]) };
}

/** RLIM_INFINITY and other huge values as a safe number. */
function clamp(v: bigint): number {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/**
 * The highest open-file limit this process may set: the kernel's ceiling (`fs.nr_open`) when it
 * holds CAP_SYS_RESOURCE (root normally does; a container or a VM may drop it), else its current
 * hard limit, which only that capability can raise.
 */
export function openFileCeiling(): number {
  return canRaiseHardLimit() ? nrOpen() : openFileLimit().hard;
}

/** `/proc/sys/fs/nr_open`, the ceiling of every process's open-file limit. */
function nrOpen(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/sys/fs/nr_open").trim()) || 1_048_576;
  } catch {
    return 1_048_576;
  }
}

const CAP_SYS_RESOURCE = 24;

/** Whether this process's effective capabilities include CAP_SYS_RESOURCE. */
function canRaiseHardLimit(): boolean {
  const hex = /CapEff:\s*([0-9a-f]+)/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
  return hex !== undefined && ((BigInt(`0x${hex}`) >> BigInt(CAP_SYS_RESOURCE)) & 1n) === 1n;
}

/** Descriptors this process has open now (the entries of `/proc/self/fd`). */
export function openDescriptors(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

/**
 * What `need` more descriptors (on top of those open now) take: the limit to set, and whether
 * the machine allows it. Pure, so the refusal text is tested without root.
 */
export function planFileLimit(
  need: number,
  open: number,
  limit: FileLimit,
  ceiling: number,
): { target: number; fits: boolean } {
  const target = open + need + BASE_DESCRIPTORS;
  return { target, fits: target <= Math.max(limit.soft, ceiling) };
}

/**
 * Makes room for `need` more open descriptors in this process: raises the soft limit, and the hard
 * one when it is too low and the process may ({@link openFileCeiling}). Throws an
 * {@link NslabError} naming the numbers when even the ceiling is too low. `what` says who needs them, for that message.
 * Equivalent to: `prlimit --pid $$ --nofile=N:N`.
 */
export function ensureOpenFiles(need: number, what: string): FileLimit {
  const limit = openFileLimit();
  const ceiling = openFileCeiling();
  const { target, fits } = planFileLimit(need, openDescriptors(), limit, ceiling);
  if (!fits) throw new NslabError(tooManyFiles(what, target, limit, ceiling));
  if (target <= limit.soft) return limit;
  const next = { soft: target, hard: Math.max(limit.hard, target) };
  const rc = libc().setrlimit(
    RLIMIT_NOFILE,
    new BigUint64Array([BigInt(next.soft), BigInt(next.hard)]),
  );
  if (rc < 0) throw new NslabError(tooManyFiles(what, target, limit, ceiling));
  return next;
}

/** The refusal: who needs how many descriptors, what the machine allows and the fix. */
export function tooManyFiles(
  what: string,
  target: number,
  limit: FileLimit,
  ceiling: number,
): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `Cannot open the ${n(target)} files ${what} needs: this process may open ` +
    `${n(limit.soft)}, and at most ${n(ceiling)} (hard limit ${
      n(limit.hard)
    }; above it only with ` +
    `CAP_SYS_RESOURCE, up to fs.nr_open); start nslab with a higher limit (ulimit -n ` +
    `${n(target).replaceAll(",", "")}, systemd LimitNOFILE=), or split the lab over machines ` +
    `(nslab up --only-host)`;
}
