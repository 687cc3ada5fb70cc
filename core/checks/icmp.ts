/**
 * ICMP echo from inside namespaces: one raw socket per namespace and family (`socket(AF_INET,
 * SOCK_RAW, IPPROTO_ICMP)`, `socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)` for IPv6 addresses,
 * created on the calling thread inside the namespace) on the run's {@link Epoll}, replies matched
 * to requests by ICMP id and sequence number.
 *
 * Equivalent to: `ip netns exec NS ping -c1 -W1 ADDRESS` (`ping -6` for an IPv6 one), thousands
 * at once from one process.
 *
 * @module
 */

import {
  AF_INET6,
  EPOLLIN,
  errno,
  errnoName,
  ICMP6_FILTER,
  ICMP_FILTER,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  libc,
  MSG_DONTWAIT,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_RAW,
  SOL_SOCKET,
} from "../kernel/sys/ffi.ts";
import type { Deadline, Epoll } from "../kernel/sys/epoll.ts";
import { sockaddrOf, socketIn } from "../kernel/netns/netns.ts";
import { formatIp6 } from "../model/ip6.ts";
import type { Observed } from "./types.ts";

const ECHO_REPLY = 0;
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

const ECHO6_REQUEST = 128;
const ECHO6_REPLY = 129;
const DEST6_UNREACH = 1;
const TIME6_EXCEEDED = 3;

/** Why an ICMPv6 destination-unreachable came back, by code (RFC 4443). */
const UNREACH6_CODES: Record<number, string> = {
  0: "no route (ICMPv6)",
  1: "administratively prohibited (ICMPv6, a REJECT rule)",
  3: "address unreachable (ICMPv6, no neighbour answered)",
  4: "port unreachable (ICMPv6)",
  5: "source address failed policy (ICMPv6)",
  6: "reject route (ICMPv6)",
};

/** Internet checksum (RFC 1071) of `bytes`. */
export function inetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An ICMP echo request with `id`, `seq` and an 8-byte payload, checksum filled in; with `v6`, an
 * ICMPv6 one (the kernel fills in its checksum, which covers the IPv6 pseudo-header).
 */
export function echoRequest(id: number, seq: number, v6 = false): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, v6 ? ECHO6_REQUEST : ECHO_REQUEST);
  v.setUint16(4, id);
  v.setUint16(6, seq);
  b.set(new TextEncoder().encode("nslab-ck"), 8);
  if (!v6) v.setUint16(2, inetChecksum(b));
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

/**
 * Parses a message as read from a raw ICMPv6 socket (no IPv6 header: the kernel strips it), sent
 * by `from`. An error quotes the invoking packet: its 40-byte IPv6 header, then our echo request.
 */
export function parseIcmp6(b: Uint8Array, from: string): IcmpEvent {
  if (b.length < 8) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = b[0];
  if (type === ECHO6_REPLY) return { kind: "reply", id: v.getUint16(4), seq: v.getUint16(6), from };
  if (type !== DEST6_UNREACH && type !== TIME6_EXCEEDED) return null;
  const inner = 8;
  const icmp = inner + 40;
  if (b.length < icmp + 8 || b[inner] >> 4 !== 6 || b[inner + 6] !== IPPROTO_ICMPV6) return null;
  if (b[icmp] !== ECHO6_REQUEST) return null;
  const detail = type === TIME6_EXCEEDED
    ? `time exceeded from ${from} (a routing loop?)`
    : `${UNREACH6_CODES[b[1]] ?? `unreachable code ${b[1]} (ICMPv6)`} from ${from}`;
  return { kind: "error", id: v.getUint16(icmp + 4), seq: v.getUint16(icmp + 6), from, detail };
}

/** The IPv6 address of a `struct sockaddr_in6` (bytes 8–23), as text. */
function sockaddr6Text(sa: Uint8Array): string {
  let n = 0n;
  for (let i = 8; i < 24; i++) n = (n << 8n) | BigInt(sa[i]);
  return formatIp6(n);
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
  deadline: Deadline;
}

/** One raw ICMP (or ICMPv6) socket in one namespace. */
class Pinger {
  readonly pending = new Map<number, Pending>();
  constructor(readonly netns: string, readonly fd: number, readonly v6: boolean) {}
}

/**
 * All echo probes of one run, on the run's {@link Epoll} (whose timeout is every probe's
 * deadline). Sockets are created on first use per namespace and closed by
 * {@link IcmpProber.close}.
 *
 * @example
 * ```ts
 * const loop = new Epoll(1000);
 * const icmp = new IcmpProber(loop);
 * try {
 *   console.log(await icmp.ping("shop-web", "172.20.0.3")); // { kind: "open", from: … }
 * } finally {
 *   icmp.close();
 *   await loop.close();
 * }
 * ```
 */
export class IcmpProber {
  readonly #loop: Epoll;
  #pingers = new Map<string, Pinger>();
  #counter = Math.floor(Math.random() * 0xffffffff);
  /** Receive buffer shared by the prober's sockets (they are drained one at a time). */
  readonly #buf = new Uint8Array(65536);
  /** Echo requests sent so far. */
  sent = 0;

  constructor(loop: Epoll) {
    this.#loop = loop;
  }

  #pinger(netns: string, v6: boolean): Pinger {
    const key = `${v6 ? 6 : 4}|${netns}`;
    let p = this.#pingers.get(key);
    if (!p) {
      const c = libc();
      const fd = v6
        ? socketIn(netns, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMPV6, AF_INET6)
        : socketIn(netns, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
      // Only echo replies and errors reach the socket, not every echo request (or, for IPv6,
      // neighbour discovery message) passing by.
      const mask = v6 ? new Uint32Array(8).fill(0xffffffff) : new Uint32Array([
        ~((1 << ECHO_REPLY) | (1 << DEST_UNREACH) | (1 << TIME_EXCEEDED)) >>> 0,
      ]);
      for (const t of v6 ? [ECHO6_REPLY, DEST6_UNREACH, TIME6_EXCEEDED] : []) {
        mask[t >> 5] &= ~(1 << (t & 31));
      }
      if (v6) c.setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, new Uint8Array(mask.buffer), 32);
      else c.setsockopt(fd, SOL_RAW, ICMP_FILTER, new Uint8Array(mask.buffer), 4);
      // Thousands of replies arrive in one burst: a small receive buffer would drop them.
      const size = new Int32Array([RCVBUF_BYTES]);
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, new Uint8Array(size.buffer), 4) !== 0) {
        c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Uint8Array(size.buffer), 4);
      }
      const made = new Pinger(netns, fd, v6);
      try {
        this.#loop.watch(fd, EPOLLIN, () => this.#drain(made));
      } catch (e) {
        c.close(fd);
        throw e;
      }
      this.#pingers.set(key, made);
      p = made;
    }
    return p;
  }

  /**
   * Sends one echo request from `netns` to `address` (IPv4 or IPv6); resolves by the deadline at
   * the latest.
   */
  ping(netns: string, address: string): Promise<Observed> {
    if (this.#loop.closed) return Promise.resolve({ kind: "error", message: "prober closed" });
    let p: Pinger;
    let sa: Uint8Array<ArrayBuffer>;
    try {
      const to = sockaddrOf(address, 0);
      sa = to.sa;
      p = this.#pinger(netns, to.family === AF_INET6);
    } catch (e) {
      return Promise.resolve({ kind: "error", message: (e as Error).message });
    }
    const n = this.#counter++ >>> 0;
    const id = (n >>> 16) & 0xffff;
    const seq = n & 0xffff;
    const key = (id << 16) | seq;
    const packet = echoRequest(id, seq, p.v6);
    return new Promise<Observed>((resolve) => {
      const finish = (o: Observed) => {
        const entry = p.pending.get(key);
        if (!entry) return;
        entry.deadline.cancel();
        p.pending.delete(key);
        resolve(o);
      };
      const deadline = this.#loop.deadline(() => finish({ kind: "timeout" }));
      p.pending.set(key, { resolve, deadline });
      const trySend = () => {
        if (!p.pending.has(key)) return;
        const rc = Number(libc().sendto(p.fd, packet, BigInt(packet.length), 0, sa, sa.length));
        if (rc >= 0) {
          this.sent++;
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

  /** Reads every packet that has arrived on `p`'s socket; resolves the matching probes. */
  #drain(p: Pinger): void {
    const buf = this.#buf;
    const from = new Uint8Array(28);
    const fromLen = new Uint32Array([from.length]);
    while (true) {
      fromLen[0] = from.length;
      const n = p.v6
        ? Number(libc().recvfrom(p.fd, buf, BigInt(buf.length), MSG_DONTWAIT, from, fromLen))
        : Number(libc().recv(p.fd, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n <= 0) return;
      const ev = p.v6
        ? parseIcmp6(buf.subarray(0, n), sockaddr6Text(from))
        : parseIcmp(buf.subarray(0, n));
      if (!ev) continue;
      const entry = p.pending.get((ev.id << 16) | ev.seq);
      if (!entry) continue;
      entry.deadline.cancel();
      p.pending.delete((ev.id << 16) | ev.seq);
      entry.resolve(
        ev.kind === "reply"
          ? { kind: "open", from: ev.from }
          : { kind: "unreachable", detail: ev.detail },
      );
    }
  }

  /** Closes every socket; waiting probes resolve as errors. */
  close(): void {
    for (const p of this.#pingers.values()) {
      for (const entry of p.pending.values()) {
        entry.deadline.cancel();
        entry.resolve({ kind: "error", message: "prober closed" });
      }
      p.pending.clear();
      this.#loop.forget(p.fd);
      libc().close(p.fd);
    }
    this.#pingers.clear();
  }
}
