/**
 * A worker thread that runs a share of a run's probes, so that the kernel work of thousands of
 * handshakes and queries (done inside `connect`/`sendto`, on the calling thread) and the JS around
 * them use a second CPU. It enters namespaces on its own thread (`setns` is per thread) and closes
 * every namespace fd it opened before answering.
 *
 * Message in: {@link ProbeWork}. Message out: `Observed[]`, in the order of `work.probes`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { closeAllNetns } from "../kernel/netns/netns.ts";
import { type ProbeWork, runOnThisThread } from "./probes.ts";
import type { Observed } from "./types.ts";

self.onmessage = async (e: MessageEvent<ProbeWork>) => {
  const { probes, timeoutMs, concurrency, deadline } = e.data;
  try {
    self.postMessage(await runOnThisThread(probes, timeoutMs, concurrency, deadline));
  } catch (err) {
    const message = (err as Error).message;
    self.postMessage(probes.map((): Observed => ({ kind: "error", message })));
  } finally {
    closeAllNetns();
  }
};
