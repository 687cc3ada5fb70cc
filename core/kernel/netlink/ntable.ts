/**
 * Neighbour tables (`ip ntable`): the kernel's ARP (`arp_cache`) and NDP (`ndisc_cache`) tables,
 * their garbage-collection thresholds, how many entries they hold, and how often an entry could
 * not be made because the table was full (`table_fulls`, the counter behind dmesg's
 * "neighbor table overflow!"). Each table is one table for every namespace of the machine.
 *
 * @module
 */

import { AF_INET, AF_INET6, NLM_F_DUMP } from "./constants.ts";
import { align4 } from "./codec.ts";
import type { NetlinkHandle } from "./client.ts";

/** `RTM_GETNEIGHTBL` / `RTM_NEWNEIGHTBL`: neighbour table messages (`struct ndtmsg` + NDTA_*). */
export const RTM_NEWNEIGHTBL = 64;
export const RTM_GETNEIGHTBL = 66;
const NDTA_NAME = 1;
const NDTA_THRESH1 = 2;
const NDTA_THRESH2 = 3;
const NDTA_THRESH3 = 4;
const NDTA_CONFIG = 5;
const NDTA_STATS = 7;
/** Offsets in `struct ndt_config` and `struct ndt_stats` (all fields native-endian). */
const CONFIG_ENTRIES = 4;
const STATS_FORCED_GC_RUNS = 72;
const STATS_TABLE_FULLS = 80;

/** One neighbour table, as `ip -s ntable show name arp_cache` prints its first block. */
export interface NeighTable {
  /** `arp_cache` (IPv4) or `ndisc_cache` (IPv6). */
  name: string;
  family: "inet" | "inet6";
  thresh1: number;
  thresh2: number;
  thresh3: number;
  /** Entries in the table now, over every namespace. */
  entries: number;
  /** Times an entry could not be made because the table was full (since boot). */
  tableFulls: bigint;
  /** Forced garbage collections (the table was above gc_thresh2 or gc_thresh3). */
  forcedGcRuns: bigint;
}

/**
 * Decodes the table-wide `RTM_NEWNEIGHTBL` messages of a dump (the body after the netlink header);
 * per-device parameter messages (no thresholds) give null.
 */
export function decodeNeighTable(body: Uint8Array): NeighTable | null {
  if (body.length < 4) return null;
  const family = body[0] === AF_INET ? "inet" : body[0] === AF_INET6 ? "inet6" : null;
  if (family === null) return null;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const t: Partial<NeighTable> & { family: NeighTable["family"] } = { family };
  for (let off = 4; off + 4 <= body.length;) {
    const len = dv.getUint16(off, true);
    const type = dv.getUint16(off + 2, true) & 0x3fff;
    if (len < 4 || off + len > body.length) break;
    const at = off + 4;
    const payload = body.subarray(at, off + len);
    if (type === NDTA_NAME) t.name = new TextDecoder().decode(payload).replace(/\0.*$/s, "");
    else if (type === NDTA_THRESH1) t.thresh1 = dv.getUint32(at, true);
    else if (type === NDTA_THRESH2) t.thresh2 = dv.getUint32(at, true);
    else if (type === NDTA_THRESH3) t.thresh3 = dv.getUint32(at, true);
    else if (type === NDTA_CONFIG && len >= 4 + CONFIG_ENTRIES + 4) {
      t.entries = dv.getUint32(at + CONFIG_ENTRIES, true);
    } else if (type === NDTA_STATS && len >= 4 + STATS_TABLE_FULLS + 8) {
      t.tableFulls = dv.getBigUint64(at + STATS_TABLE_FULLS, true);
      t.forcedGcRuns = dv.getBigUint64(at + STATS_FORCED_GC_RUNS, true);
    }
    off += align4(len);
  }
  if (t.name === undefined || t.thresh3 === undefined || t.tableFulls === undefined) return null;
  return {
    name: t.name,
    family,
    thresh1: t.thresh1 ?? 0,
    thresh2: t.thresh2 ?? 0,
    thresh3: t.thresh3,
    entries: t.entries ?? 0,
    tableFulls: t.tableFulls,
    forcedGcRuns: t.forcedGcRuns ?? 0n,
  };
}

/**
 * The machine's neighbour tables (ARP and NDP). Equivalent to: `ip -s ntable show`.
 *
 * @example
 * ```ts
 * const arp = neighTables(handleFor("")).find((t) => t.name === "arp_cache");
 * console.log(arp?.entries, arp?.tableFulls);
 * ```
 */
export function neighTables(h: NetlinkHandle): NeighTable[] {
  const out: NeighTable[] = [];
  for (const family of [AF_INET, AF_INET6]) {
    const msgs = h.query(RTM_GETNEIGHTBL, NLM_F_DUMP, {
      kind: "raw",
      bytes: new Uint8Array([family, 0, 0, 0]),
    }, { op: "dump", object: "neighbour table", target: family === AF_INET ? "inet" : "inet6" });
    for (const m of msgs) {
      if (m.header.type !== RTM_NEWNEIGHTBL || m.body.kind !== "raw") continue;
      const t = decodeNeighTable(m.body.bytes);
      // A dump that spans several reads (many devices' parameter messages) repeats the table's
      // own message at the start of each read: keep one per table, the newest.
      const seen = t && out.findIndex((o) => o.family === t.family && o.name === t.name);
      if (t && seen !== null && seen >= 0) out[seen] = t;
      else if (t) out.push(t);
    }
  }
  return out;
}
