/**
 * ICMP echo from inside namespaces: one raw socket per namespace (`socket(AF_INET, SOCK_RAW,
 * IPPROTO_ICMP)`, created on the main thread inside the namespace), one `poll` on a worker thread
 * for all of them, replies matched to requests by ICMP id and sequence number.
 *
 * Equivalent to: `ip netns exec NS ping -c1 -W1 ADDRESS`, thousands at once from one process.
 *
 * @module
 */

import {
  AF_INET,
  errno,
  errnoName,
  ICMP_FILTER,
  IPPROTO_ICMP,
  libc,
  MSG_DONTWAIT,
  POLLIN,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_RAW,
} from "../netlink/ffi.ts";
import { socketIn } from "../netns/netns.ts";
import type { Observed } from "./types.ts";

const ECHO_REPLY = 0;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
/** Receive buffer of each raw socket (root may exceed net.core.rmem_max). */
const RCVBUF_BYTES = 8 * 1024 * 1024;
const DEST_UNREACH = 3;
const ECHO_REQUEST = 8;
const TIME_EXCEEDED = 11;

/** Why an ICMP destination-unreachable came back, by code. */
const UNREACH_CODES: Record<number, string> = {
  0: "network unreachable (ICMP)",
  1: "host unreachable (ICMP)",
  2: "protocol unreachable (ICMP)",
  3: "port unreachable (ICMP)",
  9: "network prohibited (ICMP)",
  10: "host prohibited (ICMP)",
  13: "administratively prohibited (ICMP, a REJECT rule)",
};

/** Internet checksum (RFC 1071) of `bytes`. */
export function inetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An ICMP echo request with `id`, `seq` and an 8-byte payload, checksum filled in. */
export function echoRequest(id: number, seq: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, ECHO_REQUEST);
  v.setUint16(4, id);
  v.setUint16(6, seq);
  b.set(new TextEncoder().encode("nslab-ck"), 8);
  v.setUint16(2, inetChecksum(b));
  return b;
}

/** What a received IPv4 packet means to the pinger. */
export type IcmpEvent =
  | { kind: "reply"; id: number; seq: number; from: string }
  | { kind: "error"; id: number; seq: number; from: string; detail: string }
  | null;

function ipv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Parses a packet as read from a raw ICMP socket (IPv4 header included). */
export function parseIcmp(b: Uint8Array): IcmpEvent {
  if (b.length < 20 || b[0] >> 4 !== 4) return null;
  const ihl = (b[0] & 0x0f) * 4;
  if (b.length < ihl + 8 || b[9] !== IPPROTO_ICMP) return null;
  const from = ipv4(b, 12);
  const type = b[ihl];
  const code = b[ihl + 1];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (type === ECHO_REPLY) {
    return { kind: "reply", id: v.getUint16(ihl + 4), seq: v.getUint16(ihl + 6), from };
  }
  if (type !== DEST_UNREACH && type !== TIME_EXCEEDED) return null;
  const inner = ihl + 8;
  if (b.length < inner + 20 || b[inner] >> 4 !== 4 || b[inner + 9] !== IPPROTO_ICMP) return null;
  const innerIhl = (b[inner] & 0x0f) * 4;
  const icmp = inner + innerIhl;
  if (b.length < icmp + 8 || b[icmp] !== ECHO_REQUEST) return null;
  const detail = type === TIME_EXCEEDED
    ? `time exceeded from ${from} (a routing loop?)`
    : `${UNREACH_CODES[code] ?? `unreachable code ${code} (ICMP)`} from ${from}`;
  return { kind: "error", id: v.getUint16(icmp + 4), seq: v.getUint16(icmp + 6), from, detail };
}

/** The errno of a failed send, as an observation. */
export function sendFailure(code: number): Observed {
  switch (code) {
    case 101:
      return { kind: "unreachable", detail: "no route (ENETUNREACH)" };
    case 113:
      return { kind: "unreachable", detail: "host unreachable (EHOSTUNREACH)" };
    case 22:
      return { kind: "unreachable", detail: "route drops it (EINVAL: a blackhole route?)" };
    case 13:
      return { kind: "unreachable", detail: "route prohibits it (EACCES: a prohibit route?)" };
    case 1:
      return { kind: "unreachable", detail: "refused locally (EPERM: an OUTPUT rule?)" };
    default:
      return { kind: "error", message: `sendto failed: ${errnoName(code)}` };
  }
}

interface Pending {
  resolve: (o: Observed) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One raw ICMP socket in one namespace. */
class Pinger {
  readonly pending = new Map<number, Pending>();
  constructor(readonly netns: string, readonly fd: number) {}
}

/**
 * All echo probes of one run. Sockets are created on first use per namespace and closed by
 * {@link IcmpProber.close}.
 *
 * @example
 * ```ts
 * const icmp = new IcmpProber();
 * try {
 *   console.log(await icmp.ping("shop-web", "172.20.0.3", 1000)); // { kind: "open", from: … }
 * } finally {
 *   icmp.close();
 * }
 * ```
 */
export class IcmpProber {
  #pingers = new Map<string, Pinger>();
  #counter = Math.floor(Math.random() * 0xffffffff);
  #polling = false;
  #closed = false;
  /** Receive buffer of the poll loop (one per prober, not one per loop start). */
  readonly #buf = new Uint8Array(65536);
  /** Echo requests sent so far. */
  sent = 0;

  #pinger(netns: string): Pinger {
    let p = this.#pingers.get(netns);
    if (!p) {
      const c = libc();
      const fd = socketIn(netns, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
      // Only echo replies and errors reach the socket, not every echo request passing by.
      const mask = new Uint32Array([
        ~((1 << ECHO_REPLY) | (1 << DEST_UNREACH) | (1 << TIME_EXCEEDED)) >>> 0,
      ]);
      c.setsockopt(fd, SOL_RAW, ICMP_FILTER, new Uint8Array(mask.buffer), 4);
      // Thousands of replies arrive in one burst: a small receive buffer would drop them.
      const size = new Int32Array([RCVBUF_BYTES]);
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, new Uint8Array(size.buffer), 4) !== 0) {
        c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Uint8Array(size.buffer), 4);
      }
      p = new Pinger(netns, fd);
      this.#pingers.set(netns, p);
    }
    return p;
  }

  /** Sends one echo request from `netns` to `address`; resolves by `timeoutMs` at the latest. */
  ping(netns: string, address: string, timeoutMs: number): Promise<Observed> {
    if (this.#closed) return Promise.resolve({ kind: "error", message: "prober closed" });
    let p: Pinger;
    try {
      p = this.#pinger(netns);
    } catch (e) {
      return Promise.resolve({ kind: "error", message: (e as Error).message });
    }
    const n = this.#counter++ >>> 0;
    const id = (n >>> 16) & 0xffff;
    const seq = n & 0xffff;
    const key = (id << 16) | seq;
    const packet = echoRequest(id, seq);
    const sa = new Uint8Array(16);
    sa[0] = AF_INET; // sin_family (little endian u16), port 0
    sa.set(address.split(".").map(Number), 4);
    return new Promise<Observed>((resolve) => {
      const finish = (o: Observed) => {
        const entry = p.pending.get(key);
        if (!entry) return;
        clearTimeout(entry.timer);
        p.pending.delete(key);
        resolve(o);
      };
      const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
      p.pending.set(key, { resolve, timer });
      const trySend = () => {
        if (!p.pending.has(key)) return;
        const rc = Number(libc().sendto(p.fd, packet, BigInt(packet.length), 0, sa, 16));
        if (rc >= 0) {
          this.sent++;
          this.#poll();
          return;
        }
        const code = errno();
        if (code === 11 /* EAGAIN */ || code === 105 /* ENOBUFS */) {
          setTimeout(trySend, 2); // the socket's send buffer is full: try again shortly
          return;
        }
        finish(sendFailure(code));
      };
      trySend();
    });
  }

  /** Drains every socket that has data; resolves the matching pending probes. */
  #drain(fd: number, p: Pinger, buf: Uint8Array<ArrayBuffer>): void {
    while (true) {
      const n = Number(libc().recv(fd, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n <= 0) return;
      const ev = parseIcmp(buf.subarray(0, n));
      if (!ev) continue;
      const entry = p.pending.get((ev.id << 16) | ev.seq);
      if (!entry) continue;
      clearTimeout(entry.timer);
      p.pending.delete((ev.id << 16) | ev.seq);
      entry.resolve(
        ev.kind === "reply"
          ? { kind: "open", from: ev.from }
          : { kind: "unreachable", detail: ev.detail },
      );
    }
  }

  /** One poll loop at a time, running while any probe waits. */
  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    const buf = this.#buf;
    try {
      while (!this.#closed) {
        const active = [...this.#pingers.values()].filter((p) => p.pending.size > 0);
        if (active.length === 0) return;
        const fds = new Uint8Array(8 * active.length);
        const v = new DataView(fds.buffer);
        active.forEach((p, i) => {
          v.setInt32(i * 8, p.fd, true);
          v.setInt16(i * 8 + 4, POLLIN, true);
        });
        const ready = await libc().poll_async(fds, BigInt(active.length), 20);
        if (this.#closed) return;
        if (ready <= 0) continue;
        active.forEach((p, i) => {
          if (v.getInt16(i * 8 + 6, true) !== 0) this.#drain(p.fd, p, buf);
        });
      }
    } finally {
      this.#polling = false;
    }
  }

  /** Closes every socket; waiting probes resolve as errors. */
  close(): void {
    this.#closed = true;
    for (const p of this.#pingers.values()) {
      for (const entry of p.pending.values()) {
        clearTimeout(entry.timer);
        entry.resolve({ kind: "error", message: "prober closed" });
      }
      p.pending.clear();
      libc().close(p.fd);
    }
    this.#pingers.clear();
  }
}
