/**
 * A worker thread that runs a share of a run's TCP probes, so that the kernel's handshakes (which
 * run inside `connect`, on the calling thread) use a second CPU. It enters namespaces on its own
 * thread (`setns` is per thread) and closes every namespace fd it opened before answering.
 *
 * Message in: {@link TcpWork}. Message out: `Observed[]`, in the order of `work.probes`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { closeAllNetns } from "../netns/netns.ts";
import { Epoll } from "../netlink/epoll.ts";
import { TcpProber } from "./tcp.ts";
import type { Observed, Probe } from "./types.ts";

/** What the worker is asked to do. */
export interface TcpWork {
  probes: Extract<Probe, { kind: "tcp" }>[];
  timeoutMs: number;
  concurrency: number;
}

/** Runs `work` on this thread: at most `concurrency` probes in flight. */
export async function runTcpWork(work: TcpWork): Promise<Observed[]> {
  const loop = new Epoll(work.timeoutMs);
  const tcp = new TcpProber(loop);
  const out: Observed[] = new Array(work.probes.length);
  let next = 0;
  const lane = async () => {
    while (next < work.probes.length) {
      const i = next++;
      const p = work.probes[i];
      out[i] = await tcp.probe(p.netns, p.address, p.port, p.responder);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, work.concurrency) }, lane));
  } finally {
    tcp.close();
    await loop.close(); // its fds belong to the process: closed before the worker is ended
  }
  return out;
}

self.onmessage = async (e: MessageEvent<TcpWork>) => {
  try {
    self.postMessage(await runTcpWork(e.data));
  } catch (err) {
    const message = (err as Error).message;
    self.postMessage(e.data.probes.map((): Observed => ({ kind: "error", message })));
  } finally {
    closeAllNetns();
  }
};
