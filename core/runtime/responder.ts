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
 * TCP is served through libc sockets on the {@link processLoop} shared by every responder of the
 * process, so that an answer is one packet: the listener (and each connection) delays its ACKs, so
 * the client's line is acknowledged by the answer, and the answer goes out corked (`MSG_MORE`)
 * with the FIN of the `shutdown` that follows. A check run of thousands of connections is mostly
 * kernel work, and every packet saved there counts.
 *
 * @module
 */

import type { Protocol } from "../model/types.ts";
import { type Deadline, processLoop } from "../kernel/sys/epoll.ts";
import {
  EAGAIN,
  EPOLLET,
  EPOLLIN,
  EPOLLRDHUP,
  errno,
  IPPROTO_TCP,
  libc,
  MSG_DONTWAIT,
  MSG_MORE,
  MSG_NOSIGNAL,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SyscallError,
  TCP_QUICKACK,
} from "../kernel/sys/ffi.ts";
import { boundSocketIn, withNetns } from "../kernel/netns/netns.ts";

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
  const clients = new Set<Client>();
  const answer = new TextEncoder().encode(`${name}\n`);
  const http = httpAnswer(name);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const c of closers) {
      try {
        c();
      } catch { /* already closed */ }
    }
    for (const c of [...clients]) c.end();
  };
  try {
    for (const p of ports) {
      if (p.protocol === "tcp") {
        for (const hostname of addresses) {
          const fd = listenTcp(netns, hostname, p.port);
          closers.push(() => {
            processLoop().forget(fd);
            libc().close(fd);
          });
          processLoop().watch(fd, EPOLLIN, () => acceptAll(fd, clients, answer, http));
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

const OFF = new Uint8Array(4);
const SHUT_WR = 1;
const LISTEN_BACKLOG = 4096;

/** A listening TCP socket on `hostname:port` inside `netns`, its ACKs delayed. */
function listenTcp(netns: string, hostname: string, port: number): number {
  const c = libc();
  const fd = boundSocketIn(netns, SOCK_STREAM | SOCK_NONBLOCK, hostname, port, true);
  if (c.listen(fd, LISTEN_BACKLOG) < 0) {
    const code = errno();
    c.close(fd);
    throw new SyscallError("listen", code, `${hostname}:${port}`);
  }
  c.setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, OFF, OFF.length);
  return fd;
}

/** Takes every waiting connection off `listener`. */
function acceptAll(listener: number, clients: Set<Client>, answer: Uint8Array, http: Uint8Array) {
  const c = libc();
  while (true) {
    const fd = c.accept4(listener, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; // EAGAIN, or a transient error (ECONNABORTED, EMFILE): next wake-up
    c.setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, OFF, OFF.length);
    const client = new Client(fd, clients, answer, http);
    try {
      processLoop().watch(fd, EPOLLIN | EPOLLRDHUP | EPOLLET, () => client.readable());
    } catch {
      client.end();
      continue;
    }
    // A client silent for the loop's timeout (10 s) is answered anyway and closed.
    client.idle = processLoop().deadline(() => client.respond());
    client.readable(); // the line may have arrived with the handshake
  }
}

/** What every connection reads into (reads are synchronous, one connection at a time). */
const readBuf = new Uint8Array(4096);

/** One accepted connection: reads the request, answers once, closes. */
class Client {
  text = "";
  idle: Deadline | null = null;
  readonly #decoder = new TextDecoder();

  constructor(
    public fd: number,
    readonly clients: Set<Client>,
    readonly answer: Uint8Array,
    readonly http: Uint8Array,
  ) {
    clients.add(this);
  }

  /** Reads what has arrived; answers once the request is complete or the client stops sending. */
  readable(): void {
    const c = libc();
    while (this.fd >= 0) {
      const n = Number(c.recv(this.fd, readBuf, BigInt(readBuf.length), MSG_DONTWAIT));
      if (n > 0) {
        this.text += this.#decoder.decode(readBuf.subarray(0, n), { stream: true });
        if (this.complete()) return this.respond();
        continue;
      }
      if (n < 0 && errno() === EAGAIN) return;
      return this.respond(); // end of stream or an error: answer what we have
    }
  }

  /** A line, or for an HTTP request its whole header block, or the size cap. */
  complete(): boolean {
    if (this.text.length >= MAX_REQUEST_BYTES) return true;
    if (!hasLine(this.text)) return false;
    return !this.isHttp() || hasHeaders(this.text);
  }

  /** Is the first line (once complete) an HTTP request line? */
  isHttp(): boolean {
    return hasLine(this.text) && isHttpRequestLine(this.text.split("\n", 1)[0]);
  }

  /** Sends the answer (with the FIN in the same packet) and closes. */
  respond(): void {
    if (this.fd < 0) return;
    const bytes = this.isHttp() ? this.http : this.answer;
    libc().sendto(
      this.fd,
      bytes as Uint8Array<ArrayBuffer>,
      BigInt(bytes.length),
      MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT,
      null,
      0,
    );
    libc().shutdown(this.fd, SHUT_WR);
    this.end();
  }

  /** Closes the connection (what was sent still goes out) and forgets it. */
  end(): void {
    if (this.fd < 0) return;
    this.idle?.cancel();
    processLoop().forget(this.fd);
    libc().close(this.fd);
    this.fd = -1;
    this.clients.delete(this);
  }
}

const hasLine = (t: string) => t.includes("\n");
const hasHeaders = (t: string) => t.includes("\r\n\r\n") || t.includes("\n\n");

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
