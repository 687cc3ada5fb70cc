/**
 * The table-driven attribute layer of the rtnetlink codec: an attribute space is a table of
 * `[id, name, type]` rows; decoding never drops bytes (an id not in the table decodes as
 * `unknown`, a payload that does not fit its type as `bytes`, and both re-encode to the exact
 * bytes they came from). Pure.
 *
 * @module
 */

import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK } from "./constants.ts";
import { formatIp, formatMac, parseIp, parseMac } from "./codec_text.ts";

/** Rounds up to netlink's 4-byte alignment (`NLMSG_ALIGN`, `RTA_ALIGN`). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Value types an attribute table can declare. */
export type ScalarType =
  | "u8"
  | "u16"
  | "u32"
  | "s32"
  | "u64"
  | "be16"
  | "string"
  | "bytes"
  | "ip"
  | "mac"
  | "flag";

/** Picks the table of a nested attribute from its already-decoded siblings (e.g. by link kind). */
export type TableResolver = (sibling: (name: string) => unknown) => AttrTable | undefined;

/** Declared type of one attribute id. */
export type AttrType = ScalarType | { nested: AttrTable | TableResolver };

/** One attribute id's name and type. */
export interface AttrSpec {
  name: string;
  type: AttrType;
}

/** Attribute id → name and type, for one attribute space (`IFLA_*`, `IFA_*`, …). */
export interface AttrTable {
  name: string;
  attrs: Record<number, AttrSpec>;
}

/** Builds a table from `[id, name, type]` rows. */
export function table(name: string, rows: [number, string, AttrType][]): AttrTable {
  const attrs: Record<number, AttrSpec> = {};
  for (const [id, n, type] of rows) attrs[id] = { name: n, type };
  return { name, attrs };
}

/** Common fields of every decoded attribute. `flags` keeps NLA_F_NESTED/NET_BYTEORDER bits. */
interface AttrBase {
  id: number;
  name: string;
  flags: number;
}

/** A decoded attribute; `unknown` (id not in the table) and `bytes` keep the raw payload. */
export type Attr =
  | AttrBase & { kind: "u8" | "u16" | "u32" | "s32" | "be16"; value: number }
  | AttrBase & { kind: "u64"; value: bigint }
  | AttrBase & { kind: "string" | "ip" | "mac"; value: string }
  | AttrBase & { kind: "flag" }
  | AttrBase & { kind: "bytes" | "unknown"; value: Uint8Array }
  | AttrBase & { kind: "nested"; attrs: Attr[] };

const SIZES: Partial<Record<ScalarType, number>> = {
  u8: 1,
  u16: 2,
  be16: 2,
  u32: 4,
  s32: 4,
  u64: 8,
  mac: 6,
  flag: 0,
};

function resolveNested(t: AttrTable | TableResolver, siblings: Attr[]): AttrTable {
  if (typeof t !== "function") return t;
  const found = t((name) => {
    const a = siblings.find((s) => s.name === name);
    return a && "value" in a ? a.value : undefined;
  });
  return found ?? { name: "unknown", attrs: {} };
}

function decodeOne(
  id: number,
  flags: number,
  p: Uint8Array,
  spec: AttrSpec | undefined,
  siblings: Attr[],
): Attr {
  if (!spec) return { id, name: `${id}`, flags, kind: "unknown", value: p.slice() };
  const { name, type } = spec;
  const raw: Attr = { id, name, flags, kind: "bytes", value: p.slice() };
  if (typeof type === "object") {
    return {
      id,
      name,
      flags,
      kind: "nested",
      attrs: decodeAttrs(p, resolveNested(type.nested, siblings)),
    };
  }
  const size = SIZES[type];
  if (size !== undefined && p.length !== size) return raw;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  switch (type) {
    case "u8":
      return { id, name, flags, kind: type, value: p[0] };
    case "u16":
      return { id, name, flags, kind: type, value: dv.getUint16(0, true) };
    case "be16":
      return { id, name, flags, kind: type, value: dv.getUint16(0, false) };
    case "u32":
      return { id, name, flags, kind: type, value: dv.getUint32(0, true) };
    case "s32":
      return { id, name, flags, kind: type, value: dv.getInt32(0, true) };
    case "u64":
      return { id, name, flags, kind: type, value: dv.getBigUint64(0, true) };
    case "flag":
      return { id, name, flags, kind: type };
    case "mac":
      return { id, name, flags, kind: type, value: formatMac(p) };
    case "ip":
      return p.length === 4 || p.length === 16
        ? { id, name, flags, kind: type, value: formatIp(p) }
        : raw;
    case "string": {
      // Exactly one trailing NUL and none inside, or it would not re-encode to the same bytes.
      const nul = p.indexOf(0);
      if (p.length === 0 || nul !== p.length - 1) return raw;
      return { id, name, flags, kind: type, value: new TextDecoder().decode(p.subarray(0, nul)) };
    }
    case "bytes":
      return raw;
  }
}

/** Decodes a run of attributes (the payload after a struct, or of a nested attribute). */
export function decodeAttrs(buf: Uint8Array, t: AttrTable): Attr[] {
  const out: Attr[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = dv.getUint16(off, true);
    const rawType = dv.getUint16(off + 2, true);
    if (len < 4 || off + len > buf.length) {
      throw new Error(`Malformed ${t.name} attribute at offset ${off}: length ${len}`);
    }
    const id = rawType & NLA_TYPE_MASK;
    const flags = rawType & (NLA_F_NESTED | NLA_F_NET_BYTEORDER);
    out.push(decodeOne(id, flags, buf.subarray(off + 4, off + len), t.attrs[id], out));
    off += align4(len);
  }
  if (off < buf.length) {
    throw new Error(`Trailing ${buf.length - off} bytes after ${t.name} attributes`);
  }
  return out;
}

function payloadOf(a: Attr): Uint8Array {
  const num = (size: number, set: (dv: DataView) => void) => {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    return b;
  };
  switch (a.kind) {
    case "u8":
      return Uint8Array.of(a.value);
    case "u16":
      return num(2, (dv) => dv.setUint16(0, a.value, true));
    case "be16":
      return num(2, (dv) => dv.setUint16(0, a.value, false));
    case "u32":
      return num(4, (dv) => dv.setUint32(0, a.value >>> 0, true));
    case "s32":
      return num(4, (dv) => dv.setInt32(0, a.value, true));
    case "u64":
      return num(8, (dv) => dv.setBigUint64(0, a.value, true));
    case "flag":
      return new Uint8Array(0);
    case "string": {
      const s = new TextEncoder().encode(a.value);
      const b = new Uint8Array(s.length + 1);
      b.set(s);
      return b;
    }
    case "ip":
      return parseIp(a.value);
    case "mac":
      return parseMac(a.value);
    case "bytes":
    case "unknown":
      return a.value;
    case "nested":
      return encodeAttrs(a.attrs);
  }
}

/** Encodes attributes, each padded to 4 bytes. */
export function encodeAttrs(attrs: Attr[]): Uint8Array {
  const parts = attrs.map(payloadOf);
  const total = parts.reduce((n, p) => n + align4(4 + p.length), 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = 0;
  attrs.forEach((a, i) => {
    const p = parts[i];
    if (4 + p.length > 0xffff) {
      throw new Error(`Attribute ${a.name} is too long (${p.length} bytes)`);
    }
    dv.setUint16(off, 4 + p.length, true);
    dv.setUint16(off + 2, a.id | a.flags, true);
    out.set(p, off + 4);
    off += align4(4 + p.length);
  });
  return out;
}

/** Values accepted by {@link attrs}: scalars, raw bytes, `true` for flags, objects for nests. */
export type AttrValue = number | bigint | string | boolean | Uint8Array | AttrInput | Attr[];

/** Attributes by name, in the order they should be sent. */
export interface AttrInput {
  [name: string]: AttrValue | undefined;
}

/**
 * Builds attributes from names in `t`, so requests are written with the same table that decodes
 * replies. `undefined` values are skipped.
 *
 * @example
 * ```ts
 * attrs(LINK_ATTRS, { ifname: "eth0", mtu: 1500, linkinfo: { kind: "bridge" } });
 * ```
 */
export function attrs(t: AttrTable, input: AttrInput): Attr[] {
  const byName = new Map(Object.entries(t.attrs).map(([id, s]) => [s.name, { id: Number(id), s }]));
  const out: Attr[] = [];
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const entry = byName.get(name);
    if (!entry) throw new Error(`No attribute "${name}" in table ${t.name}`);
    const { id, s } = entry;
    const base = { id, name, flags: 0 };
    const type = s.type;
    if (typeof type === "object") {
      const inner = Array.isArray(value)
        ? value as Attr[]
        : attrs(resolveNested(type.nested, out), value as AttrInput);
      out.push({ ...base, flags: NLA_F_NESTED, kind: "nested", attrs: inner });
    } else if (value instanceof Uint8Array) {
      out.push({ ...base, kind: "bytes", value });
    } else if (type === "flag") {
      out.push({ ...base, kind: "flag" });
    } else if (type === "u64") {
      out.push({ ...base, kind: "u64", value: BigInt(value as number | bigint) });
    } else if (type === "string" || type === "ip" || type === "mac") {
      out.push({ ...base, kind: type, value: String(value) });
    } else if (type === "bytes") {
      throw new Error(`Attribute ${name} of ${t.name} takes a Uint8Array`);
    } else {
      out.push({ ...base, kind: type, value: Number(value) });
    }
  }
  return out;
}

/** The first attribute named `name` (searching one level), or undefined. */
export function findAttr(list: Attr[], name: string): Attr | undefined {
  return list.find((a) => a.name === name);
}

/** The value of attribute `name`, for scalar kinds. */
export function attrValue(list: Attr[], name: string): number | bigint | string | undefined {
  const a = findAttr(list, name);
  return a && "value" in a && !(a.value instanceof Uint8Array) ? a.value : undefined;
}
