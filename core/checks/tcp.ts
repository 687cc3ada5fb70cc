/**
 * TCP probes without the runtime's socket machinery: non-blocking sockets made through libc inside
 * the source namespace and watched by the run's {@link Epoll}. A probe costs a handful of system
 * calls and no promise per step, which is what lets a 100-container reach matrix (9,900
 * connections) run at the speed of the kernel's handshakes.
 *
 * A probe connects; with `responder` it sends {@link PROBE_LINE} and reads the line that names the
 * container that answered. Sockets close with `SO_LINGER` 0 (a reset, no TIME_WAIT left behind in
 * the lab's namespaces).
 *
 * Equivalent to: `ip netns exec NS sh -c 'echo nslab-probe | nc -w1 ADDRESS PORT'`, thousands at
 * once from one process.
 *
 * @module
 */

import {
  EAGAIN,
  EINPROGRESS,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  errno,
  errnoName,
  IPPROTO_TCP,
  libc,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  SO_ERROR,
  SO_LINGER,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_QUICKACK,
} from "../kernel/sys/ffi.ts";
import { sockaddrOf, socketIn } from "../kernel/netns/netns.ts";
import type { Deadline, Epoll } from "../kernel/sys/epoll.ts";
import { sendFailure } from "./icmp.ts";
import type { Observed } from "./types.ts";

/** The line a TCP probe sends; the responder answers any first line with its name. */
export const PROBE_LINE = "nslab-probe\n";

/** Longest answer read before it is called garbled. */
const MAX_ANSWER = 512;

const LINE = new TextEncoder().encode(PROBE_LINE);
/** `struct linger { l_onoff = 1, l_linger = 0 }`: close sends a reset. */
const LINGER_RESET = new Uint8Array(new Int32Array([1, 0]).buffer);
const WATCH = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
const OFF = new Uint8Array(4);
/** `getsockopt` result and length, shared: read right after each synchronous call. */
const SOCKOPT = new Int32Array(1);
const SOCKOPT_BYTES = new Uint8Array(SOCKOPT.buffer);
const SOCKOPT_LEN = new Uint32Array(1);
const SOCKOPT_LEN_BYTES = new Uint8Array(SOCKOPT_LEN.buffer);

/** Maps a connect error (`SO_ERROR` or the errno of `connect`) to an observation. */
export function connectFailure(code: number): Observed {
  if (code === 111) return { kind: "refused" };
  if (code === 110) return { kind: "timeout" };
  if (code === 104) return { kind: "wrong-answer", detail: "connection reset" };
  const o = sendFailure(code);
  return o.kind === "unreachable" ? o : { kind: "error", message: `connect: ${errnoName(code)}` };
}

/** What the bytes read so far mean once the peer stopped sending. */
export function answerOf(text: string, why: "eof" | "reset" | "deadline"): Observed {
  const line = text.split("\n", 1)[0].trim();
  if (text.includes("\n") && line !== "") return { kind: "answered", by: line };
  if (why === "deadline") {
    return { kind: "wrong-answer", detail: "connected, but no answer before the deadline" };
  }
  if (why === "reset") return { kind: "wrong-answer", detail: "connection reset" };
  return {
    kind: "wrong-answer",
    detail: text === ""
      ? "connected, closed without an answer"
      : `garbled: ${JSON.stringify(text)}`,
  };
}

/** One connection in flight. */
class Flight {
  connected = false;
  text = "";
  deadline: Deadline | null = null;
  constructor(
    public fd: number,
    readonly responder: boolean,
    readonly resolve: (o: Observed) => void,
  ) {}
}

/**
 * The TCP probes of one run, on the run's {@link Epoll} (whose timeout is every probe's deadline).
 *
 * @example
 * ```ts
 * const loop = new Epoll(1000);
 * const tcp = new TcpProber(loop);
 * try {
 *   console.log(await tcp.probe("shop-web", "172.20.0.3", 80, true)); // { kind: "answered", by: "api" }
 * } finally {
 *   tcp.close();
 *   loop.close();
 * }
 * ```
 */
export class TcpProber {
  readonly #loop: Epoll;
  readonly #flights = new Set<Flight>();
  readonly #read = new Uint8Array(MAX_ANSWER);
  readonly #decoder = new TextDecoder();

  constructor(loop: Epoll) {
    this.#loop = loop;
  }

  /** Connects from `netns` to `address:port`; resolves by the deadline at the latest. */
  probe(netns: string, address: string, port: number, responder: boolean): Promise<Observed> {
    if (this.#loop.closed) return Promise.resolve({ kind: "error", message: "prober closed" });
    const c = libc();
    let fd = -1;
    let code = 0;
    try {
      const { sa, family } = sockaddrOf(address, port);
      fd = socketIn(netns, SOCK_STREAM | SOCK_NONBLOCK, 0, family);
      c.setsockopt(fd, SOL_SOCKET, SO_LINGER, LINGER_RESET, LINGER_RESET.length);
      if (c.connect(fd, sa, sa.length) < 0) code = errno();
    } catch (e) {
      if (fd >= 0) c.close(fd);
      return Promise.resolve({ kind: "error", message: (e as Error).message });
    }
    if (code !== 0 && code !== EINPROGRESS) {
      c.close(fd);
      return Promise.resolve(connectFailure(code));
    }
    return new Promise<Observed>((resolve) => {
      const f = new Flight(fd, responder, resolve);
      this.#flights.add(f);
      try {
        this.#loop.watch(fd, WATCH, (mask) => this.#event(f, mask));
      } catch (e) {
        return this.#finish(f, { kind: "error", message: (e as Error).message });
      }
      f.deadline = this.#loop.deadline(() =>
        this.#finish(f, f.connected ? answerOf(f.text, "deadline") : { kind: "timeout" })
      );
    });
  }

  /** Resolves `f` and closes its socket (a reset, with linger 0). */
  #finish(f: Flight, o: Observed): void {
    if (f.fd < 0) return;
    this.#loop.forget(f.fd);
    libc().close(f.fd);
    f.fd = -1;
    f.deadline?.cancel();
    this.#flights.delete(f);
    f.resolve(o);
  }

  #event(f: Flight, mask: number): void {
    if (!f.connected) {
      if ((mask & (EPOLLOUT | EPOLLERR | EPOLLHUP)) === 0) return;
      SOCKOPT_LEN[0] = 4;
      libc().getsockopt(f.fd, SOL_SOCKET, SO_ERROR, SOCKOPT_BYTES, SOCKOPT_LEN_BYTES);
      const err = SOCKOPT[0];
      if (err !== 0) return this.#finish(f, connectFailure(err));
      f.connected = true;
      if (!f.responder) return this.#finish(f, { kind: "open" });
      // Delayed ACKs: the reset that follows the answer acknowledges it, one packet fewer.
      libc().setsockopt(f.fd, IPPROTO_TCP, TCP_QUICKACK, OFF, OFF.length);
      const sent = Number(
        libc().sendto(f.fd, LINE, BigInt(LINE.length), MSG_DONTWAIT | MSG_NOSIGNAL, null, 0),
      );
      if (sent !== LINE.length) {
        return this.#finish(f, { kind: "wrong-answer", detail: `send: ${errnoName(errno())}` });
      }
    }
    if ((mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) !== 0) this.#readable(f);
  }

  /** Reads what has arrived; finishes on a full line, end of stream or reset. */
  #readable(f: Flight): void {
    const c = libc();
    while (f.fd >= 0) {
      const n = Number(c.recv(f.fd, this.#read, BigInt(this.#read.length), MSG_DONTWAIT));
      if (n > 0) {
        f.text += this.#decoder.decode(this.#read.subarray(0, n));
        if (f.text.includes("\n") || f.text.length >= MAX_ANSWER) {
          return this.#finish(f, answerOf(f.text, "eof"));
        }
        continue;
      }
      if (n === 0) return this.#finish(f, answerOf(f.text, "eof"));
      const code = errno();
      if (code === EAGAIN) return;
      return this.#finish(f, answerOf(f.text, code === 104 ? "reset" : "eof"));
    }
  }

  /** Closes every socket still in flight; their probes resolve as errors. */
  close(): void {
    for (const f of [...this.#flights]) {
      this.#finish(f, { kind: "error", message: "prober closed" });
    }
  }
}
