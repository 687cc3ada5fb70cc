/**
 * The embedded DNS server: one UDP and one TCP socket at 127.0.0.11:53 inside every container
 * namespace, all served by this process (enter the namespace, open the sockets, leave). Each
 * namespace's sockets answer for one requesting container, so scoping needs no source-address
 * tricks.
 *
 * Behaviour: authoritative answers (AA), RD copied, RA set; UDP answers larger than 512 bytes (or
 * the EDNS size) are sent empty with TC so the client retries over TCP; TCP takes several
 * length-prefixed queries per connection and closes idle ones; malformed packets get FORMERR,
 * unknown opcodes NOTIMP, responses and runts are dropped; names outside the lab go to the
 * upstream servers only when {@link lookup} says so (SERVFAIL when none answers). Nothing a packet
 * does can throw out of the socket loops.
 *
 * UDP, where nearly every query arrives, is served through libc sockets on the {@link processLoop}
 * the responders share: a readable socket is drained with `recvfrom` into one receive buffer for
 * the whole process, each datagram answered and the answer sent with `sendto` at once, so a query
 * costs a few system calls and no runtime op or promise (a check run asks tens of thousands).
 * Forwarded names answer later, to a copy of the sender's address, and only while the listener is
 * open. TCP (truncated answers, rare) stays on Deno's sockets (`tcp.ts`).
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import { processLoop } from "../kernel/sys/epoll.ts";
import {
  EAGAIN,
  EPOLLIN,
  errno,
  libc,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
} from "../kernel/sys/ffi.ts";
import { boundSocketIn, withNetns } from "../kernel/netns/netns.ts";
import { Forwarder } from "./forward.ts";
import { acceptTcp, type TcpListener } from "./tcp.ts";
import { checkReachable, listenError } from "./listen_checks.ts";
import { type Answer, QTYPES, type RecordTable } from "./records.ts";
import { lookup, rotate } from "./lookup.ts";
import { encodeError, encodeRcode, encodeResponse, parseQuery, RCODE, udpLimit } from "./wire.ts";

/** Docker's embedded resolver address. */
export const DNS_ADDRESS = "127.0.0.11";

/** Options of {@link DnsServer}. */
export interface DnsServerOptions {
  /** Listening address inside each namespace (default 127.0.0.11). */
  address?: string;
  /** Listening port (default 53). */
  port?: number;
  /** Close a TCP connection with no complete query for this long (default 10 s). */
  tcpIdleTimeoutMs?: number;
  /** Most TCP connections per namespace (default 128); more are closed at once. */
  maxTcpConnections?: number;
  /** Largest TCP query frame accepted (default 4096 bytes); larger ones close the connection. */
  maxTcpFrame?: number;
  /** Per-upstream forwarding timeout (default 2000 ms). */
  forwardTimeoutMs?: number;
}

/** Counters of one server (all namespaces), for tests and benchmarks. */
export interface DnsStats {
  /** Packets or frames received. */
  received: number;
  /** Responses sent (any rcode). */
  answered: number;
  /** Packets dropped without an answer (runts, responses). */
  dropped: number;
  formerr: number;
  notimp: number;
  /** UDP responses sent empty with TC. */
  truncated: number;
  forwarded: number;
  /** Forwards that got no upstream answer (SERVFAIL). */
  forwardFailed: number;
  /** TCP connections closed for an oversized frame. */
  oversized: number;
  /** Exceptions caught inside the loops (a bug if non-zero; the server keeps running). */
  internalErrors: number;
}

/** One namespace's sockets, and what serving them needs. */
interface Listener extends TcpListener {
  netns: string;
  requester: string;
  /** The UDP socket (a libc fd, watched on the process loop). */
  udp: number;
  forwarder: Forwarder;
  /** The TCP accept loop. */
  accepting: Promise<void>;
}

/** Largest UDP datagram: nothing a client sends is cut short. */
const UDP_MAX = 65536;
/** `struct sockaddr_in`. */
const SOCKADDR_IN = 16;
/**
 * The receive buffer of every UDP listener of the process (one datagram at a time is read on the
 * main thread), and the sender's address of that datagram. Nothing may keep a reference to them
 * past the datagram's turn: `answer()` copies the packet it forwards.
 */
const recvBuf = new Uint8Array(UDP_MAX);
const RECV_LEN = BigInt(UDP_MAX);
const fromBuf = new Uint8Array(SOCKADDR_IN);
const fromLen = new Uint32Array(1);
/**
 * Datagrams read per readiness report before the loop serves other sockets (the socket stays
 * readable, so the loop comes back to it).
 */
const DRAIN_BATCH = 256;

type Transport = "udp" | "tcp";

function newStats(): DnsStats {
  return {
    received: 0,
    answered: 0,
    dropped: 0,
    formerr: 0,
    notimp: 0,
    truncated: 0,
    forwarded: 0,
    forwardFailed: 0,
    oversized: 0,
    internalErrors: 0,
  };
}

/**
 * Serves a {@link RecordTable} at 127.0.0.11:53 (UDP and TCP) inside container namespaces.
 *
 * @example
 * ```ts
 * const dns = new DnsServer(buildRecords(model));
 * await dns.listen("shop-web", "web");   // lo must be up in shop-web
 * dns.setTable(buildRecords(changedModel)); // answers change at once
 * await dns.close();
 * ```
 */
export class DnsServer {
  #table: RecordTable;
  #opts: Required<DnsServerOptions>;
  #listeners = new Map<string, Listener>();
  #turns = new Map<string, number>();
  /** Counters since construction. */
  readonly stats: DnsStats = newStats();

  constructor(table: RecordTable, opts: DnsServerOptions = {}) {
    this.#table = table;
    this.#opts = {
      address: opts.address ?? DNS_ADDRESS,
      port: opts.port ?? 53,
      tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs ?? 10_000,
      maxTcpConnections: opts.maxTcpConnections ?? 128,
      maxTcpFrame: opts.maxTcpFrame ?? 4096,
      forwardTimeoutMs: opts.forwardTimeoutMs ?? 2000,
    };
  }

  /** The table being served. */
  get table(): RecordTable {
    return this.#table;
  }

  /** Replaces the table; the next query in every namespace sees it (e.g. after `network connect`). */
  setTable(table: RecordTable): void {
    this.#table = table;
    this.#turns.clear();
  }

  /** Namespaces with listeners, sorted. */
  namespaces(): string[] {
    return [...this.#listeners.keys()].sort();
  }

  /**
   * Opens UDP and TCP sockets at 127.0.0.11:53 inside `netns`, answering as container
   * `requester`. Listening again with the same requester does nothing. The sockets are open and
   * served when this returns (the promise only carries the outcome).
   * Like Docker's resolver in the container's namespace (which Docker reaches through a DNAT).
   */
  listen(netns: string, requester: string): Promise<void> {
    const existing = this.#listeners.get(netns);
    if (existing !== undefined) {
      if (existing.requester === requester) return Promise.resolve();
      return Promise.reject(
        new NslabError(
          `Cannot serve DNS for "${requester}" in namespace "${netns}": it already serves ` +
            `"${existing.requester}" there; unlisten("${netns}") first`,
        ),
      );
    }
    const { address, port } = this.#opts;
    let udp = -1;
    let tcp: Deno.Listener | null = null;
    try {
      udp = boundSocketIn(netns, SOCK_DGRAM | SOCK_NONBLOCK, address, port);
      tcp = withNetns(netns, () => Deno.listen({ transport: "tcp", hostname: address, port }));
      checkReachable(netns, address, port);
      this.#start(netns, requester, udp, tcp);
    } catch (e) {
      if (udp >= 0) libc().close(udp);
      try {
        tcp?.close();
      } catch { /* already closed */ }
      return Promise.reject(listenError(netns, address, port, e));
    }
    return Promise.resolve();
  }

  #start(netns: string, requester: string, udp: number, tcp: Deno.Listener): void {
    const l: Listener = {
      netns,
      requester,
      udp,
      tcp,
      conns: new Set(),
      forwarder: new Forwarder(netns, { timeoutMs: this.#opts.forwardTimeoutMs }),
      closed: false,
      accepting: Promise.resolve(),
    };
    processLoop().watch(udp, EPOLLIN, () => this.#drain(l));
    l.accepting = acceptTcp(
      l,
      this.#opts,
      this.stats,
      (frame) => this.answer(frame, l.requester, "tcp", l.forwarder),
    );
    this.#listeners.set(netns, l);
  }

  /**
   * Closes the sockets in `netns` (queries there then time out). The UDP socket is closed before
   * this returns, and an answer still being forwarded is not sent; Deno releases the TCP listener
   * when its accept loop has ended, by the time the promise settles. Unknown namespaces are
   * ignored.
   */
  unlisten(netns: string): Promise<void> {
    const l = this.#listeners.get(netns);
    if (l === undefined) return Promise.resolve();
    this.#listeners.delete(netns);
    l.closed = true;
    processLoop().forget(l.udp);
    libc().close(l.udp);
    for (const c of [l.tcp, ...l.conns]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    l.conns.clear();
    const fwd = l.forwarder.close();
    return Promise.all([l.accepting, fwd]).then(() => {});
  }

  /** Closes every listener (see {@link unlisten}). */
  close(): Promise<void> {
    return Promise.all(this.namespaces().map((ns) => this.unlisten(ns))).then(() => {});
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The response to one packet from `requester`, or null to send nothing. Synchronous unless the
   * name is forwarded. Neither the response nor the promise refers to `packet` (the UDP receive
   * buffer is reused for the next datagram). Exposed for tests; the socket loops call it.
   */
  answer(
    packet: Uint8Array,
    requester: string,
    transport: Transport,
    forwarder?: Forwarder,
  ): Uint8Array | null | Promise<Uint8Array | null> {
    const s = this.stats;
    s.received++;
    const r = parseQuery(packet);
    if (r.kind === "drop") {
      s.dropped++;
      return null;
    }
    if (r.kind === "error") {
      if (r.rcode === RCODE.FORMERR) s.formerr++;
      else s.notimp++;
      s.answered++;
      return encodeError(r);
    }
    const q = r.query;
    const maxSize = transport === "udp" ? udpLimit(q) : 0xffff;
    s.answered++;
    if (q.edns !== null && q.edns.version > 0) return encodeRcode(q, packet, RCODE.BADVERS);
    if (q.qclass !== 1 && q.qclass !== QTYPES.ANY) return encodeRcode(q, packet, RCODE.REFUSED);
    const table = this.#table;
    const res = lookup(table, requester, q.qname, q.qtype);
    if (res.forward) {
      if (forwarder === undefined) return encodeRcode(q, packet, RCODE.SERVFAIL);
      s.forwarded++;
      const copy = packet.slice();
      return forwarder.query(copy, res.upstream ?? table.upstream).then((a) => {
        if (a !== null) return a;
        s.forwardFailed++;
        return encodeRcode(q, copy, RCODE.SERVFAIL);
      });
    }
    let answers: Answer[] = res.answers;
    if (answers.length > 1) {
      const key = `${requester}\n${q.qname}`;
      const turn = this.#turns.get(key) ?? 0;
      if (this.#turns.size > 100_000) this.#turns.clear();
      this.#turns.set(key, turn + 1);
      answers = rotate(answers, turn);
    }
    const out = encodeResponse(
      q,
      packet,
      RCODE[res.rcode],
      answers,
      res.additional ?? [],
      maxSize,
    );
    if ((out[2] & 2) !== 0) s.truncated++;
    return out;
  }

  /**
   * Reads the datagrams waiting on `l`'s UDP socket (up to {@link DRAIN_BATCH}) and answers each
   * to its sender. Called by the process loop while the socket is readable.
   */
  #drain(l: Listener): void {
    const c = libc();
    for (let i = 0; i < DRAIN_BATCH && !l.closed; i++) {
      fromLen[0] = SOCKADDR_IN;
      const n = Number(c.recvfrom(l.udp, recvBuf, RECV_LEN, MSG_DONTWAIT, fromBuf, fromLen));
      if (n < 0) {
        if (errno() === EAGAIN) return;
        continue; // a pending socket error (e.g. from an ICMP): reading it cleared it
      }
      try {
        const out = this.answer(recvBuf.subarray(0, n), l.requester, "udp", l.forwarder);
        if (out === null) continue;
        if (out instanceof Uint8Array) {
          sendTo(l.udp, out, fromBuf, fromLen[0]);
        } else {
          const to = fromBuf.slice(0, fromLen[0]);
          out.then((o) => {
            // Closed: the fd may already belong to another socket.
            if (o !== null && !l.closed) sendTo(l.udp, o, to, to.length);
          }).catch(() => this.stats.internalErrors++);
        }
      } catch {
        this.stats.internalErrors++;
      }
    }
  }
}

/** Sends one datagram to the `struct sockaddr` in `to`; a failure drops it (UDP). */
function sendTo(fd: number, msg: Uint8Array, to: Uint8Array<ArrayBuffer>, toLen: number): void {
  libc().sendto(fd, msg as Uint8Array<ArrayBuffer>, BigInt(msg.length), MSG_DONTWAIT, to, toLen);
}
