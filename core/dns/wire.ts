/**
 * DNS wire format, just what the embedded server needs (RFC 1035, RFC 6891 EDNS): parse one
 * query, encode one authoritative response. Hand-rolled rather than `dns-packet` because the
 * server parses every packet on its hot path and must reject hostile input without throwing.
 *
 * Pure: no I/O. Nothing here throws on bad input; failures are values.
 *
 * @module
 */

import type { Answer } from "./records.ts";
import { parseIp6 } from "../model/ip6.ts";

/** Response codes on the wire. BADVERS (16) needs EDNS (its upper bits live in the OPT record). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

/** Largest UDP payload nslab advertises and sends (loopback never fragments). */
export const MAX_UDP_PAYLOAD = 4096;

/** Classic UDP limit without EDNS. */
export const CLASSIC_UDP_PAYLOAD = 512;

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_PTR = 12;
const TYPE_SRV = 33;
const TYPE_OPT = 41;
const CLASS_IN = 1;

/** EDNS(0) data of a query. */
export interface Edns {
  /** Requester's UDP payload size. */
  udpSize: number;
  version: number;
  /** DNSSEC OK bit. */
  dnssecOk: boolean;
}

/** A parsed standard query with one question. */
export interface Query {
  id: number;
  /** RD bit of the query (copied into the response). */
  rd: boolean;
  /** CD bit of the query. */
  cd: boolean;
  /** Lower case, dotted, no trailing dot; `""` for the root. Odd bytes are `\ddd` escaped. */
  qname: string;
  qtype: number;
  qclass: number;
  /** End of the question section in the packet (the question is bytes 12..questionEnd). */
  questionEnd: number;
  edns: Edns | null;
}

/** Why a packet is not a query we answer normally. */
export type ParseFailure =
  /** Too short to answer, or a response (QR set): send nothing. */
  | { kind: "drop"; reason: string }
  /** Answer with a bare header carrying `rcode` (FORMERR, NOTIMP). */
  | { kind: "error"; rcode: number; id: number; opcode: number; rd: boolean; reason: string };

/** Result of {@link parseQuery}. */
export type ParseResult = { kind: "query"; query: Query } | ParseFailure;

function fail(p: Uint8Array, rcode: number, reason: string): ParseFailure {
  return {
    kind: "error",
    rcode,
    id: (p[0] << 8) | p[1],
    opcode: (p[2] >> 3) & 0x0f,
    rd: (p[2] & 1) === 1,
    reason,
  };
}

/** Reads an uncompressed name at `off`; returns [name, next offset] or null when malformed. */
function readQuestionName(p: Uint8Array, off: number): [string, number] | null {
  let name = "";
  let wire = 0;
  for (;;) {
    if (off >= p.length) return null;
    const len = p[off];
    if (len === 0) return [name, off + 1];
    // 0xC0: compression pointer (nothing to point back to in a question); 0x40/0x80: reserved.
    if (len > 63) return null;
    wire += len + 1;
    if (wire > 254) return null;
    if (off + 1 + len > p.length) return null;
    if (name.length > 0) name += ".";
    for (let i = off + 1; i <= off + len; i++) {
      let c = p[i];
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) name += String.fromCharCode(c);
      else name += "\\" + String(c).padStart(3, "0");
    }
    off += len + 1;
  }
}

/** Skips a (possibly compressed) name in a resource record; returns the next offset or -1. */
function skipName(p: Uint8Array, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= p.length) return -1;
    const len = p[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= p.length ? off + 2 : -1;
    if (len > 63) return -1;
    off += len + 1;
  }
  return -1;
}

/**
 * Parses a DNS query. Never throws: malformed input gives a {@link ParseFailure}.
 *
 * @example
 * ```ts
 * const r = parseQuery(packet);
 * if (r.kind === "query") console.log(r.query.qname, r.query.qtype);
 * ```
 */
export function parseQuery(p: Uint8Array): ParseResult {
  if (p.length < 12) return { kind: "drop", reason: "shorter than a DNS header" };
  if ((p[2] & 0x80) !== 0) return { kind: "drop", reason: "a response, not a query" };
  const opcode = (p[2] >> 3) & 0x0f;
  if (opcode !== 0) return fail(p, RCODE.NOTIMP, `opcode ${opcode} is not supported`);
  const qd = (p[4] << 8) | p[5];
  const an = (p[6] << 8) | p[7];
  const ns = (p[8] << 8) | p[9];
  const ar = (p[10] << 8) | p[11];
  if (qd !== 1) return fail(p, RCODE.FORMERR, `${qd} questions (exactly 1 is supported)`);
  if (an !== 0 || ns !== 0) return fail(p, RCODE.FORMERR, "answer or authority records in a query");
  const nameRes = readQuestionName(p, 12);
  if (nameRes === null) return fail(p, RCODE.FORMERR, "malformed question name");
  let off = nameRes[1];
  if (off + 4 > p.length) return fail(p, RCODE.FORMERR, "question truncated");
  const qtype = (p[off] << 8) | p[off + 1];
  const qclass = (p[off + 2] << 8) | p[off + 3];
  off += 4;
  const questionEnd = off;
  let edns: Edns | null = null;
  for (let i = 0; i < ar; i++) {
    const nameEnd = skipName(p, off);
    if (nameEnd < 0 || nameEnd + 10 > p.length) {
      return fail(p, RCODE.FORMERR, "malformed additional record");
    }
    const type = (p[nameEnd] << 8) | p[nameEnd + 1];
    const rdlen = (p[nameEnd + 8] << 8) | p[nameEnd + 9];
    const next = nameEnd + 10 + rdlen;
    if (next > p.length) return fail(p, RCODE.FORMERR, "additional record overruns the packet");
    if (type === TYPE_OPT) {
      if (edns !== null || nameEnd !== off + 1 || p[off] !== 0) {
        return fail(p, RCODE.FORMERR, "more than one OPT record, or OPT with a non-root name");
      }
      edns = {
        udpSize: (p[nameEnd + 2] << 8) | p[nameEnd + 3],
        version: p[nameEnd + 5],
        dnssecOk: (p[nameEnd + 6] & 0x80) !== 0,
      };
    }
    off = next;
  }
  return {
    kind: "query",
    query: {
      id: (p[0] << 8) | p[1],
      rd: (p[2] & 1) === 1,
      cd: (p[3] & 0x10) !== 0,
      qname: nameRes[0],
      qtype,
      qclass,
      questionEnd,
      edns,
    },
  };
}

/** The most bytes a UDP response to `q` may have (512 without EDNS). */
export function udpLimit(q: Query): number {
  if (q.edns === null) return CLASSIC_UDP_PAYLOAD;
  return Math.min(Math.max(q.edns.udpSize, CLASSIC_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
}

/** Wire length of a dotted name written without compression. */
function nameLength(name: string): number {
  return name === "" ? 1 : name.length + 2;
}

function writeName(buf: Uint8Array, off: number, name: string): number {
  if (name === "") {
    buf[off] = 0;
    return off + 1;
  }
  for (const label of name.split(".")) {
    const n = Math.min(label.length, 63);
    buf[off++] = n;
    for (let i = 0; i < n; i++) buf[off++] = label.charCodeAt(i) & 0xff;
  }
  buf[off++] = 0;
  return off;
}

function rdataLength(a: Answer): number {
  switch (a.type) {
    case "A":
      return 4;
    case "AAAA":
      return 16;
    case "PTR":
      return nameLength(a.target);
    case "SRV":
      return 6 + nameLength(a.srv.target);
  }
}

function writeU16(buf: Uint8Array, off: number, v: number): number {
  buf[off] = (v >> 8) & 0xff;
  buf[off + 1] = v & 0xff;
  return off + 2;
}

function writeU32(buf: Uint8Array, off: number, v: number): number {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
  return off + 4;
}

function writeHeader(
  buf: Uint8Array,
  id: number,
  opcode: number,
  opts: { aa: boolean; tc: boolean; rd: boolean; cd?: boolean; rcode: number },
  counts: [number, number, number, number],
): void {
  writeU16(buf, 0, id);
  buf[2] = 0x80 | ((opcode & 0x0f) << 3) | (opts.aa ? 4 : 0) | (opts.tc ? 2 : 0) |
    (opts.rd ? 1 : 0);
  buf[3] = 0x80 | (opts.cd ? 0x10 : 0) | (opts.rcode & 0x0f);
  writeU16(buf, 4, counts[0]);
  writeU16(buf, 6, counts[1]);
  writeU16(buf, 8, counts[2]);
  writeU16(buf, 10, counts[3]);
}

const OPT_LENGTH = 11;

function writeOpt(buf: Uint8Array, off: number, rcode: number): number {
  buf[off++] = 0;
  off = writeU16(buf, off, TYPE_OPT);
  off = writeU16(buf, off, MAX_UDP_PAYLOAD);
  buf[off++] = (rcode >> 4) & 0xff; // extended rcode, upper 8 bits
  buf[off++] = 0; // version
  off = writeU16(buf, off, 0); // flags
  return writeU16(buf, off, 0); // rdlen
}

/**
 * Encodes the authoritative response to `q` (AA and RA set, RD and CD copied, the question
 * echoed byte for byte from `packet`). Answer records whose name is the question name point back
 * at it; glue names point at the SRV target they belong to. When the response would exceed
 * `maxSize` it is sent without records and with TC set, so the client retries over TCP.
 */
export function encodeResponse(
  q: Query,
  packet: Uint8Array,
  rcode: number,
  answers: readonly Answer[],
  additional: readonly Answer[] = [],
  maxSize = 0xffff,
): Uint8Array {
  const question = packet.subarray(12, q.questionEnd);
  const optLen = q.edns === null ? 0 : OPT_LENGTH;
  let size = 12 + question.length + optLen;
  for (const a of answers) size += 12 + rdataLength(a);
  for (const a of additional) size += 10 + rdataLength(a) + nameLength(a.name);
  if (size > maxSize) {
    const buf = new Uint8Array(12 + question.length + optLen);
    writeHeader(buf, q.id, 0, { aa: true, tc: true, rd: q.rd, cd: q.cd, rcode }, [
      1,
      0,
      0,
      optLen > 0 ? 1 : 0,
    ]);
    buf.set(question, 12);
    if (optLen > 0) writeOpt(buf, 12 + question.length, rcode);
    return buf;
  }
  const buf = new Uint8Array(size);
  writeHeader(buf, q.id, 0, { aa: true, tc: false, rd: q.rd, cd: q.cd, rcode }, [
    1,
    answers.length,
    0,
    additional.length + (optLen > 0 ? 1 : 0),
  ]);
  buf.set(question, 12);
  let off = 12 + question.length;
  const targets = new Map<string, number>();
  for (const a of answers) {
    if (a.name === q.qname) {
      buf[off++] = 0xc0;
      buf[off++] = 12;
    } else off = writeName(buf, off, a.name);
    off = writeRecordBody(buf, off, a, targets);
  }
  for (const a of additional) {
    const at = targets.get(a.name);
    if (at !== undefined && at < 0x3fff) {
      buf[off++] = 0xc0 | (at >> 8);
      buf[off++] = at & 0xff;
    } else off = writeName(buf, off, a.name);
    off = writeRecordBody(buf, off, a, targets);
  }
  if (optLen > 0) off = writeOpt(buf, off, rcode);
  return off === size ? buf : buf.subarray(0, off);
}

function writeRecordBody(
  buf: Uint8Array,
  off: number,
  a: Answer,
  targets: Map<string, number>,
): number {
  switch (a.type) {
    case "A": {
      off = writeU16(buf, off, TYPE_A);
      off = writeU16(buf, off, CLASS_IN);
      off = writeU32(buf, off, a.ttl);
      off = writeU16(buf, off, 4);
      const parts = a.address.split(".");
      for (let i = 0; i < 4; i++) buf[off++] = Number(parts[i]) & 0xff;
      return off;
    }
    case "AAAA": {
      off = writeU16(buf, off, TYPE_AAAA);
      off = writeU16(buf, off, CLASS_IN);
      off = writeU32(buf, off, a.ttl);
      off = writeU16(buf, off, 16);
      const n = parseIp6(a.address) ?? 0n;
      for (let i = 0; i < 16; i++) buf[off++] = Number((n >> BigInt(120 - 8 * i)) & 0xffn);
      return off;
    }
    case "PTR":
      off = writeU16(buf, off, TYPE_PTR);
      off = writeU16(buf, off, CLASS_IN);
      off = writeU32(buf, off, a.ttl);
      off = writeU16(buf, off, nameLength(a.target));
      return writeName(buf, off, a.target);
    case "SRV":
      off = writeU16(buf, off, TYPE_SRV);
      off = writeU16(buf, off, CLASS_IN);
      off = writeU32(buf, off, a.ttl);
      off = writeU16(buf, off, 6 + nameLength(a.srv.target));
      off = writeU16(buf, off, a.srv.priority);
      off = writeU16(buf, off, a.srv.weight);
      off = writeU16(buf, off, a.srv.port);
      if (!targets.has(a.srv.target)) targets.set(a.srv.target, off);
      return writeName(buf, off, a.srv.target);
  }
}

/**
 * A bare error response (header only, no question) for a packet that could not be parsed as a
 * standard query: FORMERR for malformed ones, NOTIMP for unknown opcodes.
 */
export function encodeError(f: Extract<ParseFailure, { kind: "error" }>): Uint8Array {
  const buf = new Uint8Array(12);
  writeHeader(buf, f.id, f.opcode, { aa: false, tc: false, rd: f.rd, rcode: f.rcode }, [
    0,
    0,
    0,
    0,
  ]);
  return buf;
}

/** A header-plus-question response with `rcode` and no records (SERVFAIL, REFUSED, NOTIMP). */
export function encodeRcode(q: Query, packet: Uint8Array, rcode: number): Uint8Array {
  return encodeResponse(q, packet, rcode, []);
}

/** A copy of `packet` with its 16-bit id replaced (for forwarding). */
export function withId(packet: Uint8Array, id: number): Uint8Array {
  const out = packet.slice();
  writeU16(out, 0, id);
  return out;
}
