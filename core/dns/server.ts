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
 * @module
 */

import { NslabError } from "../errors.ts";
import { withNetns } from "../netns/netns.ts";
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
  udp: Deno.DatagramConn;
  tcp: Deno.Listener;
  conns: Set<Deno.Conn>;
  forwarder: Forwarder;
  closed: boolean;
  loops: Promise<void>[];
}

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
  /** Listeners between bind and start (concurrent listen() calls wait for them). */
  #starting = new Map<string, Promise<void>>();
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
   * `requester`. Listening again with the same requester does nothing.
   * Like Docker's resolver in the container's namespace (which Docker reaches through a DNAT).
   */
  listen(netns: string, requester: string): Promise<void> {
    const starting = this.#starting.get(netns);
    if (starting !== undefined) {
      return starting.catch(() => {}).then(() => this.listen(netns, requester));
    }
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
    let udp: Deno.DatagramConn;
    let tcp: Deno.Listener;
    try {
      [udp, tcp] = withNetns(netns, () => {
        const u = Deno.listenDatagram({ transport: "udp", hostname: address, port });
        try {
          return [u, Deno.listen({ transport: "tcp", hostname: address, port })] as const;
        } catch (e) {
          u.close();
          throw e;
        }
      });
    } catch (e) {
      return Promise.reject(listenError(netns, address, port, e));
    }
    const promise = this.#checkReachable(netns, udp, tcp)
      .then(() => this.#start(netns, requester, udp, tcp))
      .finally(() => this.#starting.delete(netns));
    this.#starting.set(netns, promise);
    return promise;
  }

  /**
   * Binding 127.0.0.11 succeeds even while `lo` is down, but then nothing can reach it: send an
   * empty datagram from inside the namespace (the server drops it) and fail if it cannot leave.
   */
  async #checkReachable(netns: string, udp: Deno.DatagramConn, tcp: Deno.Listener) {
    const { address, port } = this.#opts;
    const probe = withNetns(
      netns,
      () => Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 }),
    );
    try {
      await probe.send(new Uint8Array(0), { transport: "udp", hostname: address, port });
    } catch (e) {
      udp.close();
      tcp.close();
      throw listenError(netns, address, port, new Deno.errors.AddrNotAvailable(String(e)));
    } finally {
      probe.close();
    }
  }

  #start(netns: string, requester: string, udp: Deno.DatagramConn, tcp: Deno.Listener): void {
    const l: Listener = {
      netns,
      requester,
      udp,
      tcp,
      conns: new Set(),
      forwarder: new Forwarder(netns, { timeoutMs: this.#opts.forwardTimeoutMs }),
      closed: false,
      loops: [],
    };
    l.loops.push(this.#udpLoop(l), this.#tcpLoop(l));
    this.#listeners.set(netns, l);
  }

  /**
   * Closes the sockets in `netns` (queries there then time out). The sockets are closed before
   * this returns; the promise settles when the loops have ended. Unknown namespaces are ignored.
   */
  unlisten(netns: string): Promise<void> {
    const l = this.#listeners.get(netns);
    if (l === undefined) return Promise.resolve();
    this.#listeners.delete(netns);
    l.closed = true;
    for (const c of [l.udp, l.tcp, ...l.conns]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    l.conns.clear();
    const fwd = l.forwarder.close();
    return Promise.all([...l.loops, fwd]).then(() => {});
  }

  /** Closes every listener (sockets close before this returns). */
  close(): Promise<void> {
    return Promise.all(this.namespaces().map((ns) => this.unlisten(ns))).then(() => {});
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The response to one packet from `requester`, or null to send nothing. Synchronous unless the
   * name is forwarded. Exposed for tests; the socket loops call it.
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
      return forwarder.query(copy, table.upstream).then((a) => {
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

  async #udpLoop(l: Listener): Promise<void> {
    const buf = new Uint8Array(65536);
    while (!l.closed) {
      let msg: [Uint8Array, Deno.Addr];
      try {
        msg = await l.udp.receive(buf);
      } catch (e) {
        if (l.closed || e instanceof Deno.errors.BadResource) return;
        continue;
      }
      const [data, addr] = msg;
      try {
        const out = this.answer(data, l.requester, "udp", l.forwarder);
        if (out === null) continue;
        if (out instanceof Uint8Array) {
          l.udp.send(out, addr).catch(() => {});
        } else {
          out.then((o) => {
            if (o !== null && !l.closed) l.udp.send(o, addr).catch(() => {});
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

function listenError(netns: string, address: string, port: number, e: unknown): NslabError {
  const where = `${address}:${port} in namespace "${netns}"`;
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return new NslabError(
      `Cannot serve DNS at ${where}: the address is not available (loopback is down); ` +
        `bring it up: ip -n ${netns} link set lo up`,
      1,
      { cause: e },
    );
  }
  if (e instanceof Deno.errors.AddrInUse) {
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
