/**
 * DNS probes: queries to the embedded DNS (127.0.0.11:53) from inside the source namespace. One
 * connected UDP socket per namespace and server carries all of that namespace's queries, matched
 * to their answers by DNS id, on the run's {@link Epoll}: thousands of names cost one socket per
 * container instead of one per name.
 *
 * A server that is not listening shows as `refused` (the kernel's port-unreachable reaches the
 * connected socket); one that is silent as `timeout`.
 *
 * Equivalent to: `ip netns exec NS dig @127.0.0.11 NAME TYPE`, thousands at once.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import dnsPacket from "dns-packet";
import {
  EAGAIN,
  ECONNREFUSED,
  EPOLLERR,
  EPOLLIN,
  errno,
  errnoName,
  libc,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  sockaddrIn,
} from "../kernel/sys/ffi.ts";
import { socketIn } from "../kernel/netns/netns.ts";
import type { Deadline, Epoll } from "../kernel/sys/epoll.ts";
import type { DnsType, Observed } from "./types.ts";

/**
 * Queries one socket keeps in flight; the rest wait their turn. A burst of hundreds would overrun
 * the socket buffers of the server or of this socket (datagrams dropped, probes timing out), and no
 * real resolver asks like that.
 */
const WINDOW = 32;
/** Largest answer read (EDNS-less UDP answers are at most 512 bytes; be generous). */
const MAX_ANSWER = 4096;

interface Query {
  name: string;
  type: DnsType;
  deadline: Deadline | null;
  resolve: (o: Observed) => void;
}

/** Formats a decoded answer record for comparison: address, name, or `target:port`. */
function answerText(a: { type: string; data: unknown }): string {
  if (a.type === "SRV") {
    const d = a.data as { target: string; port: number };
    return `${d.target}:${d.port}`;
  }
  return String(a.data);
}

/** Decodes a DNS response into an observation of the records of `type` it answers. */
export function dnsObservation(bytes: Uint8Array, type: DnsType): Observed {
  try {
    const res = dnsPacket.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const answers = (res.answers ?? [])
      .filter((a: { type: string }) => a.type === type)
      .map(answerText);
    return { kind: "dns", rcode: String(res.rcode ?? "NOERROR"), answers };
  } catch (e) {
    return { kind: "wrong-answer", detail: `undecodable DNS response: ${(e as Error).message}` };
  }
}

/** One connected socket: its queries in flight by id, and those waiting for room. */
class Resolver {
  readonly pending = new Map<number, Query>();
  readonly waiting: Query[] = [];
  nextId = Math.floor(Math.random() * 0x10000);
  constructor(readonly fd: number) {}
}

/**
 * The DNS probes of one run.
 *
 * @example
 * ```ts
 * const loop = new Epoll(1000);
 * const dns = new DnsProber(loop);
 * console.log(await dns.query("shop-web", "127.0.0.11:53", "api", "A"));
 * // { kind: "dns", rcode: "NOERROR", answers: ["172.20.0.3"] }
 * dns.close();
 * loop.close();
 * ```
 */
export class DnsProber {
  readonly #loop: Epoll;
  /** The socket in use per namespace and server. */
  readonly #resolvers = new Map<string, Resolver>();

  readonly #read = new Uint8Array(MAX_ANSWER);

  constructor(loop: Epoll) {
    this.#loop = loop;
  }

  /** Asks `server` (`address:port`) from inside `netns`; resolves by the deadline at the latest. */
  query(netns: string, server: string, name: string, type: DnsType): Promise<Observed> {
    if (this.#loop.closed) return Promise.resolve({ kind: "error", message: "prober closed" });
    let r: Resolver;
    try {
      r = this.#resolver(netns, server);
    } catch (e) {
      return Promise.resolve({ kind: "error", message: (e as Error).message });
    }
    return new Promise<Observed>((resolve) => {
      r.waiting.push({ name, type, deadline: null, resolve });
      this.#fill(r);
    });
  }

  /** Sends waiting queries while the window has room; the deadline starts at the send. */
  #fill(r: Resolver): void {
    while (r.pending.size < WINDOW && r.waiting.length > 0) {
      const q = r.waiting.shift()!;
      let id = r.nextId;
      while (r.pending.has(id)) id = (id + 1) & 0xffff;
      r.nextId = (id + 1) & 0xffff;
      const packet = dnsPacket.encode({
        type: "query",
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: q.type, name: q.name }],
      });
      const rc = Number(libc().sendto(r.fd, packet, BigInt(packet.length), 0, null, 0));
      if (rc < 0) {
        const code = errno();
        q.resolve(
          code === ECONNREFUSED
            ? { kind: "refused" }
            : { kind: "error", message: `send: ${errnoName(code)}` },
        );
        continue;
      }
      q.deadline = this.#loop.deadline(() => {
        r.pending.delete(id);
        q.resolve({ kind: "timeout" });
        this.#fill(r);
      });
      r.pending.set(id, q);
    }
  }

  /** The socket for `netns` → `server`, made on first use. */
  #resolver(netns: string, server: string): Resolver {
    const key = `${netns}|${server}`;
    const had = this.#resolvers.get(key);
    if (had) return had;
    const [address, port] = server.split(":");
    const sa = sockaddrIn(address, Number(port ?? 53));
    const c = libc();
    const fd = socketIn(netns, SOCK_DGRAM | SOCK_NONBLOCK);
    const r = new Resolver(fd);
    try {
      if (c.connect(fd, sa, sa.length) < 0) throw new Error(`connect: ${errnoName(errno())}`);
      this.#loop.watch(fd, EPOLLIN | EPOLLERR, () => this.#drain(r));
    } catch (e) {
      c.close(fd);
      throw e;
    }
    this.#resolvers.set(key, r);
    return r;
  }

  /** Reads every datagram that has arrived and answers the matching queries. */
  #drain(r: Resolver): void {
    const c = libc();
    while (true) {
      const n = Number(c.recv(r.fd, this.#read, BigInt(this.#read.length), MSG_DONTWAIT));
      if (n < 0) {
        const code = errno();
        if (code === EAGAIN) return;
        if (code === ECONNREFUSED) {
          // Port unreachable: nothing listens on the server address in this namespace.
          for (const q of r.pending.values()) {
            q.deadline?.cancel();
            q.resolve({ kind: "refused" });
          }
          r.pending.clear();
          this.#fill(r);
          continue;
        }
        return;
      }
      if (n < 12) continue;
      const id = (this.#read[0] << 8) | this.#read[1];
      const q = r.pending.get(id);
      if (!q) continue;
      r.pending.delete(id);
      q.deadline?.cancel();
      q.resolve(dnsObservation(this.#read.subarray(0, n), q.type)); // decoding copies
      this.#fill(r);
    }
  }

  /** Closes every socket; queries in flight resolve as errors. */
  close(): void {
    for (const r of this.#resolvers.values()) {
      for (const q of [...r.pending.values(), ...r.waiting]) {
        q.deadline?.cancel();
        q.resolve({ kind: "error", message: "prober closed" });
      }
      r.pending.clear();
      r.waiting.length = 0;
      this.#loop.forget(r.fd);
      libc().close(r.fd);
    }
    this.#resolvers.clear();
  }
}
