/**
 * Mininet baselines: `mn --switch lxbr --controller none --topo single,N --test none` (build and
 * tear down N hosts on one Linux bridge) and Mininet's `pingall` on N hosts, timed alone by
 * `baselines/mininet_pingall.py`.
 *
 * Mininet runs inside a throwaway namespace `bnmn-<rand>` (`ip netns exec`): its bridge and the
 * switch-side veths live there, so the machine's own firewall (e.g. a FORWARD policy DROP left by
 * Docker, which br_netfilter applies to bridged frames) never touches them, and deleting that
 * namespace removes whatever a crashed run left. We never run `mn -c`: it kills every `ping` and
 * `controller` process on the machine and deletes every OVS bridge, including other people's.
 *
 * @module
 */

import { createNetns, deleteNetns } from "../core/kernel/netns/netns.ts";

const PINGALL = new URL("./baselines/mininet_pingall.py", import.meta.url).pathname;

/** Why Mininet cannot run here, or null. */
export async function mininetSkipReason(): Promise<string | null> {
  try {
    const r = await new Deno.Command("mn", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return r.success ? null : "mn --version failed";
  } catch {
    return "mn is not installed (apt-get install -y mininet bridge-utils)";
  }
}

/** Children of `pid` (from /proc/<p>/stat). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

/** SIGKILLs `pid` and its descendants (by id, deepest first). */
function killTree(pid: number): void {
  for (const c of childrenOf(pid)) killTree(c);
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* already gone */ }
}

/**
 * Runs `args` inside a fresh namespace `bnmn-<rand>` with lo up, killing the process tree after
 * `timeoutMs`; the namespace is deleted afterwards whatever happened. Returns stdout and the
 * elapsed milliseconds of the whole command.
 */
async function inFreshNetns(
  args: string[],
  timeoutMs: number,
): Promise<{ ms: number; stdout: string; stderr: string }> {
  const ns = `bnmn-${crypto.randomUUID().slice(0, 6)}`;
  createNetns(ns);
  let child: Deno.ChildProcess | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    new Deno.Command("ip", { args: ["-n", ns, "link", "set", "lo", "up"] }).outputSync();
    const t0 = performance.now();
    child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pid = child.pid;
    timer = setTimeout(() => killTree(pid), timeoutMs);
    const r = await child.output();
    const ms = performance.now() - t0;
    child = null;
    const dec = new TextDecoder();
    const stdout = dec.decode(r.stdout);
    const stderr = dec.decode(r.stderr);
    if (!r.success) {
      throw new Error(
        `${args.join(" ")} failed in namespace ${ns} (exit ${r.code}): ` +
          stderr.trim().split("\n").slice(-3).join(" / "),
      );
    }
    return { ms, stdout, stderr };
  } finally {
    clearTimeout(timer);
    if (child) killTree(child.pid);
    deleteNetns(ns);
  }
}

/**
 * One Mininet build + teardown of `n` hosts on one Linux bridge, no controller, no test:
 * elapsed milliseconds of the `mn` command.
 */
export async function mininetUpDown(n: number): Promise<number> {
  const r = await inFreshNetns(
    ["mn", "--switch", "lxbr", "--controller", "none", "--topo", `single,${n}`, "--test", "none"],
    120_000,
  );
  if (!/\*\*\* Done/.test(r.stderr + r.stdout)) {
    throw new Error(
      `mn did not finish its run: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}`,
    );
  }
  return r.ms;
}

/** Result of one Mininet `pingall`. */
export interface PingallResult {
  probes: number;
  droppedPct: number;
  /** pingAll() alone, without building and stopping the network. */
  pingallMs: number;
}

/** Mininet's `pingall` on `n` hosts (n·(n−1) sequential pings), timed alone. */
export async function mininetPingall(n: number): Promise<PingallResult> {
  const r = await inFreshNetns(["/usr/bin/python3", PINGALL, String(n)], 600_000);
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  const j = JSON.parse(line) as { probes: number; dropped_pct: number; pingall_ms: number };
  return { probes: j.probes, droppedPct: j.dropped_pct, pingallMs: j.pingall_ms };
}
