/**
 * ICMP echo from inside namespaces: one raw socket per namespace (`socket(AF_INET, SOCK_RAW,
 * IPPROTO_ICMP)`, created on the calling thread inside the namespace) on the run's {@link Epoll},
 * replies matched to requests by ICMP id and sequence number.
 *
 * Equivalent to: `ip netns exec NS ping -c1 -W1 ADDRESS`, thousands at once from one process.
 *
 * @module
 */

import {
  AF_INET,
  EPOLLIN,
  errno,
  errnoName,
  ICMP_FILTER,
  IPPROTO_ICMP,
  libc,
  MSG_DONTWAIT,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_RAW,
} from "../kernel/sys/ffi.ts";
import type { Deadline, Epoll } from "../kernel/sys/epoll.ts";
import { socketIn } from "../kernel/netns/netns.ts";
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
  deadline: Deadline;
}

/** One raw ICMP socket in one namespace. */
class Pinger {
  readonly pending = new Map<number, Pending>();
  constructor(readonly netns: string, readonly fd: number) {}
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
      const made = new Pinger(netns, fd);
      try {
        this.#loop.watch(fd, EPOLLIN, () => this.#drain(made));
      } catch (e) {
        c.close(fd);
        throw e;
      }
      this.#pingers.set(netns, made);
      p = made;
    }
    return p;
  }

  /** Sends one echo request from `netns` to `address`; resolves by the deadline at the latest. */
  ping(netns: string, address: string): Promise<Observed> {
    if (this.#loop.closed) return Promise.resolve({ kind: "error", message: "prober closed" });
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
        entry.deadline.cancel();
        p.pending.delete(key);
        resolve(o);
      };
      const deadline = this.#loop.deadline(() => finish({ kind: "timeout" }));
      p.pending.set(key, { resolve, deadline });
      const trySend = () => {
        if (!p.pending.has(key)) return;
        const rc = Number(libc().sendto(p.fd, packet, BigInt(packet.length), 0, sa, 16));
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
    while (true) {
      const n = Number(libc().recv(p.fd, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n <= 0) return;
      const ev = parseIcmp(buf.subarray(0, n));
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
