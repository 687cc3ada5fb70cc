/**
 * nslab's own subjects: `up`+`down` of a generated topology through the library (`upLab` with an
 * in-process supervisor, then `downLab`) and through the CLI (`nslab up` / `nslab down`, detached
 * supervisor), and the memory of the supervisor after `up`.
 *
 * Labs are named `bn<rand>` and made without an uplink (`uplink: false`, `--no-uplink`), so
 * parallel runs never race for an underlay /24 and nothing is added to the machine's root
 * namespace. Every function removes its lab in `finally`.
 *
 * @module
 */

import type { TopologyInput } from "../core/model/load.ts";
import { loadTopologyObject } from "../core/model/load.ts";
import type { Model } from "../core/model/types.ts";
import { upLab } from "../core/lab/lab.ts";
import { downLab } from "../core/lab/down.ts";
import { readState } from "../core/lab/state.ts";
import { readMachine } from "../core/lab/alloc.ts";
import type { Supervisor } from "../core/runtime/supervisor.ts";
import { buildPlan } from "../core/plan/plan.ts";
import { writeIpBatch } from "./ip_plan.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** A fresh lab name with the bench prefix: `bn` + 5 random characters. */
export function labName(): string {
  return `bn${crypto.randomUUID().replaceAll("-", "").slice(0, 5)}`;
}

/** Timings of one up+down. */
export interface UpDown {
  upMs: number;
  downMs: number;
  totalMs: number;
}

/** A lab brought up through the library; `down()` removes it (idempotent). */
export interface RunningLab {
  model: Model;
  supervisor: Supervisor | null;
  upMs: number;
  down(): Promise<number>;
}

/**
 * Loads `make(name)` and brings it up in this process (timed from loading the topology to the
 * supervisor being ready). The caller must call `down()`.
 */
export async function libraryUp(make: (name: string) => TopologyInput): Promise<RunningLab> {
  const name = labName();
  const t0 = performance.now();
  try {
    const { model } = loadTopologyObject(make(name), { uplink: false, machine: readMachine() });
    const up = await upLab(model, {
      file: "<bench>",
      digest: name,
      supervisor: { kind: "in-process" },
    });
    const upMs = performance.now() - t0;
    let done = false;
    return {
      model,
      supervisor: up.supervisor,
      upMs,
      async down() {
        if (done) return 0;
        done = true;
        const t1 = performance.now();
        const report = await downLab(name, { supervisor: up.supervisor });
        if (report.errors.length) throw report.errors[0];
        return performance.now() - t1;
      },
    };
  } catch (e) {
    await downLab(name).catch(() => {});
    throw e;
  }
}

/** One up+down through the library. */
export async function libraryUpDown(make: (name: string) => TopologyInput): Promise<UpDown> {
  const lab = await libraryUp(make);
  try {
    const downMs = await lab.down();
    return { upMs: lab.upMs, downMs, totalMs: lab.upMs + downMs };
  } finally {
    await lab.down().catch(() => {});
  }
}

/** Runs `nslab ARGS` as a user does (a fresh `deno run` of cli/main.ts); its stdout. */
async function cli(args: string[], okCodes = [0]): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", CONFIG, CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!okCodes.includes(r.code)) {
    throw new Error(
      `nslab ${args.join(" ")} failed (exit ${r.code}): ${
        new TextDecoder().decode(r.stderr).trim()
      }`,
    );
  }
  return new TextDecoder().decode(r.stdout);
}

/** VmRSS of a process in MB (from /proc/<pid>/status), or NaN when it is gone. */
export function rssMB(pid: number | "self"): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

/**
 * One up+down through the CLI (`nslab up -f FILE -p NAME --no-uplink`, then `nslab down -p NAME`),
 * each a fresh `deno run`, so deno's start-up is included, as a user sees it. Also returns the
 * detached supervisor's RSS after `up`.
 */
export async function cliUpDown(
  make: (name: string) => TopologyInput,
): Promise<UpDown & { supervisorRssMB: number }> {
  const name = labName();
  const dir = await Deno.makeTempDir({ prefix: `${name}-` });
  const file = `${dir}/topology.json`;
  await Deno.writeTextFile(file, JSON.stringify(make(name)));
  try {
    const t0 = performance.now();
    await cli(["up", "-f", file, "-p", name, "--no-uplink", "--progress", "quiet"]);
    const upMs = performance.now() - t0;
    const pid = readState(name)?.supervisorPid ?? 0;
    const supervisorRssMB = pid > 0 ? rssMB(pid) : NaN;
    const t1 = performance.now();
    await cli(["down", "-p", name]);
    const downMs = performance.now() - t1;
    return { upMs, downMs, totalMs: upMs + downMs, supervisorRssMB };
  } finally {
    await downLab(name).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * RSS of a fresh process that brought `n` containers over `hosts` hosts up with an in-process
 * supervisor (`bench/_memory.ts`, read from /proc/self/status after `up`), in MB.
 */
export async function inProcessRssMB(n: number, hosts: number): Promise<number> {
  const script = new URL("./_memory.ts", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", CONFIG, script, String(n), String(hosts)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!r.success) throw new Error(`bench/_memory.ts failed: ${dec.decode(r.stderr).trim()}`);
  return (JSON.parse(dec.decode(r.stdout).trim().split("\n").at(-1)!) as { rssMB: number }).rssMB;
}

/** Runs a bash script; throws with its stderr when it fails. */
async function bash(script: string): Promise<void> {
  const r = await new Deno.Command("bash", { args: [script], stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) {
    throw new Error(`${script} failed: ${new TextDecoder().decode(r.stderr).trim().slice(-500)}`);
  }
}

/**
 * The `ip -batch` baseline of the same objects as `make(name)` (bench/ip_plan.ts): batch files
 * written beforehand (untimed), then the create script and the delete script, timed. Namespaces
 * are named after a fresh `bn…` lab and removed in `finally`.
 */
export async function ipPlanUpDown(make: (name: string) => TopologyInput): Promise<UpDown> {
  const name = labName();
  const { model } = loadTopologyObject(make(name), { uplink: false, machine: readMachine() });
  const plan = buildPlan(model);
  const dir = await Deno.makeTempDir({ prefix: `${name}-ip-` });
  try {
    const { create, del } = writeIpBatch(plan, dir);
    const t0 = performance.now();
    await bash(create);
    const upMs = performance.now() - t0;
    const t1 = performance.now();
    await bash(del);
    const downMs = performance.now() - t1;
    return { upMs, downMs, totalMs: upMs + downMs };
  } finally {
    const left = plan.namespaces.map((n) => n.name).filter((n) => {
      try {
        return Deno.statSync(`/run/netns/${n}`) !== null;
      } catch {
        return false;
      }
    });
    if (left.length) {
      await Deno.writeTextFile(`${dir}/left.batch`, left.map((n) => `netns del ${n}`).join("\n"));
      await new Deno.Command("ip", { args: ["-batch", `${dir}/left.batch`], stderr: "null" })
        .output();
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The implied reach matrix as a user first runs it: `nslab up`, then `nslab check --only reach`
 * timed as a whole process (deno start-up, cold neighbour caches), then `nslab down`.
 */
export async function cliFirstCheck(
  make: (name: string) => TopologyInput,
): Promise<{ ms: number; probes: number; failed: number }> {
  const name = labName();
  const dir = await Deno.makeTempDir({ prefix: `${name}-` });
  const file = `${dir}/topology.json`;
  await Deno.writeTextFile(file, JSON.stringify(make(name)));
  try {
    await cli(["up", "-f", file, "-p", name, "--no-uplink", "--progress", "quiet"]);
    const t0 = performance.now();
    const out = await cli(["check", "-p", name, "--only", "reach", "--format", "json"], [0, 1]);
    const ms = performance.now() - t0;
    const report = JSON.parse(out) as { probes: number; failed: number };
    return { ms, probes: report.probes, failed: report.failed };
  } finally {
    await cli(["down", "-p", name]).catch(() => {});
    await downLab(name).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
