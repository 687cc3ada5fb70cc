/**
 * nslab's responder: what answers on a container's published and exposed ports when the container
 * has no command of its own. It tells every client WHICH container it reached:
 *
 * - TCP: when the client's first line is an HTTP request line (`GET / HTTP/1.1`), the headers are
 *   read up to the blank line and the answer is `HTTP/1.1 200 OK` with body `<name>\n`; otherwise
 *   `<name>\n` is written after the client's first line.
 * - UDP: every datagram is answered with `<name>\n`.
 * - SCTP: not served (Deno has no SCTP sockets); the port is listed in {@link Responder.skipped}.
 *
 * Listeners are created inside the container's namespace ({@link withNetns}) and served from this
 * process. Nothing a client does can throw out of an accept loop.
 *
 * @module
 */

import type { Protocol } from "../model/types.ts";
import { withNetns } from "../netns/netns.ts";

/** One port the responder listens on. */
export interface ResponderPort {
  port: number;
  protocol: Protocol;
}

/** Running listeners of one container. */
export interface Responder {
  /** Container name it answers with. */
  readonly name: string;
  readonly netns: string;
  /** Ports that are served. */
  readonly ports: ResponderPort[];
  /** Ports that could not be served, with the reason (e.g. sctp). */
  readonly skipped: { port: ResponderPort; reason: string }[];
  /** Stops every listener and open connection (idempotent). */
  close(): void;
}

/** Longest first line or header block a client may send before the responder gives up. */
const MAX_REQUEST_BYTES = 16 * 1024;
/** A client that sends no complete line within this time is answered anyway and closed. */
const CLIENT_IDLE_MS = 10_000;

const HTTP_REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/\d(\.\d)?$/;

/** Is `line` (without its newline) an HTTP request line such as `GET / HTTP/1.1`? */
export function isHttpRequestLine(line: string): boolean {
  return HTTP_REQUEST_LINE.test(line.replace(/\r$/, ""));
}

/** The bytes answered to an HTTP client: `200 OK`, body `<name>\n`, `Connection: close`. */
export function httpAnswer(name: string): Uint8Array {
  const body = `${name}\n`;
  const bodyBytes = new TextEncoder().encode(body).length;
  return new TextEncoder().encode(
    "HTTP/1.1 200 OK\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${bodyBytes}\r\n` +
      "Connection: close\r\n" +
      "Server: nslab-responder\r\n" +
      "\r\n" +
      body,
  );
}

/**
 * Starts listeners on `0.0.0.0:<port>` inside `netns` answering with `name`.
 * Equivalent to: `ip netns exec NETNS socat TCP-LISTEN:PORT,fork SYSTEM:'echo NAME'` per port.
 *
 * Throws (after closing what it opened) when a port cannot be bound, e.g. already in use.
 *
 * @example
 * ```ts
 * const r = await startResponder("shop-web", "web", [{ port: 80, protocol: "tcp" }]);
 * // ip netns exec shop-web curl -s http://127.0.0.1/  →  web
 * r.close();
 * ```
 */
export function startResponder(
  netns: string,
  name: string,
  ports: ResponderPort[],
  /**
   * Addresses to bind. Default: the wildcard. The supervisor passes the container's own addresses
   * and 127.0.0.1 so that a container may publish port 53 next to the DNS at 127.0.0.11:53.
   */
  addresses: string[] = ["0.0.0.0"],
): Promise<Responder> {
  const served: ResponderPort[] = [];
  const skipped: { port: ResponderPort; reason: string }[] = [];
  const closers: (() => void)[] = [];
  const conns = new Set<Deno.Conn>();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const c of closers) {
      try {
        c();
      } catch { /* already closed */ }
    }
    for (const c of conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    conns.clear();
  };
  try {
    for (const p of ports) {
      if (p.protocol === "tcp") {
        for (const hostname of addresses) {
          const listener = withNetns(
            netns,
            () => Deno.listen({ hostname, port: p.port, transport: "tcp" }),
          );
          closers.push(() => listener.close());
          void acceptLoop(listener, name, conns);
        }
        served.push(p);
      } else if (p.protocol === "udp") {
        for (const hostname of addresses) {
          const sock = withNetns(
            netns,
            () => Deno.listenDatagram({ hostname, port: p.port, transport: "udp" }),
          );
          closers.push(() => sock.close());
          void datagramLoop(sock, name);
        }
        served.push(p);
      } else {
        skipped.push({ port: p, reason: "sctp is not served by the responder (no SCTP in Deno)" });
      }
    }
  } catch (e) {
    close();
    const what = e instanceof Error ? e.message : String(e);
    return Promise.reject(
      new Error(
        `Cannot start the responder of "${name}" in namespace "${netns}": ${what}; ` +
          `free the port inside the namespace or give the container a command`,
        { cause: e },
      ),
    );
  }
  return Promise.resolve({ name, netns, ports: served, skipped, close });
}

async function acceptLoop(listener: Deno.Listener, name: string, conns: Set<Deno.Conn>) {
  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (e) {
      if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
      // Transient accept errors (EMFILE, ECONNABORTED): keep serving.
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    conns.add(conn);
    void serveConn(conn, name).finally(() => {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    });
  }
}

/**
 * Reads more into `text` until `done(text)` says the request is complete, EOF, the size cap, or the
 * idle time.
 */
async function readUntil(
  conn: Deno.Conn,
  text: string,
  done: (text: string) => boolean,
): Promise<string> {
  const buf = new Uint8Array(4096);
  const dec = new TextDecoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), CLIENT_IDLE_MS);
  });
  try {
    while (!done(text) && text.length < MAX_REQUEST_BYTES) {
      const n = await Promise.race([conn.read(buf), idle]);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return text;
}

const hasLine = (t: string) => t.includes("\n");
const hasHeaders = (t: string) => t.includes("\r\n\r\n") || t.includes("\n\n");

async function serveConn(conn: Deno.Conn, name: string): Promise<void> {
  try {
    const first = await readUntil(conn, "", hasLine);
    let answer: Uint8Array;
    if (hasLine(first) && isHttpRequestLine(first.split("\n", 1)[0])) {
      await readUntil(conn, first, hasHeaders); // the request body, if any, is not read
      answer = httpAnswer(name);
    } else {
      answer = new TextEncoder().encode(`${name}\n`);
    }
    await writeAll(conn, answer);
    try {
      await conn.closeWrite();
    } catch { /* peer gone */ }
  } catch {
    // A client that resets or vanishes is not the responder's problem.
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function datagramLoop(sock: Deno.DatagramConn, name: string) {
  const answer = new TextEncoder().encode(`${name}\n`);
  while (true) {
    let from: Deno.Addr;
    try {
      [, from] = await sock.receive();
    } catch (e) {
      if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
      continue;
    }
    try {
      await sock.send(answer, from);
    } catch { /* unreachable sender: ignore */ }
  }
}
