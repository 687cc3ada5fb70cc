/**
 * Answering one DNS question for one requesting container from the record table
 * (`records.ts`), as Docker's resolver does: scoping by the requester's networks, `<name>.<network>`,
 * NXDOMAIN for lab names it cannot see, forwarding for names outside the lab; and round robin
 * ({@link rotate}). Pure.
 *
 * @module
 */

import {
  type Answer,
  type LookupResult,
  normalizeName,
  QTYPES,
  type Rcode,
  type RecordTable,
  reverseToAddress,
} from "./records.ts";
import { reverse6In } from "./reverse6.ts";

function typeNumber(qtype: number | string): number | null {
  if (typeof qtype === "number") {
    return Number.isInteger(qtype) && qtype >= 0 && qtype <= 0xffff ? qtype : null;
  }
  const t = qtype.toUpperCase();
  if (t in QTYPES) return QTYPES[t as keyof typeof QTYPES];
  const m = /^TYPE(\d{1,5})$/.exec(t);
  return m ? typeNumber(Number(m[1])) : null;
}

/**
 * Records of `name` from the FIRST of `networks` that knows it, as Docker's resolver answers: it
 * walks the requester's endpoints in `dockerOrder` (`records.ts`) and stops at the first network with the
 * name (moby `Sandbox.ResolveName` / `ResolveIP`). A container sharing two networks with the
 * requester therefore resolves to its address on one of them. `found`: the name exists there.
 */
function collect(
  table: RecordTable,
  networks: string[],
  name: string,
  qtype: number,
): { found: boolean; answers: Answer[]; additional: Answer[] } {
  const answers: Answer[] = [];
  const additional: Answer[] = [];
  const ttl = table.ttl;
  const recs = networks.map((n) => table.networks.get(n)).find((r) =>
    r !== undefined && (r.a.has(name) || r.aaaa.has(name) || r.ptr.has(name) || r.srv.has(name))
  );
  if (recs === undefined) return { found: false, answers, additional };
  if (qtype === QTYPES.A || qtype === QTYPES.ANY) {
    for (const address of recs.a.get(name) ?? []) answers.push({ type: "A", name, ttl, address });
  }
  if (qtype === QTYPES.AAAA || qtype === QTYPES.ANY) {
    for (const address of recs.aaaa.get(name) ?? []) {
      answers.push({ type: "AAAA", name, ttl, address });
    }
  }
  const target = recs.ptr.get(name);
  if (target !== undefined && (qtype === QTYPES.PTR || qtype === QTYPES.ANY)) {
    answers.push({ type: "PTR", name, ttl, target });
  }
  if (qtype === QTYPES.SRV || qtype === QTYPES.ANY) {
    const srvs = recs.srv.get(name) ?? [];
    for (const srv of srvs) answers.push({ type: "SRV", name, ttl, srv });
    // Glue: the addresses of the SRV targets, on the same network.
    for (const t of new Set(srvs.map((x) => x.target))) {
      for (const address of recs.a.get(t) ?? []) {
        additional.push({ type: "A", name: t, ttl, address });
      }
    }
  }
  return { found: true, answers, additional };
}

/** true when `name` belongs to the lab (on any network), so it must never be forwarded. */
function inLab(table: RecordTable, name: string): boolean {
  if (table.labNames.has(name)) return true;
  for (const recs of table.networks.values()) {
    const n = recs.network.toLowerCase();
    if (name === n || name.endsWith(`.${n}`)) return true;
  }
  const addr = reverseToAddress(name);
  if (addr !== null) {
    for (const recs of table.networks.values()) {
      if (recs.subnet !== null && ((addr & recs.subnet[1]) >>> 0) === recs.subnet[0]) return true;
    }
  }
  for (const recs of table.networks.values()) {
    if (recs.subnet6 !== null && reverse6In(name, recs.subnet6)) return true;
  }
  return false;
}

function result(rcode: Rcode, answers: Answer[] = [], additional: Answer[] = []): LookupResult {
  return additional.length > 0
    ? { rcode, answers, additional, forward: false }
    : { rcode, answers, forward: false };
}

/**
 * Answers one question for one requesting container. Pure: answers come in a stable order
 * (use {@link rotate} for round robin).
 *
 * - Names are case-insensitive and may end with a dot.
 * - A known name with no record of the asked type (AAAA, MX, TXT, …) is an empty NOERROR.
 * - `<name>.<network>` resolves `<name>` on that network only (when the requester is on it).
 * - A lab name the requester cannot see is NXDOMAIN; a name outside the lab is forwarded when the
 *   table has upstream servers and the requester has a non-internal network, else NXDOMAIN.
 * - Requesters with no DNS (`none`, `host`, unknown) are REFUSED; zone transfers are NOTIMP.
 *
 * @example
 * ```ts
 * lookup(table, "web", "API.", "A").answers.map((a) => a.type === "A" && a.address);
 * ```
 */
export function lookup(
  table: RecordTable,
  requester: string,
  qname: string,
  qtype: number | string,
): LookupResult {
  const view = table.requesters.get(requester);
  if (view === undefined) return result("REFUSED");
  const type = typeNumber(qtype);
  if (type === null || type === QTYPES.AXFR || type === QTYPES.IXFR || type === QTYPES.OPT) {
    return result("NOTIMP");
  }
  const name = normalizeName(qname);
  const linked = view.links?.[name];
  if (linked !== undefined) {
    const a = type === QTYPES.A || type === QTYPES.ANY;
    return result(
      "NOERROR",
      a ? linked.map((address) => ({ type: "A" as const, name, ttl: table.ttl, address })) : [],
    );
  }
  const direct = collect(table, view.networks, name, type);
  if (direct.found) return result("NOERROR", direct.answers, direct.additional);
  const dot = name.lastIndexOf(".");
  if (dot > 0) {
    const network = name.slice(dot + 1);
    const short = name.slice(0, dot);
    const match = view.networks.find((n) =>
      (table.networks.get(n)?.network ?? n).toLowerCase() === network
    );
    if (match !== undefined) {
      const scoped = collect(table, [match], short, type);
      if (scoped.found) {
        const renamed = scoped.answers.map((a) => ({ ...a, name }));
        return result("NOERROR", renamed, scoped.additional);
      }
    }
  }
  if (inLab(table, name)) return result("NXDOMAIN");
  const upstream = view.upstream ?? table.upstream;
  if (upstream.length > 0 && view.canForward) {
    return { rcode: "NOERROR", answers: [], forward: true, ...(view.upstream ? { upstream } : {}) };
  }
  return result("NXDOMAIN");
}

/**
 * Round robin: the A records of `answers` rotated left by `turn`, and the AAAA records likewise
 * (other records keep their place). `rotate(a, 0)` is `a`; successive turns give every address
 * first in turn.
 */
export function rotate(answers: Answer[], turn: number): Answer[] {
  let out = answers;
  for (const type of ["A", "AAAA"] as const) {
    const idx: number[] = [];
    answers.forEach((a, i) => {
      if (a.type === type) idx.push(i);
    });
    if (idx.length < 2) continue;
    const shift = ((turn % idx.length) + idx.length) % idx.length;
    if (shift === 0) continue;
    if (out === answers) out = answers.slice();
    for (let k = 0; k < idx.length; k++) out[idx[k]] = answers[idx[(k + shift) % idx.length]];
  }
  return out;
}
