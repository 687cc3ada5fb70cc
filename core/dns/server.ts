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
 * open. TCP (truncated answers, rare) stays on Deno's sockets.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import { processLoop } from "../kernel/sys/epoll.ts";
import {
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAGAIN,
  EPOLLIN,
  errno,
  libc,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  sockaddrIn,
  SyscallError,
} from "../kernel/sys/ffi.ts";
import { boundSocketIn, socketIn, withNetns } from "../kernel/netns/netns.ts";
import { Forwarder } from "./forward.ts";
import { type Answer, lookup, QTYPES, type RecordTable, rotate } from "./records.ts";
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

interface Listener {
  netns: string;
  requester: string;
  /** The UDP socket (a libc fd, watched on the process loop). */
  udp: number;
  tcp: Deno.Listener;
  conns: Set<Deno.Conn>;
  forwarder: Forwarder;
  closed: boolean;
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
    l.accepting = this.#tcpLoop(l);
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

  async #tcpLoop(l: Listener): Promise<void> {
    while (!l.closed) {
      let conn: Deno.Conn;
      try {
        conn = await l.tcp.accept();
      } catch (e) {
        if (l.closed || e instanceof Deno.errors.BadResource) return;
        continue;
      }
      if (l.conns.size >= this.#opts.maxTcpConnections) {
        conn.close();
        continue;
      }
      l.conns.add(conn);
      this.#tcpConn(l, conn).catch(() => this.stats.internalErrors++).finally(() => {
        l.conns.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    }
  }

  /** Serves length-prefixed queries on one TCP connection until EOF, error, idle or oversize. */
  async #tcpConn(l: Listener, conn: Deno.Conn): Promise<void> {
    const max = this.#opts.maxTcpFrame;
    const buf = new Uint8Array(max + 2 + 4096);
    let start = 0;
    let end = 0;
    const closeIdle = () => {
      try {
        conn.close();
      } catch { /* already closed */ }
    };
    let idle = setTimeout(closeIdle, this.#opts.tcpIdleTimeoutMs);
    try {
      for (;;) {
        // Serve every complete frame in the buffer.
        while (end - start >= 2) {
          const len = (buf[start] << 8) | buf[start + 1];
          if (len > max) {
            this.stats.oversized++;
            return;
          }
          if (end - start < 2 + len) break;
          const frame = buf.slice(start + 2, start + 2 + len);
          start += 2 + len;
          clearTimeout(idle);
          let out = this.answer(frame, l.requester, "tcp", l.forwarder);
          if (out instanceof Promise) out = await out;
          if (out !== null) {
            try {
              await writeAll(conn, framed(out));
            } catch {
              return; // the peer went away (reset, broken pipe, closed on idle)
            }
          }
          idle = setTimeout(closeIdle, this.#opts.tcpIdleTimeoutMs);
        }
        if (start === end) start = end = 0;
        else if (end === buf.length) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        let n: number | null;
        try {
          n = await conn.read(buf.subarray(end));
        } catch {
          return;
        }
        if (n === null) return;
        end += n;
      }
    } finally {
      clearTimeout(idle);
    }
  }
}

function framed(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 2);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Binding 127.0.0.11 succeeds even while `lo` is down, but then nothing can reach it: send an
 * empty datagram from inside the namespace (the server drops it) and throw a `sendto`
 * SyscallError if it cannot leave.
 */
function checkReachable(netns: string, address: string, port: number): void {
  const c = libc();
  const sa = sockaddrIn(address, port);
  const fd = socketIn(netns, SOCK_DGRAM);
  const rc = c.sendto(fd, new Uint8Array(0), 0n, MSG_DONTWAIT, sa, sa.length);
  const code = errno();
  c.close(fd);
  if (rc < 0) throw new SyscallError("sendto", code, `${address}:${port}`);
}

/** Sends one datagram to the `struct sockaddr` in `to`; a failure drops it (UDP). */
function sendTo(fd: number, msg: Uint8Array, to: Uint8Array<ArrayBuffer>, toLen: number): void {
  libc().sendto(fd, msg as Uint8Array<ArrayBuffer>, BigInt(msg.length), MSG_DONTWAIT, to, toLen);
}

/** The errno behind a failed bind or reachability check (0 when it is not one of those). */
function errnoOf(e: unknown): number {
  if (e instanceof SyscallError) return e.errno;
  if (e instanceof Deno.errors.AddrInUse) return EADDRINUSE;
  if (e instanceof Deno.errors.AddrNotAvailable) return EADDRNOTAVAIL;
  return 0;
}

function listenError(netns: string, address: string, port: number, e: unknown): NslabError {
  const where = `${address}:${port} in namespace "${netns}"`;
  const code = errnoOf(e);
  // The reachability probe's send fails (ENETUNREACH) when lo is down.
  if (code === EADDRNOTAVAIL || (e instanceof SyscallError && e.call === "sendto")) {
    return new NslabError(
      `Cannot serve DNS at ${where}: the address is not available (loopback is down); ` +
        `bring it up: ip -n ${netns} link set lo up`,
      1,
      { cause: e },
    );
  }
  if (code === EADDRINUSE) {
    return new NslabError(
      `Cannot serve DNS at ${where}: another socket already uses it; stop that server ` +
        `(ip netns exec ${netns} ss -lunp sport = :${port})`,
      1,
      { cause: e },
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new NslabError(`Cannot serve DNS at ${where}: ${msg}`, 1, { cause: e });
}
