/**
 * The delay relay: nslab's delay and jitter on kernels without netem. Two AF_PACKET sockets, one
 * on the endpoint's outer veth end (taken off its bridge) and one on the relay veth whose peer
 * took its place on the bridge; every frame read on one side is written to the other after the
 * delay. Runs on the supervisor's event loop.
 *
 * Frames are read and written with a `virtio_net_hdr` (PACKET_VNET_HDR), so segmentation-offload
 * super-frames and frames whose checksum the sender left to the hardware cross the relay as they
 * are: the header tells the kernel to finish them on the way out.
 *
 * @module
 */

import {
  check,
  EAGAIN,
  EPOLLIN,
  errno,
  libc,
  SO_RCVBUF,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
} from "../kernel/sys/ffi.ts";
import { processLoop } from "../kernel/sys/epoll.ts";
import { withNetns } from "../kernel/netns/netns.ts";
import { handleFor } from "../kernel/netlink/client.ts";
import { linkGet } from "../kernel/netlink/link.ts";
import type { ImpairLinkPlan, ImpairPlan } from "../plan/impair.ts";

const AF_PACKET = 17;
/** `htons(ETH_P_ALL)`. */
const ETH_P_ALL_BE = 0x0300;
const SOL_PACKET = 263;
const PACKET_VNET_HDR = 15;
const PACKET_IGNORE_OUTGOING = 23;
const SO_SNDBUF = 7;
const MSG_DONTWAIT = 0x40;
/** Largest frame read: a 64 KiB GSO frame plus the 10-byte virtio header. */
const FRAME_MAX = 65_536 + 64;
/** Frames held per direction; more are dropped (netem's default limit is 1000). */
export const RELAY_QUEUE_LIMIT = 10_000;
/** Frames read per wake-up of one socket before the loop serves others. */
const BATCH = 256;

/** What a relay does to frames; may change while it runs. */
export interface RelayTiming {
  delayMs: number;
  jitterMs: number;
}

/** Frames moved and dropped, per direction (for `link ls` and the bench). */
export interface RelayCounters {
  forwarded: number;
  dropped: number;
}

function intOpt(value: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new Int32Array([value]).buffer);
}

/** An AF_PACKET socket bound to `dev` in namespace `ns`, non-blocking, with virtio headers. */
function packetSocket(ns: string, dev: string): number {
  const index = linkGet(handleFor(ns), dev)?.index;
  if (!index) throw new Error(`relay: "${dev}" does not exist in namespace "${ns}"`);
  const c = libc();
  const fd = withNetns(ns, () => {
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ETH_P_ALL_BE);
    return fd < 0 ? -errno() : fd;
  });
  if (fd < 0) check("socket", -1, `AF_PACKET in namespace "${ns}"`);
  try {
    check(
      "setsockopt",
      c.setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, intOpt(1), 4),
      "PACKET_VNET_HDR",
    );
    check(
      "setsockopt",
      c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, intOpt(1), 4),
      "PACKET_IGNORE_OUTGOING",
    );
    c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, intOpt(4 << 20), 4);
    c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, intOpt(4 << 20), 4);
    const sll = new Uint8Array(20);
    const v = new DataView(sll.buffer);
    v.setUint16(0, AF_PACKET, true);
    v.setUint16(2, ETH_P_ALL_BE, true);
    v.setInt32(4, index, true);
    check("bind", c.bind(fd, sll, sll.length), `AF_PACKET to "${dev}" in "${ns}"`);
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return fd;
}

/** One direction: frames read from `from`, held, then written to `to`. */
class Direction {
  readonly counters: RelayCounters = { forwarded: 0, dropped: 0 };
  #queue: { at: number; frame: Uint8Array<ArrayBuffer> }[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #lastAt = 0;

  constructor(readonly from: number, readonly to: number, readonly timing: () => RelayTiming) {}

  /** Reads what is waiting on `from` (up to one batch). */
  drain(buf: Uint8Array<ArrayBuffer>): void {
    const c = libc();
    for (let i = 0; i < BATCH; i++) {
      const n = Number(c.recv(this.from, buf, BigInt(buf.length), MSG_DONTWAIT));
      if (n < 0) {
        if (errno() !== EAGAIN) this.counters.dropped++;
        return;
      }
      const { delayMs, jitterMs } = this.timing();
      if (delayMs === 0 && jitterMs === 0 && this.#head === this.#queue.length) {
        this.#send(buf, n);
        continue;
      }
      if (this.#queue.length - this.#head >= RELAY_QUEUE_LIMIT) {
        this.counters.dropped++;
        continue;
      }
      const wait = Math.max(0, delayMs + (Math.random() * 2 - 1) * jitterMs);
      // Jitter never reorders: a frame leaves no earlier than the one before it.
      const at = Math.max(performance.now() + wait, this.#lastAt);
      this.#lastAt = at;
      this.#queue.push({ at, frame: buf.slice(0, n) });
      this.#arm();
    }
  }

  #send(frame: Uint8Array<ArrayBuffer>, length: number): void {
    const rc = Number(libc().sendto(this.to, frame, BigInt(length), MSG_DONTWAIT, null, 0));
    if (rc < 0) this.counters.dropped++;
    else this.counters.forwarded++;
  }

  #arm(): void {
    if (this.#timer !== null || this.#head >= this.#queue.length) return;
    const wait = Math.max(0, this.#queue[this.#head].at - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#release();
    }, wait);
  }

  #release(): void {
    const now = performance.now();
    const q = this.#queue;
    // Timers fire up to ~1 ms late; what is due within half a millisecond goes now.
    while (this.#head < q.length && q[this.#head].at <= now + 0.5) {
      const { frame } = q[this.#head++];
      this.#send(frame, frame.length);
    }
    if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    this.#arm();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
    this.#head = 0;
  }
}

/** Receive buffer shared by every relay of the process (frames are copied when held). */
let shared: Uint8Array<ArrayBuffer> | null = null;

/**
 * A running relay between `outer` and `relay` (both devices in namespace `ns`).
 *
 * @example
 * ```ts
 * const r = startRelay("lab-h1", "veth1a2b3c4", "rl9f86d081", { delayMs: 50, jitterMs: 0 });
 * r.timing = { delayMs: 20, jitterMs: 2 }; // takes effect for the next frame
 * r.close();
 * ```
 */
export class Relay {
  timing: RelayTiming;
  readonly #fds: number[];
  readonly #dirs: Direction[];

  constructor(
    readonly ns: string,
    readonly outer: string,
    readonly relay: string,
    timing: RelayTiming,
  ) {
    this.timing = timing;
    const a = packetSocket(ns, outer);
    let b: number;
    try {
      b = packetSocket(ns, relay);
    } catch (e) {
      libc().close(a);
      throw e;
    }
    this.#fds = [a, b];
    const t = () => this.timing;
    this.#dirs = [new Direction(a, b, t), new Direction(b, a, t)];
    shared ??= new Uint8Array(FRAME_MAX);
    const buf = shared;
    const loop = processLoop();
    loop.watch(a, EPOLLIN, () => this.#dirs[0].drain(buf));
    loop.watch(b, EPOLLIN, () => this.#dirs[1].drain(buf));
  }

  /** Frames moved and dropped: `[outward, inward]` (from the outer end, towards it). */
  counters(): RelayCounters[] {
    return this.#dirs.map((d) => ({ ...d.counters }));
  }

  /** Stops relaying and closes both sockets; held frames are dropped. */
  close(): void {
    const loop = processLoop();
    for (const d of this.#dirs) d.stop();
    for (const fd of this.#fds) {
      loop.forget(fd);
      libc().close(fd);
    }
  }
}

/** Starts a relay; see {@link Relay}. */
export function startRelay(ns: string, outer: string, relay: string, timing: RelayTiming): Relay {
  return new Relay(ns, outer, relay, timing);
}

/**
 * The relays a supervisor runs, kept equal to a plan's impairment section: a link that gained a
 * delay gets a relay, one whose delay changed gets the new timing, one that lost it is closed.
 */
export class RelaySet {
  readonly #running = new Map<string, Relay>();

  /** Makes the running relays match `impair` (absent: none). */
  sync(impair: ImpairPlan | undefined): void {
    const wanted = new Map<string, ImpairLinkPlan>();
    for (const l of impair?.links ?? []) {
      if (!l.relay) continue;
      // The ifindexes are part of the key: a relay pair made again is a new pair of devices.
      const h = handleFor(l.outer.ns);
      const ends = [l.outer.dev, l.relay.dev].map((d) => `${d}#${linkGet(h, d)?.index ?? 0}`);
      wanted.set(`${l.outer.ns}/${ends.join("/")}`, l);
    }
    for (const [key, r] of this.#running) {
      if (wanted.has(key)) continue;
      r.close();
      this.#running.delete(key);
    }
    for (const [key, l] of wanted) {
      const timing = { delayMs: l.spec.delayMs ?? 0, jitterMs: l.spec.jitterMs ?? 0 };
      const r = this.#running.get(key);
      if (r) r.timing = timing;
      else this.#running.set(key, startRelay(l.outer.ns, l.outer.dev, l.relay!.dev, timing));
    }
  }

  /** Counters of the relay of one link (by its outer device), or null. */
  counters(ns: string, outer: string): RelayCounters[] | null {
    for (const r of this.#running.values()) {
      if (r.ns === ns && r.outer === outer) return r.counters();
    }
    return null;
  }

  /** Closes every relay. */
  closeAll(): void {
    for (const r of this.#running.values()) r.close();
    this.#running.clear();
  }
}
