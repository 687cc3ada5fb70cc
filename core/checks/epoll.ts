/**
 * One epoll set for the probes of a run: sockets made through libc register a handler per fd, and
 * one wait loop on a worker thread (`epoll_wait` as a non-blocking FFI call) dispatches what the
 * kernel reports. Deadlines are kept in start order: every probe of a run has the same timeout, so
 * the earliest deadline is always at the head.
 *
 * @module
 */

import { EPOLL_CTL_ADD, errno, errnoName, libc } from "../netlink/ffi.ts";

/** Events taken from the kernel per wake-up. */
const MAX_EVENTS = 512;
/** Longest single wait, so that deadlines are noticed even when nothing happens. */
const MAX_WAIT_MS = 50;
/** `struct epoll_event` is packed on x86_64 (12 bytes), naturally aligned elsewhere (16). */
const EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
const EVENT_DATA = Deno.build.arch === "x86_64" ? 4 : 8;
const EPOLL_CLOEXEC = 0o2000000;

/** A pending deadline; `cancel` is cheap and idempotent. */
export interface Deadline {
  readonly at: number;
  cancel(): void;
}

interface Entry {
  at: number;
  fire: (() => void) | null;
}

/**
 * @example
 * ```ts
 * const loop = new Epoll(1000);
 * loop.watch(fd, EPOLLIN, (mask) => console.log("readable", mask));
 * const d = loop.deadline(() => console.log("too late"));
 * // … d.cancel(); loop.forget(fd); libc().close(fd);
 * loop.close();
 * ```
 */
export class Epoll {
  readonly timeoutMs: number;
  #epfd = -1;
  readonly #handlers = new Map<number, (mask: number) => void>();
  #queue: Entry[] = [];
  #head = 0;
  #live = 0;
  #pumping = false;
  #closed = false;
  readonly #events = new Uint8Array(EVENT_SIZE * MAX_EVENTS);

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls `handler(mask)` whenever the kernel reports `mask` events on `fd`. Throws on failure. */
  watch(fd: number, mask: number, handler: (mask: number) => void): void {
    const c = libc();
    if (this.#closed) throw new Error("prober closed");
    if (this.#epfd < 0) {
      this.#epfd = c.epoll_create1(EPOLL_CLOEXEC);
      if (this.#epfd < 0) throw new Error(`epoll_create1: ${errnoName(errno())}`);
    }
    const ev = new Uint8Array(EVENT_SIZE);
    const v = new DataView(ev.buffer);
    v.setUint32(0, mask >>> 0, true);
    v.setBigUint64(EVENT_DATA, BigInt(fd), true);
    if (c.epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, ev) < 0) {
      throw new Error(`epoll_ctl: ${errnoName(errno())}`);
    }
    this.#handlers.set(fd, handler);
    void this.#pump();
  }

  /** Stops dispatching for `fd` (closing the fd takes it out of the kernel's set). */
  forget(fd: number): void {
    this.#handlers.delete(fd);
  }

  /** Calls `fire` after the run's timeout, unless cancelled first. */
  deadline(fire: () => void): Deadline {
    const e: Entry = { at: performance.now() + this.timeoutMs, fire };
    this.#queue.push(e);
    this.#live++;
    void this.#pump();
    return {
      at: e.at,
      cancel: () => {
        if (e.fire === null) return;
        e.fire = null;
        this.#live--;
      },
    };
  }

  /** Fires every deadline that has passed; returns ms until the next one. */
  #expire(): number {
    const now = performance.now();
    const q = this.#queue;
    while (this.#head < q.length) {
      const e = q[this.#head];
      if (e.fire !== null) {
        if (e.at > now) break;
        const fire = e.fire;
        e.fire = null;
        this.#live--;
        fire();
      }
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    const first = this.#queue[this.#head];
    return first ? first.at - now : MAX_WAIT_MS;
  }

  /** One wait loop at a time, running while anything is watched or due (needs a watched fd). */
  async #pump(): Promise<void> {
    if (this.#pumping || this.#epfd < 0) return;
    this.#pumping = true;
    const v = new DataView(this.#events.buffer);
    try {
      while (!this.#closed && (this.#handlers.size > 0 || this.#live > 0)) {
        const wait = Math.max(0, Math.min(MAX_WAIT_MS, Math.ceil(this.#expire())));
        if (this.#handlers.size === 0 && this.#live === 0) return;
        const n = await libc().epoll_wait_async(this.#epfd, this.#events, MAX_EVENTS, wait);
        if (this.#closed) return;
        for (let i = 0; i < n; i++) {
          const fd = Number(v.getBigUint64(i * EVENT_SIZE + EVENT_DATA, true));
          this.#handlers.get(fd)?.(v.getUint32(i * EVENT_SIZE, true));
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Stops the loop and closes the epoll fd; the caller closes its own sockets. */
  close(): void {
    this.#closed = true;
    this.#handlers.clear();
    this.#queue = [];
    this.#head = 0;
    this.#live = 0;
    if (this.#epfd >= 0) libc().close(this.#epfd);
    this.#epfd = -1;
  }
}
