/**
 * The rtnetlink client: one `NETLINK_ROUTE` socket per namespace ({@link NetlinkHandle}), opened
 * inside the namespace so every request on it acts there. Requests carry sequence numbers and
 * `NLM_F_ACK`; failures come back with the kernel's extended-ack text. A {@link Batch} writes many
 * requests in one `sendto` and matches the acks by sequence number.
 *
 * Receiving is synchronous on the main thread: rtnetlink handles a request inside `sendto`, so the
 * acks are queued before `sendto` returns.
 *
 * @module
 */

import { check, errno, libc } from "../sys/ffi.ts";
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
} from "./constants.ts";
import { type Body, decodeMessages, encodeMessage, type Message } from "./codec.ts";
import { type ErrorContext, NetlinkError, type RequestInfo } from "./errors.ts";
import { withNetns } from "../netns/netns.ts";

/** Something verbs can send requests to: a handle (sends at once) or a batch (queues). */
export interface Requester {
  /** Namespace the requests act in (`""` = root). */
  readonly ns: string;
  /** Sends (or queues) one request that the kernel acknowledges. */
  request(type: number, flags: number, body: Body, info: RequestInfo): void;
}

/** Largest datagram a batch sends at once, and most requests per datagram. */
const MAX_DATAGRAM = 32 * 1024;
const MAX_PER_DATAGRAM = 512;
const RECV_SIZE = 256 * 1024;
/**
 * The one receive buffer of every handle: receiving is synchronous and decoding copies what it
 * keeps, so handles can share it. A buffer per handle was 256 KiB allocated and freed per handle —
 * and `down` opens one per namespace on the machine to read its tag — which glibc kept resident
 * in a long-lived process (~40 MiB after 20 soak cycles).
 */
const recvBuf = new Uint8Array(RECV_SIZE);
/** Safety net only: rtnetlink answers inside sendto, so a recv that waits means a lost ack. */
const RECV_TIMEOUT_S = 5;

function setIntOpt(fd: number, level: number, name: number, value: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  return libc().setsockopt(fd, level, name, b, 4);
}

/** Opens a NETLINK_ROUTE socket in the calling thread's namespace (`probe`: default buffers). */
function openSocket(probe = false): number {
  const c = libc();
  const fd = check(
    "socket",
    c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE),
    "AF_NETLINK",
  );
  try {
    check("setsockopt", setIntOpt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1), "NETLINK_EXT_ACK");
    check("setsockopt", setIntOpt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1), "NETLINK_CAP_ACK");
    if (!probe && setIntOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20) !== 0) {
      setIntOpt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
    }
    if (!probe && setIntOpt(fd, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20) !== 0) {
      setIntOpt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
    }
    const tv = new Uint8Array(16);
    new DataView(tv.buffer).setBigInt64(0, BigInt(RECV_TIMEOUT_S), true);
    check("setsockopt", c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), "SO_RCVTIMEO");
    const sa = new Uint8Array(12);
    new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
    check("bind", c.bind(fd, sa, 12), "AF_NETLINK");
    return fd;
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

const KERNEL = (() => {
  const sa = new Uint8Array(12);
  new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
  return sa;
})();

/** An error from one acknowledged request. */
export interface AckFailure {
  seq: number;
  errno: number;
  extAck: string;
}

function extAckText(body: Body): string {
  if (body.kind !== "error" && body.kind !== "done") return "";
  const msg = body.attrs.find((a) => a.name === "msg");
  return msg && msg.kind === "string" ? msg.value : "";
}

/**
 * One rtnetlink socket bound to one namespace. Get it with {@link handleFor}; requests on it act
 * in that namespace whichever namespace the thread is in later.
 */
export class NetlinkHandle implements Requester {
  readonly ns: string;
  #fd: number;
  #seq = Math.floor(Math.random() * 0x10000000);
  /** Number of `sendto` calls made (for tests and benchmarks). */
  sends = 0;
  /** Sees every datagram sent and received, as raw bytes (tracing, golden-byte capture). */
  tap: ((dir: "send" | "recv", bytes: Uint8Array) => void) | null = null;

  /**
   * Opens a socket inside `ns` (`""` = the current/root namespace). `probe`: for a request or two
   * (default socket buffers, fewer syscalls), e.g. reading another namespace's tag.
   */
  constructor(ns: string, opts: { probe?: boolean } = {}) {
    this.ns = ns;
    this.#fd = withNetns(ns, () => openSocket(opts.probe));
  }

  /** true until {@link close}. */
  get open(): boolean {
    return this.#fd >= 0;
  }

  /** The next sequence number. */
  nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }

  /** Sends one datagram (one or more encoded messages). */
  send(datagram: Uint8Array<ArrayBuffer>): void {
    if (this.#fd < 0) throw new Error(`Netlink handle of namespace "${this.ns}" is closed`);
    for (;;) {
      const n = Number(libc().sendto(this.#fd, datagram, BigInt(datagram.length), 0, KERNEL, 12));
      this.sends++;
      if (n >= 0) {
        this.tap?.("send", datagram);
        return;
      }
      const e = errno();
      if (e !== 4 /* EINTR */) check("sendto", n, `netlink in "${this.ns}"`);
    }
  }

  /** Receives one datagram and decodes its messages (waits at most a few seconds). */
  receive(): Message[] {
    for (;;) {
      const n = Number(libc().recv(this.#fd, recvBuf, BigInt(recvBuf.length), 0));
      if (n >= 0) {
        this.tap?.("recv", recvBuf.slice(0, n));
        return decodeMessages(recvBuf.subarray(0, n));
      }
      const e = errno();
      if (e === 4 /* EINTR */) continue;
      if (e === 11 /* EAGAIN */) {
        throw new Error(
          `No answer from the kernel on the netlink socket of "${this.ns}" after ${RECV_TIMEOUT_S} s; ` +
            "an ack was lost (socket buffer overrun?) — this is an nslab bug, please report it",
        );
      }
      check("recv", n, `netlink in "${this.ns}"`);
    }
  }

  /** Sends one request now and waits for its ack; throws {@link NetlinkError} on failure. */
  request(type: number, flags: number, body: Body, info: RequestInfo): void {
    const b = new Batch(this);
    b.request(type, flags, body, info);
    b.flush();
  }

  /**
   * Sends a request that the kernel answers with data (a dump, or a single `get`), and returns
   * the answer's messages. Restarts a dump the kernel marks as interrupted.
   */
  query(type: number, flags: number, body: Body, info: RequestInfo): Message[] {
    for (let attempt = 0;; attempt++) {
      const seq = this.nextSeq();
      const header = { type, flags: flags | NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 };
      this.send(encodeMessage({ header, body }) as Uint8Array<ArrayBuffer>);
      const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
      const out: Message[] = [];
      let interrupted = false;
      let finished = false;
      while (!finished) {
        for (const m of this.receive()) {
          if (m.header.seq !== seq) continue; // a stale answer from an earlier, abandoned call
          if (m.header.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (m.body.kind === "error") {
            if (m.body.error !== 0) {
              throw new NetlinkError(info, this.ns, -m.body.error, extAckText(m.body));
            }
            finished = true;
          } else if (m.header.type === NLMSG_DONE) {
            if (m.body.kind === "done" && m.body.error < 0) {
              throw new NetlinkError(info, this.ns, -m.body.error, extAckText(m.body));
            }
            if (!dump) continue;
            // A dump ends with DONE; its ack (if any) follows in the same or next datagram.
            finished = true;
          } else {
            out.push(m);
          }
        }
      }
      if (!interrupted || attempt >= 4) return out;
    }
  }

  /** Closes the socket. Equivalent to nothing in iproute2: it only drops nslab's handle. */
  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

/** A queued request. */
interface Pending {
  type: number;
  flags: number;
  body: Body;
  info: RequestInfo;
}

/**
 * Requests queued for one handle and sent together: one `sendto` per 32 KiB, acks matched by
 * sequence number. The kernel executes them in order and keeps going after a failure, so
 * {@link flush} reports the first failure and how many others followed.
 *
 * @example
 * ```ts
 * const b = new Batch(handleFor("lab-h1"), { lab: "lab" });
 * linkAdd(b, { kind: "bridge", name: "br0" });
 * linkSetUp(b, "br0");
 * b.flush();
 * ```
 */
export class Batch implements Requester {
  readonly ns: string;
  readonly handle: NetlinkHandle;
  readonly context: ErrorContext;
  #pending: Pending[] = [];

  constructor(handle: NetlinkHandle, context: ErrorContext = {}) {
    this.handle = handle;
    this.ns = handle.ns;
    this.context = context;
  }

  /** Number of queued requests. */
  get size(): number {
    return this.#pending.length;
  }

  /** Queues one request. */
  request(type: number, flags: number, body: Body, info: RequestInfo): void {
    this.#pending.push({ type, flags, body, info });
  }

  /** Sends everything queued and waits for every ack; throws the first failure. */
  flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    const failures: { p: Pending; f: AckFailure }[] = [];
    let i = 0;
    while (i < pending.length && failures.length === 0) {
      const bySeq = new Map<number, Pending>();
      const parts: Uint8Array[] = [];
      let size = 0;
      while (i < pending.length && parts.length < MAX_PER_DATAGRAM) {
        const p = pending[i];
        const seq = this.handle.nextSeq();
        const bytes = encodeMessage({
          header: { type: p.type, flags: p.flags | NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 },
          body: p.body,
        });
        if (parts.length > 0 && size + bytes.length > MAX_DATAGRAM) break;
        parts.push(bytes);
        bySeq.set(seq, p);
        size += bytes.length;
        i++;
      }
      const datagram = new Uint8Array(size);
      let off = 0;
      for (const part of parts) {
        datagram.set(part, off);
        off += part.length;
      }
      this.handle.send(datagram);
      while (bySeq.size > 0) {
        for (const m of this.handle.receive()) {
          if (m.header.type !== NLMSG_ERROR || m.body.kind !== "error") continue;
          const p = bySeq.get(m.header.seq);
          if (!p) continue;
          bySeq.delete(m.header.seq);
          if (m.body.error !== 0) {
            failures.push({
              p,
              f: { seq: m.header.seq, errno: -m.body.error, extAck: extAckText(m.body) },
            });
          }
        }
      }
    }
    if (failures.length === 0) return;
    failures.sort((a, b) => a.f.seq - b.f.seq);
    const [{ p, f }] = failures;
    const err = new NetlinkError(p.info, this.ns, f.errno, f.extAck, this.context);
    if (failures.length > 1) {
      err.message += ` (${failures.length - 1} later request(s) of the same batch failed too, ` +
        `the first: ${failures[1].p.info.op} ${failures[1].p.info.object} ${
          failures[1].p.info.target
        })`;
    }
    throw err;
  }
}

/**
 * Records requests instead of sending them (for `plan` output and unit tests). Same API as a
 * handle, so verbs run unchanged.
 */
export class RecordingRequester implements Requester {
  readonly ns: string;
  readonly requests: Pending[] = [];
  constructor(ns: string) {
    this.ns = ns;
  }
  request(type: number, flags: number, body: Body, info: RequestInfo): void {
    this.requests.push({ type, flags, body, info });
  }
  /** The requests as wire bytes (sequence numbers from 1). */
  encode(): Uint8Array[] {
    return this.requests.map((p, i) =>
      encodeMessage({
        header: { type: p.type, flags: p.flags | NLM_F_REQUEST | NLM_F_ACK, seq: i + 1, pid: 0 },
        body: p.body,
      })
    );
  }
}

const handles = new Map<string, NetlinkHandle>();

/** The cached handle of namespace `ns` (opened on first use, inside `ns`). */
export function handleFor(ns: string): NetlinkHandle {
  let h = handles.get(ns);
  if (!h || !h.open) {
    h = new NetlinkHandle(ns);
    handles.set(ns, h);
  }
  return h;
}

/** Closes and forgets the cached handle of `ns` (a handle keeps its namespace alive). */
export function closeHandle(ns: string): void {
  handles.get(ns)?.close();
  handles.delete(ns);
}

/** Namespaces with a cached handle. */
export function openHandles(): string[] {
  return [...handles.keys()];
}
