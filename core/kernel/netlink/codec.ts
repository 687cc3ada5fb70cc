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

import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_DONE, NLMSG_ERROR } from "./constants.ts";
import { align4, type Attr, decodeAttrs, encodeAttrs } from "./attrs.ts";
import { ADDR_ATTRS, ERR_ATTRS, LINK_ATTRS, NEIGH_ATTRS, ROUTE_ATTRS } from "./tables.ts";

export * from "./codec_text.ts";
export * from "./attrs.ts";
export * from "./tables.ts";

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
  if (kind === "error") return decodeError(flags, p, dv);
  if (p.length < STRUCT_SIZE[kind]) return { kind: "raw", bytes: p.slice() };
  return decodeStruct(kind, p, dv);
}

/**
 * `nlmsgerr`: the error, the request's header, the request echoed back (unless the kernel capped
 * it) and the extended-ack attributes.
 */
function decodeError(flags: number, p: Uint8Array, dv: DataView): Body {
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
  const rest = (flags & NLM_F_ACK_TLVS) !== 0 ? p.subarray(20 + align4(echoed)) : new Uint8Array(0);
  return { kind: "error", error, request, echo, attrs: decodeAttrs(rest, ERR_ATTRS) };
}

/** An rtnetlink message's fixed struct (ifinfomsg, ifaddrmsg, rtmsg, ndmsg), then its attributes. */
function decodeStruct(kind: keyof typeof STRUCT_SIZE, p: Uint8Array, dv: DataView): Body {
  const rest = p.subarray(STRUCT_SIZE[kind]);
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
