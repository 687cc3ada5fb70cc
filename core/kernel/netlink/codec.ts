/**
 * The rtnetlink wire codec: message headers, the fixed structs of link/address/route/neighbour
 * messages, and a table-driven attribute layer. Pure: no sockets, no kernel.
 *
 * Decoding never drops bytes. An attribute whose id is not in its table decodes as `unknown`; an
 * attribute whose payload does not fit its declared type decodes as `bytes`; both re-encode to
 * the exact bytes they came from, so `encodeMessage(decodeMessage(b))` equals `b` for anything
 * the kernel sends.
 *
 * @module
 */

import {
  NLA_F_NESTED,
  NLA_F_NET_BYTEORDER,
  NLA_TYPE_MASK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
} from "./constants.ts";

/** Rounds up to netlink's 4-byte alignment (`NLMSG_ALIGN`, `RTA_ALIGN`). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** Parses dotted IPv4 text into 4 bytes; throws on anything else. */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`Invalid IPv4 address ${JSON.stringify(text)}`);
  const out = new Uint8Array(4);
  parts.forEach((p, i) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) {
      throw new Error(`Invalid IPv4 address ${JSON.stringify(text)}`);
    }
    out[i] = Number(p);
  });
  return out;
}

/** Formats IPv6 bytes in RFC 5952 form (longest zero run compressed to `::`). */
export function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Parses IPv6 text (with at most one `::`, no embedded IPv4) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const bad = () => new Error(`Invalid IPv6 address ${JSON.stringify(text)}`);
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const words = (s: string) => (s === "" ? [] : s.split(":"));
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8) || (halves.length === 2 && fill < 1)) {
    throw bad();
  }
  const all = [...head, ...Array(fill).fill("0"), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw bad();
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** Parses an IPv4 or IPv6 address. */
export function parseIp(text: string): Uint8Array {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/** Formats 4 or 16 address bytes. */
export function formatIp(b: Uint8Array): string {
  return b.length === 4 ? b.join(".") : formatIpv6(b);
}

/** Parses `aa:bb:cc:dd:ee:ff` into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`Invalid MAC address ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats 6 bytes as lower-case `aa:bb:cc:dd:ee:ff`. */
export function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

// ---------------------------------------------------------------------------------------------
// Attribute tables

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

// ---------------------------------------------------------------------------------------------
// Tables (the subset nslab reads and writes; everything else decodes as `unknown`)

const NESTED_OPAQUE: AttrTable = { name: "opaque", attrs: {} };

/** `IFLA_VXLAN_*`. */
export const VXLAN_ATTRS = table("IFLA_VXLAN", [
  [1, "id", "u32"],
  [2, "group", "ip"],
  [3, "link", "u32"],
  [4, "local", "ip"],
  [5, "ttl", "u8"],
  [6, "tos", "u8"],
  [7, "learning", "u8"],
  [8, "ageing", "u32"],
  [9, "limit", "u32"],
  [10, "port_range", "bytes"],
  [11, "proxy", "u8"],
  [12, "rsc", "u8"],
  [13, "l2miss", "u8"],
  [14, "l3miss", "u8"],
  [15, "port", "be16"],
  [16, "group6", "ip"],
  [17, "local6", "ip"],
  [18, "udp_csum", "u8"],
  [19, "udp_zero_csum6_tx", "u8"],
  [20, "udp_zero_csum6_rx", "u8"],
  [21, "remcsum_tx", "u8"],
  [22, "remcsum_rx", "u8"],
  [23, "gbp", "flag"],
  [24, "remcsum_nopartial", "flag"],
  [25, "collect_metadata", "u8"],
  [26, "label", "u32"],
  [27, "gpe", "flag"],
  [28, "ttl_inherit", "u8"],
  [29, "df", "u8"],
  [30, "vnifilter", "u8"],
  [31, "localbypass", "u8"],
]);

/** `IFLA_MACVLAN_*`. */
export const MACVLAN_ATTRS = table("IFLA_MACVLAN", [
  [1, "mode", "u32"],
  [2, "flags", "u16"],
  [3, "macaddr_mode", "u32"],
  [4, "macaddr", "mac"],
  [5, "macaddr_data", { nested: NESTED_OPAQUE }],
  [6, "macaddr_count", "u32"],
  [7, "bc_queue_len", "u32"],
  [8, "bc_queue_len_used", "u32"],
  [9, "bc_cutoff", "s32"],
]);

/** `IFLA_VLAN_*`. */
export const VLAN_ATTRS = table("IFLA_VLAN", [
  [1, "id", "u16"],
  [2, "flags", "bytes"],
  [3, "egress_qos", { nested: NESTED_OPAQUE }],
  [4, "ingress_qos", { nested: NESTED_OPAQUE }],
  [5, "protocol", "be16"],
]);

/** `VETH_INFO_*` (the peer is an ifinfomsg plus link attributes, kept as bytes). */
export const VETH_ATTRS = table("VETH_INFO", [[1, "peer", "bytes"]]);

/** `IFLA_BR_*` (the few nslab may read). */
export const BRIDGE_ATTRS = table("IFLA_BR", [
  [1, "forward_delay", "u32"],
  [2, "hello_time", "u32"],
  [3, "max_age", "u32"],
  [4, "ageing_time", "u32"],
  [5, "stp_state", "u32"],
  [6, "priority", "u16"],
  [7, "vlan_filtering", "u8"],
  [8, "vlan_protocol", "be16"],
]);

const INFO_DATA_BY_KIND: Record<string, AttrTable> = {
  vxlan: VXLAN_ATTRS,
  macvlan: MACVLAN_ATTRS,
  vlan: VLAN_ATTRS,
  veth: VETH_ATTRS,
  bridge: BRIDGE_ATTRS,
};

/** `IFLA_INFO_*`: the data table depends on the `kind` sibling. */
export const LINKINFO_ATTRS = table("IFLA_INFO", [
  [1, "kind", "string"],
  [2, "data", { nested: (sib) => INFO_DATA_BY_KIND[String(sib("kind"))] }],
  [3, "xstats", "bytes"],
  [4, "slave_kind", "string"],
  [5, "slave_data", { nested: NESTED_OPAQUE }],
]);

/** `IFLA_*`: link attributes. */
/** `IFLA_BRPORT_*`: a bridge port's settings (in `IFLA_PROTINFO` of an AF_BRIDGE request). */
export const BRPORT_ATTRS = table("IFLA_BRPORT", [
  [1, "state", "u8"],
  [2, "priority", "u16"],
  [3, "cost", "u32"],
  [4, "mode", "u8"],
  [5, "guard", "u8"],
  [6, "protect", "u8"],
  [7, "fast_leave", "u8"],
  [8, "learning", "u8"],
  [9, "unicast_flood", "u8"],
]);

export const LINK_ATTRS = table("IFLA", [
  [1, "address", "mac"],
  [2, "broadcast", "mac"],
  [3, "ifname", "string"],
  [4, "mtu", "u32"],
  [5, "link", "u32"],
  [6, "qdisc", "string"],
  [7, "stats", "bytes"],
  [10, "master", "u32"],
  [12, "protinfo", { nested: BRPORT_ATTRS }],
  [13, "txqlen", "u32"],
  [14, "map", "bytes"],
  [16, "operstate", "u8"],
  [17, "linkmode", "u8"],
  [18, "linkinfo", { nested: LINKINFO_ATTRS }],
  [19, "net_ns_pid", "u32"],
  [20, "ifalias", "string"],
  [21, "num_vf", "u32"],
  [23, "stats64", "bytes"],
  [26, "af_spec", { nested: NESTED_OPAQUE }],
  [27, "group", "u32"],
  [28, "net_ns_fd", "s32"],
  [29, "ext_mask", "u32"],
  [30, "promiscuity", "u32"],
  [31, "num_tx_queues", "u32"],
  [32, "num_rx_queues", "u32"],
  [33, "carrier", "u8"],
  [34, "phys_port_id", "bytes"],
  [35, "carrier_changes", "u32"],
  [37, "link_netnsid", "s32"],
  [39, "proto_down", "u8"],
  [40, "gso_max_segs", "u32"],
  [41, "gso_max_size", "u32"],
  [43, "xdp", { nested: NESTED_OPAQUE }],
  [47, "carrier_up_count", "u32"],
  [48, "carrier_down_count", "u32"],
  [50, "min_mtu", "u32"],
  [51, "max_mtu", "u32"],
  [53, "alt_ifname", "string"],
  [54, "perm_address", "mac"],
  [56, "parent_dev_name", "string"],
  [57, "parent_dev_bus_name", "string"],
  [58, "gro_max_size", "u32"],
  [59, "tso_max_size", "u32"],
  [60, "tso_max_segs", "u32"],
  [61, "allmulti", "u32"],
  [63, "gso_ipv4_max_size", "u32"],
  [64, "gro_ipv4_max_size", "u32"],
]);

/** `IFA_*`: address attributes. */
export const ADDR_ATTRS = table("IFA", [
  [1, "address", "ip"],
  [2, "local", "ip"],
  [3, "label", "string"],
  [4, "broadcast", "ip"],
  [5, "anycast", "ip"],
  [6, "cacheinfo", "bytes"],
  [7, "multicast", "ip"],
  [8, "flags", "u32"],
  [9, "rt_priority", "u32"],
  [10, "target_netnsid", "s32"],
  [11, "proto", "u8"],
]);

/** `RTA_*`: route attributes. */
export const ROUTE_ATTRS = table("RTA", [
  [1, "dst", "ip"],
  [2, "src", "ip"],
  [3, "iif", "u32"],
  [4, "oif", "u32"],
  [5, "gateway", "ip"],
  [6, "priority", "u32"],
  [7, "prefsrc", "ip"],
  [8, "metrics", { nested: NESTED_OPAQUE }],
  [9, "multipath", "bytes"],
  [12, "cacheinfo", "bytes"],
  [15, "table", "u32"],
  [16, "mark", "u32"],
  [20, "pref", "u8"],
  [23, "expires", "u64"],
]);

/** `NDA_*`: neighbour (and bridge FDB) attributes. */
export const NEIGH_ATTRS = table("NDA", [
  [1, "dst", "ip"],
  [2, "lladdr", "mac"],
  [3, "cacheinfo", "bytes"],
  [4, "probes", "u32"],
  [5, "vlan", "u16"],
  [6, "port", "be16"],
  [7, "vni", "u32"],
  [8, "ifindex", "u32"],
  [9, "master", "u32"],
  [10, "link_netnsid", "s32"],
  [11, "src_vni", "u32"],
  [12, "protocol", "u8"],
  [15, "flags_ext", "u32"],
]);

/** `NLMSGERR_ATTR_*`: extended-ack attributes of an error or done message. */
export const ERR_ATTRS = table("NLMSGERR_ATTR", [
  [1, "msg", "string"],
  [2, "offs", "u32"],
  [3, "cookie", "bytes"],
  [4, "policy", { nested: NESTED_OPAQUE }],
  [5, "miss_type", "u32"],
  [6, "miss_nest", "u32"],
]);

// ---------------------------------------------------------------------------------------------
// Messages

/** `struct nlmsghdr` without the length (computed when encoding). */
export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** `struct ifinfomsg`. */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

/** `struct ifaddrmsg`. */
export interface IfAddrMsg {
  family: number;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
}

/** `struct rtmsg`. */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

/** `struct ndmsg`. */
export interface NdMsg {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}

/** A message body, by family of message type. */
export type Body =
  | { kind: "link"; msg: IfInfoMsg; attrs: Attr[] }
  | { kind: "addr"; msg: IfAddrMsg; attrs: Attr[] }
  | { kind: "route"; msg: RtMsg; attrs: Attr[] }
  | { kind: "neigh"; msg: NdMsg; attrs: Attr[] }
  /** An ack (`error` 0) or a failure (negative errno), with extended-ack attributes. */
  | {
    kind: "error";
    error: number;
    request: NlHeader & { len: number };
    echo: Uint8Array;
    attrs: Attr[];
  }
  | { kind: "done"; error: number; attrs: Attr[] }
  | { kind: "raw"; bytes: Uint8Array };

/** One netlink message. */
export interface Message {
  header: NlHeader;
  body: Body;
}

function bodyKind(type: number): Body["kind"] {
  if (type === NLMSG_ERROR) return "error";
  if (type === NLMSG_DONE) return "done";
  if (type >= 16 && type <= 19) return "link";
  if (type >= 20 && type <= 23) return "addr";
  if (type >= 24 && type <= 27) return "route";
  if (type >= 28 && type <= 31) return "neigh";
  return "raw";
}

const STRUCT_SIZE = { link: 16, addr: 8, route: 12, neigh: 12 } as const;

function decodeBody(type: number, flags: number, p: Uint8Array): Body {
  const kind = bodyKind(type);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (kind === "raw") return { kind, bytes: p.slice() };
  if (kind === "done") {
    if (p.length < 4) return { kind: "raw", bytes: p.slice() };
    return { kind, error: dv.getInt32(0, true), attrs: decodeAttrs(p.subarray(4), ERR_ATTRS) };
  }
  if (kind === "error") {
    if (p.length < 20) return { kind: "raw", bytes: p.slice() };
    const error = dv.getInt32(0, true);
    const request = {
      len: dv.getUint32(4, true),
      type: dv.getUint16(8, true),
      flags: dv.getUint16(10, true),
      seq: dv.getUint32(12, true),
      pid: dv.getUint32(16, true),
    };
    const echoed = error !== 0 && (flags & NLM_F_CAPPED) === 0
      ? Math.min(Math.max(request.len - 16, 0), p.length - 20)
      : 0;
    const echo = p.slice(20, 20 + echoed);
    const rest = (flags & NLM_F_ACK_TLVS) !== 0
      ? p.subarray(20 + align4(echoed))
      : new Uint8Array(0);
    return { kind, error, request, echo, attrs: decodeAttrs(rest, ERR_ATTRS) };
  }
  const size = STRUCT_SIZE[kind];
  if (p.length < size) return { kind: "raw", bytes: p.slice() };
  const rest = p.subarray(size);
  switch (kind) {
    case "link":
      return {
        kind,
        msg: {
          family: p[0],
          type: dv.getUint16(2, true),
          index: dv.getInt32(4, true),
          flags: dv.getUint32(8, true),
          change: dv.getUint32(12, true),
        },
        attrs: decodeAttrs(rest, LINK_ATTRS),
      };
    case "addr":
      return {
        kind,
        msg: {
          family: p[0],
          prefixlen: p[1],
          flags: p[2],
          scope: p[3],
          index: dv.getUint32(4, true),
        },
        attrs: decodeAttrs(rest, ADDR_ATTRS),
      };
    case "route":
      return {
        kind,
        msg: {
          family: p[0],
          dstLen: p[1],
          srcLen: p[2],
          tos: p[3],
          table: p[4],
          protocol: p[5],
          scope: p[6],
          type: p[7],
          flags: dv.getUint32(8, true),
        },
        attrs: decodeAttrs(rest, ROUTE_ATTRS),
      };
    case "neigh":
      return {
        kind,
        msg: {
          family: p[0],
          index: dv.getInt32(4, true),
          state: dv.getUint16(8, true),
          flags: p[10],
          type: p[11],
        },
        attrs: decodeAttrs(rest, NEIGH_ATTRS),
      };
  }
}

/** Decodes every message in one datagram. */
export function decodeMessages(buf: Uint8Array): Message[] {
  const out: Message[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = dv.getUint32(off, true);
    if (len < 16 || off + len > buf.length) {
      throw new Error(`Malformed netlink message at offset ${off}: length ${len}`);
    }
    const header = {
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
    };
    out.push({
      header,
      body: decodeBody(header.type, header.flags, buf.subarray(off + 16, off + len)),
    });
    off += align4(len);
  }
  return out;
}

/** Decodes exactly one message. */
export function decodeMessage(buf: Uint8Array): Message {
  const all = decodeMessages(buf);
  if (all.length !== 1) throw new Error(`Expected one netlink message, found ${all.length}`);
  return all[0];
}

function encodeBody(body: Body): Uint8Array {
  if (body.kind === "raw") return body.bytes;
  if (body.kind === "done") {
    const a = encodeAttrs(body.attrs);
    const out = new Uint8Array(4 + a.length);
    new DataView(out.buffer).setInt32(0, body.error, true);
    out.set(a, 4);
    return out;
  }
  if (body.kind === "error") {
    const a = encodeAttrs(body.attrs);
    const echoLen = align4(body.echo.length);
    const out = new Uint8Array(20 + echoLen + a.length);
    const dv = new DataView(out.buffer);
    dv.setInt32(0, body.error, true);
    dv.setUint32(4, body.request.len, true);
    dv.setUint16(8, body.request.type, true);
    dv.setUint16(10, body.request.flags, true);
    dv.setUint32(12, body.request.seq, true);
    dv.setUint32(16, body.request.pid, true);
    out.set(body.echo, 20);
    out.set(a, 20 + echoLen);
    return out;
  }
  const a = encodeAttrs(body.attrs);
  const size = STRUCT_SIZE[body.kind];
  const out = new Uint8Array(size + a.length);
  const dv = new DataView(out.buffer);
  switch (body.kind) {
    case "link":
      out[0] = body.msg.family;
      dv.setUint16(2, body.msg.type, true);
      dv.setInt32(4, body.msg.index, true);
      dv.setUint32(8, body.msg.flags >>> 0, true);
      dv.setUint32(12, body.msg.change >>> 0, true);
      break;
    case "addr":
      out.set([body.msg.family, body.msg.prefixlen, body.msg.flags, body.msg.scope]);
      dv.setUint32(4, body.msg.index, true);
      break;
    case "route": {
      const m = body.msg;
      out.set([m.family, m.dstLen, m.srcLen, m.tos, m.table, m.protocol, m.scope, m.type]);
      dv.setUint32(8, m.flags >>> 0, true);
      break;
    }
    case "neigh":
      out[0] = body.msg.family;
      dv.setInt32(4, body.msg.index, true);
      dv.setUint16(8, body.msg.state, true);
      out[10] = body.msg.flags;
      out[11] = body.msg.type;
      break;
  }
  out.set(a, size);
  return out;
}

/** Encodes one message; `nlmsg_len` is computed. */
export function encodeMessage(m: Message): Uint8Array {
  const body = encodeBody(m.body);
  const out = new Uint8Array(align4(16 + body.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 16 + body.length, true);
  dv.setUint16(4, m.header.type, true);
  dv.setUint16(6, m.header.flags, true);
  dv.setUint32(8, m.header.seq, true);
  dv.setUint32(12, m.header.pid, true);
  out.set(body, 16);
  return out;
}

/** Encodes the fixed part of an `ifinfomsg` followed by attributes (the veth peer payload). */
export function encodeIfInfo(msg: IfInfoMsg, list: Attr[]): Uint8Array {
  return encodeBody({ kind: "link", msg, attrs: list });
}
