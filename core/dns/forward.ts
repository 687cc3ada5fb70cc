/**
 * Forwarding of names outside the lab to the topology's upstream servers (`dns.upstream`), over
 * UDP from inside the requesting container's namespace (so the container's routes and NAT apply,
 * as for Docker's embedded resolver with non-host upstreams).
 *
 * One UDP socket per namespace, opened on first use; queries get a fresh random id so answers are
 * matched by id and source address; each upstream is tried in turn with a timeout.
 *
 * @module
 */

import { withNetns } from "../kernel/netns/netns.ts";
import { withId } from "./wire.ts";

/** Docker's `maxExtDNS`: at most this many upstream servers are tried. */
export const MAX_UPSTREAMS = 3;

/** An upstream server address. */
export interface Upstream {
  hostname: string;
  port: number;
}

/** Parses `10.0.0.53` or `10.0.0.53:5353`; null when it is not an IPv4 address (and port). */
export function parseUpstream(s: string): Upstream | null {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(s.trim());
  if (m === null) return null;
  if (m[1].split(".").some((o) => Number(o) > 255)) return null;
  const port = m[2] === undefined ? 53 : Number(m[2]);
  if (port < 1 || port > 65535) return null;
  // Never forward to the embedded server itself.
  if (m[1] === "127.0.0.11" && port === 53) return null;
  return { hostname: m[1], port };
}

interface Pending {
  upstream: Upstream;
  resolve: (answer: Uint8Array | null) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Options of {@link Forwarder}. */
export interface ForwarderOptions {
  /** How long to wait for each upstream (default 2000 ms). */
  timeoutMs?: number;
  /** Most queries in flight at once (Docker: 1024); beyond that, fail at once. */
  maxPending?: number;
}

/** Sends queries to upstream servers from inside one namespace. */
export class Forwarder {
  readonly netns: string;
  #timeoutMs: number;
  #maxPending: number;
  #socket: Deno.DatagramConn | null = null;
  #pending = new Map<number, Pending>();
  #closed = false;
  #loop: Promise<void> | null = null;

  constructor(netns: string, opts: ForwarderOptions = {}) {
    this.netns = netns;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#maxPending = opts.maxPending ?? 1024;
  }

  /** Queries in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  #open(): Deno.DatagramConn {
    if (this.#socket === null) {
      this.#socket = withNetns(
        this.netns,
        () => Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 }),
      );
      this.#loop = this.#receive(this.#socket);
    }
    return this.#socket;
  }

  async #receive(socket: Deno.DatagramConn): Promise<void> {
    const buf = new Uint8Array(65536);
    while (!this.#closed) {
      let msg: [Uint8Array, Deno.Addr];
      try {
        msg = await socket.receive(buf);
      } catch {
        if (this.#closed) return;
        continue;
      }
      const [data, addr] = msg;
      if (data.length < 12 || addr.transport !== "udp") continue;
      const id = (data[0] << 8) | data[1];
      const p = this.#pending.get(id);
      if (p === undefined) continue;
      if (addr.hostname !== p.upstream.hostname || addr.port !== p.upstream.port) continue;
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(data.slice());
    }
  }

  #freshId(): number {
    for (;;) {
      const id = (Math.random() * 0x10000) | 0;
      if (!this.#pending.has(id)) return id;
    }
  }

  #ask(packet: Uint8Array, upstream: Upstream): Promise<Uint8Array | null> {
    const socket = this.#open();
    const id = this.#freshId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(null);
      }, this.#timeoutMs);
      this.#pending.set(id, { upstream, resolve, timer });
      socket.send(withId(packet, id), { transport: "udp", ...upstream }).catch(() => {
        const p = this.#pending.get(id);
        if (p === undefined) return;
        this.#pending.delete(id);
        clearTimeout(p.timer);
        resolve(null);
      });
    });
  }

  /**
   * Sends `query` to each upstream in turn (at most {@link MAX_UPSTREAMS}) until one answers;
   * returns the answer with the original id, or null when none answered in time (the caller
   * answers SERVFAIL).
   */
  async query(query: Uint8Array, upstreams: readonly string[]): Promise<Uint8Array | null> {
    if (this.#closed || query.length < 12) return null;
    const origId = (query[0] << 8) | query[1];
    const servers = upstreams.map(parseUpstream).filter((u): u is Upstream => u !== null);
    for (const upstream of servers.slice(0, MAX_UPSTREAMS)) {
      if (this.#pending.size >= this.#maxPending || this.#closed) return null;
      let answer: Uint8Array | null;
      try {
        answer = await this.#ask(query, upstream);
      } catch {
        answer = null;
      }
      if (answer !== null) {
        answer[0] = origId >> 8;
        answer[1] = origId & 0xff;
        return answer;
      }
    }
    return null;
  }

  /** Closes the socket; queries in flight resolve to null. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.#pending.clear();
    try {
      this.#socket?.close();
    } catch { /* already closed */ }
    await this.#loop;
  }
}
