/**
 * DNS over TCP for the embedded server: the accept loop of one namespace's listener and the
 * serving of length-prefixed queries on each connection (several per connection, idle ones
 * closed, oversized frames refused). Rare — only truncated UDP answers come here — so it stays on
 * Deno's sockets; the answers come from the server's `answer()`.
 *
 * @module
 */

/** A namespace's TCP listener and its open connections. */
export interface TcpListener {
  tcp: Deno.Listener;
  conns: Set<Deno.Conn>;
  closed: boolean;
}

/** The server's limits that apply to TCP. */
export interface TcpLimits {
  /** Close a connection with no complete query for this long. */
  tcpIdleTimeoutMs: number;
  /** Most connections per namespace; more are closed at once. */
  maxTcpConnections: number;
  /** Largest query frame accepted; larger ones close the connection. */
  maxTcpFrame: number;
}

/** The server's counters that TCP serving moves. */
export interface TcpCounters {
  oversized: number;
  internalErrors: number;
}

/** The response to one query frame, or null to send nothing. */
export type AnswerFrame = (frame: Uint8Array) => Uint8Array | null | Promise<Uint8Array | null>;

/**
 * Accepts connections on `l` until it closes, serving each with {@link serveConnection}; over
 * `limits.maxTcpConnections` a new connection is closed at once.
 */
export async function acceptTcp(
  l: TcpListener,
  limits: TcpLimits,
  counters: TcpCounters,
  answer: AnswerFrame,
): Promise<void> {
  while (!l.closed) {
    let conn: Deno.Conn;
    try {
      conn = await l.tcp.accept();
    } catch (e) {
      if (l.closed || e instanceof Deno.errors.BadResource) return;
      continue;
    }
    if (l.conns.size >= limits.maxTcpConnections) {
      conn.close();
      continue;
    }
    l.conns.add(conn);
    serveConnection(conn, limits, counters, answer).catch(() => counters.internalErrors++).finally(
      () => {
        l.conns.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      },
    );
  }
}

/** Serves length-prefixed queries on one TCP connection until EOF, error, idle or oversize. */
export async function serveConnection(
  conn: Deno.Conn,
  limits: TcpLimits,
  counters: TcpCounters,
  answer: AnswerFrame,
): Promise<void> {
  const max = limits.maxTcpFrame;
  const buf = new Uint8Array(max + 2 + 4096);
  let start = 0;
  let end = 0;
  const closeIdle = () => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  let idle = setTimeout(closeIdle, limits.tcpIdleTimeoutMs);
  try {
    for (;;) {
      // Serve every complete frame in the buffer.
      while (end - start >= 2) {
        const len = (buf[start] << 8) | buf[start + 1];
        if (len > max) {
          counters.oversized++;
          return;
        }
        if (end - start < 2 + len) break;
        const frame = buf.slice(start + 2, start + 2 + len);
        start += 2 + len;
        clearTimeout(idle);
        let out = answer(frame);
        if (out instanceof Promise) out = await out;
        if (out !== null) {
          try {
            await writeAll(conn, framed(out));
          } catch {
            return; // the peer went away (reset, broken pipe, closed on idle)
          }
        }
        idle = setTimeout(closeIdle, limits.tcpIdleTimeoutMs);
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
/** A DNS message with its two-byte length in front, as TCP carries it. */
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
