/**
 * A fair kernel between benchmark subjects, and the kernel settings the figures depend on.
 *
 * Deleting a namespace returns at once; the kernel frees it later: `cleanup_net`, one work item
 * on the `netns` work queue, runs the exit handlers of every dying namespace, unregisters their
 * devices and waits out RCU grace periods. A subject measured meanwhile shares the CPUs with
 * that work. {@link settle} waits until that work is over.
 *
 * What says so, measured on this VM (kernel 6.18, 2 CPUs):
 * - Not the `net_namespace` slab. Since 6.14-ish the kernel hands a namespace's memory back at
 *   the start of the *next* `cleanup_net`, not at the end of its own: after 200 namespaces were
 *   deleted the slab stayed at 224 active objects for minutes, and dropped only when another
 *   batch was deleted. Waiting for it to return to a baseline hit the 60 s cap on every subject.
 * - Yes: a kernel worker executing work of the `netns` queue. A kworker's `/proc/PID/comm` names
 *   the last queue it ran, with `+` while it is executing an item (`kworker/u8:4+netns`) and `-`
 *   once done. Deleting 500 empty namespaces showed `+netns` for ~190 ms, then never again.
 *   The work is queued by the last `put_net` and an idle worker takes it within microseconds, so
 *   {@link settle} asks for no `+netns` worker in every poll over a quiet window (100 ms), which
 *   also covers a queued-but-not-yet-started item; on an idle kernel it returns after that window.
 *   (Another process deleting namespaces meanwhile stretches the wait, up to its deadline.)
 *
 * @module
 */

/** Kernel threads: the children of kthreadd (pid 2), or every process where that list is absent. */
function kernelThreads(): string[] {
  try {
    return Deno.readTextFileSync("/proc/2/task/2/children").trim().split(" ").filter(Boolean);
  } catch {
    return [...Deno.readDirSync("/proc")].map((e) => e.name).filter((n) => /^\d+$/.test(n));
  }
}

/** Whether a kernel worker is executing work of the `netns` queue (freeing namespaces) now. */
export function namespaceCleanupRunning(): boolean {
  for (const pid of kernelThreads()) {
    try {
      const comm = Deno.readTextFileSync(`/proc/${pid}/comm`);
      if (comm.startsWith("kworker/") && comm.includes("+netns")) return true;
    } catch { /* exited meanwhile */ }
  }
  return false;
}

/**
 * Network namespaces alive now, as this process can see them: the distinct namespaces of every
 * process plus those pinned under /run/netns (a namespace pinned some other way is not counted).
 */
export function liveNamespaces(): number {
  const seen = new Set<number>();
  const add = (path: string) => {
    try {
      seen.add(Deno.statSync(path).ino ?? 0);
    } catch { /* gone meanwhile */ }
  };
  for (const e of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(e.name)) add(`/proc/${e.name}/ns/net`);
  }
  try {
    for (const e of Deno.readDirSync("/run/netns")) add(`/run/netns/${e.name}`);
  } catch { /* no /run/netns */ }
  return seen.size;
}

/** How a wait for the kernel ended. */
export interface Settled {
  /** Milliseconds waited, the quiet window included. */
  waitedMs: number;
  /** Milliseconds during which a worker was seen freeing namespaces. */
  busyMs: number;
  /** false when the deadline passed first (another process may be deleting namespaces). */
  settled: boolean;
}

/**
 * Waits until no kernel worker has been freeing namespaces for `quietMs`, polling every 10 ms,
 * for up to `timeoutMs`.
 */
export async function settle(timeoutMs = 60_000, quietMs = 100): Promise<Settled> {
  const t0 = performance.now();
  let quietSince = t0;
  let busyMs = 0;
  let last = t0;
  for (;;) {
    const now = performance.now();
    if (namespaceCleanupRunning()) {
      busyMs += now - last;
      quietSince = performance.now();
    } else if (now - quietSince >= quietMs) {
      return { waitedMs: now - t0, busyMs, settled: true };
    }
    if (now - t0 >= timeoutMs) return { waitedMs: now - t0, busyMs, settled: false };
    last = now;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The kernel settings that move the figures, read (not changed) at the start of a run. */
export interface KernelSettings {
  cpus: number;
  /** gc_thresh1/2/3 of the IPv4 and IPv6 neighbour tables (default settings, all namespaces). */
  neigh4: string;
  neigh6: string;
  /** `bridge-nf-call-iptables` (br_netfilter sends bridged frames through iptables), or absent. */
  brNetfilter: string;
  /** This process's open-file limit, soft/hard, and fs.nr_open. */
  openFiles: string;
  /** Namespaces alive when the run started ({@link liveNamespaces}). */
  namespaces: number;
}

function read(path: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return "absent";
  }
}

function thresholds(family: "ipv4" | "ipv6"): string {
  const dir = `/proc/sys/net/${family}/neigh/default`;
  return [1, 2, 3].map((i) => read(`${dir}/gc_thresh${i}`)).join("/");
}

/** Reads the settings (no root needed for most; absent ones say so). */
export function kernelSettings(softHard: string): KernelSettings {
  return {
    cpus: navigator.hardwareConcurrency,
    neigh4: thresholds("ipv4"),
    neigh6: thresholds("ipv6"),
    brNetfilter: read("/proc/sys/net/bridge/bridge-nf-call-iptables"),
    openFiles: `${softHard}, fs.nr_open ${read("/proc/sys/fs/nr_open")}`,
    namespaces: liveNamespaces(),
  };
}

/** The settings as the bench header's lines. */
export function describeSettings(s: KernelSettings): string[] {
  return [
    `CPUs: ${s.cpus}`,
    `neighbour gc_thresh1/2/3: IPv4 ${s.neigh4}, IPv6 ${s.neigh6}`,
    `br_netfilter (bridge-nf-call-iptables): ${
      s.brNetfilter === "absent" ? "not loaded" : s.brNetfilter
    }`,
    `open files (soft/hard): ${s.openFiles}`,
    `network namespaces alive at start: ${s.namespaces}`,
  ];
}
