/**
 * A fair kernel between benchmark subjects, and the kernel settings the figures depend on.
 *
 * Deleting a namespace returns at once; the kernel frees it later (`cleanup_net` on a work queue,
 * after RCU grace periods): 500 namespaces take about six seconds to leave, on two CPUs. A subject
 * measured meanwhile shares the machine with that work. {@link settle} waits until the
 * `net_namespace` slab of `/proc/slabinfo` is back to where it was before the subject that made
 * them, so each subject starts on a kernel that has finished freeing the last one's namespaces.
 * (Another process making namespaces meanwhile stretches a wait up to its deadline: run the bench
 * on a quiet machine.)
 *
 * @module
 */

/** Live network namespaces in the kernel (the `net_namespace` slab's active objects). */
export function kernelNamespaces(): number {
  const line = Deno.readTextFileSync("/proc/slabinfo").split("\n").find((l) =>
    l.startsWith("net_namespace ")
  );
  if (!line) throw new Error("/proc/slabinfo has no net_namespace line");
  return Number(line.split(/\s+/)[1]);
}

/** How a wait for the kernel ended. */
export interface Settled {
  /** Milliseconds waited. */
  waitedMs: number;
  /** Namespaces still alive when the wait ended. */
  left: number;
  /** false when the deadline passed first (another process may be making namespaces). */
  settled: boolean;
}

/**
 * Waits until the kernel holds at most `baseline + slack` network namespaces, polling every
 * 20 ms, for up to `timeoutMs`.
 */
export async function settle(baseline: number, timeoutMs = 60_000, slack = 2): Promise<Settled> {
  const t0 = performance.now();
  let left = kernelNamespaces();
  while (left > baseline + slack && performance.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 20));
    left = kernelNamespaces();
  }
  return { waitedMs: performance.now() - t0, left, settled: left <= baseline + slack };
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
  /** Namespaces the kernel held when the run started. */
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
    namespaces: kernelNamespaces(),
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
