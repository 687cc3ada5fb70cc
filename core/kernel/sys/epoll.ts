/**
 * An event loop for sockets made through libc (the probes of a check run, the responders of a
 * supervisor): handlers per fd, one wait loop on a worker thread (`epoll_wait` as a non-blocking
 * FFI call) that dispatches what the kernel reports, and an eventfd that wakes it early.
 *
 * Deadlines are kept in start order: every deadline of one loop is its `timeoutMs` after it was
 * set, so the earliest is always at the head.
 *
 * @module
 */

import { EPOLL_CTL_ADD, EPOLLIN, errno, errnoName, libc } from "./ffi.ts";

/** Events taken from the kernel per wake-up. */
const MAX_EVENTS = 512;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
/** `struct epoll_event` is packed on x86_64 (12 bytes), naturally aligned elsewhere (16). */
const EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
const EVENT_DATA = Deno.build.arch === "x86_64" ? 4 : 8;
const EPOLL_CLOEXEC = 0o2000000;
/** The 8-byte counter increment written to the eventfd. */
const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

/** A pending deadline; `cancel` is cheap and idempotent. */
export interface Deadline {
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
  /** An eventfd in the set: written to end a wait early (close, nothing left to watch). */
  #wake = -1;
  readonly #handlers = new Map<number, (mask: number) => void>();
  #queue: Entry[] = [];
  #head = 0;
  #live = 0;
  #pumping = false;
  #closed = false;
  readonly #events = new Uint8Array(EVENT_SIZE * MAX_EVENTS);
  readonly #drained = new Uint8Array(8);
  readonly #released = Promise.withResolvers<void>();

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls `handler(mask)` whenever the kernel reports `mask` events on `fd`. Throws on failure. */
  watch(fd: number, mask: number, handler: (mask: number) => void): void {
    if (this.#closed) throw new Error("event loop closed");
    if (this.#epfd < 0) this.#open();
    this.#add(fd, mask);
    this.#handlers.set(fd, handler);
    void this.#pump();
  }

  #open(): void {
    const c = libc();
    const epfd = c.epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) throw new Error(`epoll_create1: ${errnoName(errno())}`);
    const wake = c.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) {
      const code = errno();
      c.close(epfd);
      throw new Error(`eventfd: ${errnoName(code)}`);
    }
    this.#epfd = epfd;
    this.#wake = wake;
    this.#add(wake, EPOLLIN);
  }

  #add(fd: number, mask: number): void {
    const ev = new Uint8Array(EVENT_SIZE);
    const v = new DataView(ev.buffer);
    v.setUint32(0, mask >>> 0, true);
    v.setBigUint64(EVENT_DATA, BigInt(fd), true);
    if (libc().epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, ev) < 0) {
      throw new Error(`epoll_ctl: ${errnoName(errno())}`);
    }
  }

  /** Ends the current wait now. */
  #interrupt(): void {
    if (this.#wake >= 0) libc().write(this.#wake, ONE, 8n);
  }

  /**
   * Stops dispatching for `fd` (closing the fd takes it out of the kernel's set). When nothing is
   * left to watch or wait for, the loop ends at once rather than at the end of its wait.
   */
  forget(fd: number): void {
    this.#handlers.delete(fd);
    if (this.#pumping && this.#handlers.size === 0 && this.#live === 0) this.#interrupt();
  }

  /** Calls `fire` after the run's timeout, unless cancelled first. */
  deadline(fire: () => void): Deadline {
    const e: Entry = { at: performance.now() + this.timeoutMs, fire };
    this.#queue.push(e);
    this.#live++;
    void this.#pump();
    return {
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
    // A deadline set during the wait comes after the head, or (queue empty) a timeout from now.
    return first ? first.at - now : this.timeoutMs;
  }

  /** One wait loop at a time, running while anything is watched or due (needs a watched fd). */
  async #pump(): Promise<void> {
    if (this.#pumping || this.#epfd < 0) return;
    this.#pumping = true;
    const v = new DataView(this.#events.buffer);
    try {
      while (!this.#closed && (this.#handlers.size > 0 || this.#live > 0)) {
        const wait = Math.max(0, Math.ceil(this.#expire()));
        if (this.#handlers.size === 0 && this.#live === 0) return;
        const n = await libc().epoll_wait_async(this.#epfd, this.#events, MAX_EVENTS, wait);
        if (this.#closed) return;
        for (let i = 0; i < n; i++) {
          const fd = Number(v.getBigUint64(i * EVENT_SIZE + EVENT_DATA, true));
          if (fd === this.#wake) libc().read(this.#wake, this.#drained, 8n);
          else this.#handlers.get(fd)?.(v.getUint32(i * EVENT_SIZE, true));
        }
      }
    } finally {
      this.#pumping = false;
      if (this.#closed) this.#release();
    }
  }

  /**
   * Stops the loop; its fds are closed at once, or when a wait in progress has ended (it is
   * interrupted). The caller closes its own sockets. Resolves when the fds are closed.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#handlers.clear();
      this.#queue = [];
      this.#head = 0;
      this.#live = 0;
      if (this.#pumping) this.#interrupt();
      else this.#release();
    }
    return this.#released.promise;
  }

  #release(): void {
    if (this.#epfd >= 0) libc().close(this.#epfd);
    if (this.#wake >= 0) libc().close(this.#wake);
    this.#epfd = -1;
    this.#wake = -1;
    this.#released.resolve();
  }
}

/** Idle limit of {@link processLoop}'s deadlines: a client silent this long is dealt with. */
export const PROCESS_LOOP_TIMEOUT_MS = 10_000;

let shared: Epoll | null = null;

/**
 * The loop shared by the long-lived servers of this process (responders, the embedded DNS): one
 * wait thread for all of them instead of one per socket. Its deadlines are
 * {@link PROCESS_LOOP_TIMEOUT_MS} long. Never closed; it idles when nothing is watched.
 */
export function processLoop(): Epoll {
  shared ??= new Epoll(PROCESS_LOOP_TIMEOUT_MS);
  return shared;
}
