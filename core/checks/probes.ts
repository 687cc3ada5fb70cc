/**
 * Probes: each runs inside its source namespace, from this one process, with its own deadline.
 * Sockets are created on the calling thread inside the namespace ({@link withNetns}) and used from
 * outside it, so thousands run concurrently without a process per probe; with many TCP probes, a
 * worker thread (probe_worker.ts) takes half of them.
 *
 * - `tcp`: connect; with `responder`, send a line and read the name that answers
 *   ({@link TcpProber}: libc sockets and one epoll set).
 * - `udp`: one datagram; the reply names the container.
 * - `icmp`: echo request through {@link IcmpProber} (a raw socket per namespace).
 * - `dns`: a query to the embedded DNS at 127.0.0.11:53 ({@link DnsProber}: one socket per
 *   namespace).
 * - `iface`: the namespace's interfaces, read from `/proc/thread-self/net/dev` while inside it.
 *
 * @module
 */

import { withNetns } from "../kernel/netns/netns.ts";
import { IcmpProber } from "./icmp.ts";
import { connectFailure, PROBE_LINE, TcpProber } from "./tcp.ts";
import { DnsProber } from "./dns_probe.ts";
import { Epoll } from "../kernel/sys/epoll.ts";
import type { Observed, Probe } from "./types.ts";

/** Options of {@link runProbes}. */
export interface ProbeOptions {
  /** Deadline of each probe, from its start (default 1000 ms). */
  timeoutMs?: number;
  /** Probes in flight at once (default 256). */
  concurrency?: number;
  /** Wall-clock time (`Date.now()`) after which no probe starts; those left are "not run". */
  deadline?: number;
}

/** The message of a probe that did not start before the run's deadline. */
export const NOT_RUN = "not run: the run's deadline passed";

/**
 * Maps a socket error (Deno's message carries `os error N`) to an observation, the errno as
 * {@link connectFailure} maps it.
 */
export function classifyError(e: unknown): Observed {
  if (e instanceof Deno.errors.ConnectionRefused) return { kind: "refused" };
  if (e instanceof Deno.errors.TimedOut) return { kind: "timeout" };
  const message = e instanceof Error ? e.message : String(e);
  const m = /os error (\d+)/.exec(message);
  if (m) {
    const o = connectFailure(Number(m[1]));
    if (o.kind !== "error") return o;
  }
  return { kind: "error", message };
}

/** Resolves with `null` after `ms`, cancellable. */
function deadline(ms: number): { promise: Promise<null>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, ms));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Sends one datagram from a fresh socket inside `netns` and waits for one reply. */
async function datagram(
  netns: string,
  address: string,
  port: number,
  payload: Uint8Array,
  timeoutMs: number,
  accept: (data: Uint8Array) => boolean,
): Promise<Uint8Array | Observed> {
  let sock: Deno.DatagramConn;
  try {
    sock = withNetns(
      netns,
      () =>
        Deno.listenDatagram({
          hostname: address.includes(":") ? "::" : "0.0.0.0",
          port: 0,
          transport: "udp",
        }),
    );
  } catch (e) {
    return classifyError(e);
  }
  const left = deadline(timeoutMs);
  try {
    await sock.send(payload, { transport: "udp", hostname: address, port });
    while (true) {
      const got = await Promise.race([sock.receive(new Uint8Array(2048)), left.promise]);
      if (got === null) return { kind: "timeout" };
      if (accept(got[0])) return got[0];
    }
  } catch (e) {
    return classifyError(e);
  } finally {
    left.cancel();
    try {
      sock.close();
    } catch { /* closed */ }
  }
}

/** UDP datagram; the reply is the responder's name. */
export async function probeUdp(
  p: Extract<Probe, { kind: "udp" }>,
  timeoutMs: number,
): Promise<Observed> {
  const got = await datagram(
    p.netns,
    p.address,
    p.port,
    new TextEncoder().encode(PROBE_LINE),
    timeoutMs,
    () => true,
  );
  if (!(got instanceof Uint8Array)) return got;
  const line = new TextDecoder().decode(got).split("\n", 1)[0].trim();
  return line === ""
    ? { kind: "wrong-answer", detail: "empty datagram" }
    : { kind: "answered", by: line };
}

/** Interface names from `/proc/net/dev` text. */
export function parseNetDev(text: string): string[] {
  return text.split("\n").slice(2).map((l) => l.split(":")[0].trim()).filter((n) => n !== "")
    .sort();
}

/** The namespace's interfaces (read while the main thread is inside it). */
export function probeIface(p: Extract<Probe, { kind: "iface" }>): Observed {
  try {
    const text = withNetns(p.netns, () => Deno.readTextFileSync("/proc/thread-self/net/dev"));
    return { kind: "interfaces", names: parseNetDev(text) };
  } catch (e) {
    return { kind: "error", message: (e as Error).message };
  }
}

/** The probers of one run, sharing one epoll loop and its deadline (`timeoutMs`). */
export interface Probers {
  timeoutMs: number;
  icmp: IcmpProber;
  tcp: TcpProber;
  dns: DnsProber;
}

/** Runs one probe. */
export function runProbe(p: Probe, { timeoutMs, icmp, tcp, dns }: Probers): Promise<Observed> {
  switch (p.kind) {
    case "tcp":
      return tcp.probe(p.netns, p.address, p.port, p.responder);
    case "udp":
      return probeUdp(p, timeoutMs);
    case "icmp":
      return icmp.ping(p.netns, p.address);
    case "dns":
      return dns.query(p.netns, p.server ?? "127.0.0.11:53", p.name, p.type);
    case "iface":
      return Promise.resolve(probeIface(p));
    case "invalid":
      return Promise.resolve({ kind: "error", message: p.reason });
  }
}

/** TCP probes of a run from which a share goes to a second thread (on a machine with 2+ CPUs). */
const PARALLEL_MIN = 1000;

/** What a probe worker ({@link runOnThisThread} on another thread) is asked to do. */
export interface ProbeWork {
  probes: Probe[];
  timeoutMs: number;
  concurrency: number;
  deadline?: number;
}

/**
 * Runs `work` on a worker thread (core/checks/probe_worker.ts); resolves with its observations. A
 * worker that cannot start or dies answers every probe with an error.
 */
function onWorker(work: ProbeWork): Promise<Observed[]> {
  const failAll = (message: string) =>
    work.probes.map((): Observed => ({ kind: "error", message: `probe thread: ${message}` }));
  let w: Worker;
  try {
    w = new Worker(new URL("./probe_worker.ts", import.meta.url), { type: "module" });
  } catch (e) {
    return Promise.resolve(failAll((e as Error).message));
  }
  return new Promise<Observed[]>((resolve) => {
    w.onmessage = (e: MessageEvent<Observed[]>) => resolve(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      resolve(failAll(e.message));
    };
    w.postMessage(work);
  }).finally(() => w.terminate());
}

/**
 * Runs all probes, at most `concurrency` at a time, each with its own deadline; results in input
 * order. Never throws for a single failed probe: failures are observations. With 1,000 TCP probes
 * or more and more than one CPU, every other TCP probe runs on a worker thread: the kernel's work
 * for a handshake happens inside `connect` on the calling thread, and one thread cannot use two
 * CPUs. (Splitting the DNS queries too was slower: the supervisor answering them is then the
 * bottleneck, and two threads compete with it for the CPUs.)
 *
 * @example
 * ```ts
 * const [o] = await runProbes([{ kind: "icmp", netns: "shop-web", address: "172.20.0.3" }]);
 * ```
 */
export async function runProbes(probes: Probe[], opts: ProbeOptions = {}): Promise<Observed[]> {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const concurrency = Math.max(1, opts.concurrency ?? 256);
  let tcp = 0;
  const away = probes.map((p) => p.kind === "tcp" && tcp++ % 2 === 1);
  const deadline = opts.deadline;
  if (tcp < PARALLEL_MIN || navigator.hardwareConcurrency < 2) {
    return await runOnThisThread(probes, timeoutMs, concurrency, deadline);
  }
  const [mine, theirs] = await Promise.all([
    runOnThisThread(probes.filter((_, i) => !away[i]), timeoutMs, concurrency, deadline),
    onWorker({
      probes: probes.filter((_, i) => away[i]),
      timeoutMs,
      concurrency: Math.ceil(concurrency / 2),
      deadline,
    }),
  ]);
  let a = 0;
  let b = 0;
  return away.map((there) => there ? theirs[b++] : mine[a++]);
}

/** {@link runProbes} on the calling thread only. */
export async function runOnThisThread(
  probes: Probe[],
  timeoutMs: number,
  concurrency: number,
  deadline?: number,
): Promise<Observed[]> {
  const out: Observed[] = new Array(probes.length);
  const loop = new Epoll(timeoutMs);
  const probers: Probers = {
    timeoutMs,
    icmp: new IcmpProber(loop),
    tcp: new TcpProber(loop),
    dns: new DnsProber(loop),
  };
  let next = 0;
  const lane = async () => {
    while (next < probes.length) {
      const i = next++;
      if (deadline !== undefined && Date.now() > deadline) {
        out[i] = { kind: "error", message: NOT_RUN };
        continue;
      }
      try {
        out[i] = await runProbe(probes[i], probers);
      } catch (e) {
        out[i] = { kind: "error", message: (e as Error).message };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, probes.length) }, lane));
  } finally {
    probers.icmp.close();
    probers.tcp.close();
    probers.dns.close();
    await loop.close(); // its fds belong to the process (a worker's too)
  }
  return out;
}
