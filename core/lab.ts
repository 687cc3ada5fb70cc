/**
 * Lab lifecycle: `up` (plan → kernel → firewall → supervisor, rolled back on failure) and `down`.
 *
 * @module
 */

import type { Model } from "./model/types.ts";
import type { Plan } from "./plan/types.ts";
import { buildPlan } from "./plan/plan.ts";
import { applyNetwork } from "./apply.ts";
import { teardown, type TeardownReport } from "./teardown.ts";
import { applyFirewall } from "./firewall/apply.ts";
import { writeNetnsFiles } from "./runtime/netns_files.ts";
import { Supervisor } from "./runtime/supervisor.ts";
import { checkDockerEngine, startDockerContainers } from "./runtime/docker.ts";
import { checkKernelFeatures } from "./features.ts";
import { ApplyError, NslabError } from "./errors.ts";
import { type Progress, silent } from "./progress.ts";
import {
  type LabState,
  processAlive,
  readState,
  stateDir,
  writeState,
  writeStateFile,
} from "./state.ts";

/** How `up` runs the lab's supervisor. */
export type SupervisorMode =
  /** In this process (the library): stops with the process or `down`. */
  | { kind: "in-process" }
  /** A detached `deno run cli/supervisor.ts <lab>` (the CLI): outlives `nslab up`. */
  | { kind: "detached" };

/** Options of {@link upLab}. */
export interface UpOptions {
  file: string;
  digest: string;
  supervisor: SupervisorMode;
  progress?: Progress;
  /** Give up waiting for the supervisor's listeners after this long. */
  readyTimeoutMs?: number;
}

/** A lab that is up. */
export interface UpResult {
  state: LabState;
  /** Set when the supervisor runs in this process. */
  supervisor: Supervisor | null;
  /** true when the lab was already up from the same file and nothing was done. */
  unchanged: boolean;
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let delay = 5;
  while (!cond()) {
    if (performance.now() > deadline) {
      throw new NslabError(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

function fileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Starts the detached supervisor process of a lab and returns its pid. */
async function spawnSupervisor(lab: string): Promise<number> {
  const { spawn } = await import("node:child_process");
  const { openSync, closeSync } = await import("node:fs");
  const script = new URL("../cli/supervisor.ts", import.meta.url).pathname;
  const config = new URL("../deno.json", import.meta.url).pathname;
  const log = openSync(`${stateDir(lab)}/supervisor.log`, "a", 0o600);
  const child = spawn(Deno.execPath(), ["run", "--allow-all", "--config", config, script, lab], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  child.unref();
  closeSync(log);
  if (!child.pid) throw new NslabError(`Cannot start the supervisor of lab "${lab}"`);
  return child.pid;
}

/** Appends one line to a file of the lab's state directory (read back by teardown). */
function appendStateLine(lab: string, file: string, line: string): void {
  Deno.writeTextFileSync(`${stateDir(lab)}/${file}`, `${line}\n`, { append: true, mode: 0o600 });
}

/** Writes per-namespace files and applies every host's firewall (one iptables-restore each). */
async function applyUserland(plan: Plan, progress: Progress): Promise<void> {
  progress.step("Firewall (iptables-restore per host)");
  for (const p of plan.processes) {
    if (Object.keys(p.files).length) writeNetnsFiles(p.netns, p.files);
  }
  await Promise.all(plan.firewall.map((f) => applyFirewall(f.netns, f.rules)));
  progress.done(`Firewall on ${plan.firewall.length} host(s)`);
}

/**
 * Brings a lab up. Fails without touching the kernel when the lab already exists from another
 * file; rolls everything back (and reports every cleanup error) when a step fails.
 */
export async function upLab(model: Model, opts: UpOptions): Promise<UpResult> {
  const progress = opts.progress ?? silent;
  const lab = model.lab;
  checkKernelFeatures(model);
  await checkDockerEngine(model);
  const existing = readState(lab);
  if (existing) {
    if (existing.digest === opts.digest && processAlive(existing.supervisorPid)) {
      return { state: existing, supervisor: null, unchanged: true };
    }
    throw new NslabError(
      `Cannot bring up lab "${lab}": it already exists (from ${existing.file}${
        processAlive(existing.supervisorPid) ? "" : ", its supervisor is not running"
      }); run "nslab down -p ${lab}" first, or choose another name with -p`,
      1,
    );
  }
  const plan = buildPlan(model);
  const state: LabState = {
    lab,
    file: opts.file,
    digest: opts.digest,
    model,
    plan,
    supervisorPid: 0,
    createdAt: new Date().toISOString(),
  };
  writeState(state);
  let supervisor: Supervisor | null = null;
  try {
    progress.step("Namespaces, links, addresses, routes");
    // runtime: docker containers start first; their namespaces are then wired like sandboxes.
    const adopt = await startDockerContainers(model, {
      record: (name) => appendStateLine(lab, "docker", name),
    });
    await applyNetwork(plan, { adopt });
    progress.done(`Network: ${plan.namespaces.length} namespaces`);
    await applyUserland(plan, progress);
    progress.step("Supervisor (DNS 127.0.0.11, responders, commands)");
    if (opts.supervisor.kind === "in-process") {
      supervisor = new Supervisor(model);
      await supervisor.start(plan);
      state.supervisorPid = Deno.pid;
    } else {
      state.supervisorPid = await spawnSupervisor(lab);
      writeState(state);
      const ready = `${stateDir(lab)}/ready`;
      await waitFor(
        () => fileExists(ready) || !processAlive(state.supervisorPid),
        opts.readyTimeoutMs ?? 30_000,
        `the supervisor of lab "${lab}"`,
      );
      if (!fileExists(ready)) {
        let log = "";
        try {
          log = Deno.readTextFileSync(`${stateDir(lab)}/supervisor.log`).trim().split("\n").slice(
            -5,
          ).join("\n");
        } catch { /* no log */ }
        throw new NslabError(`The supervisor of lab "${lab}" exited before it was ready:\n${log}`);
      }
    }
    writeState(state);
    progress.done("Supervisor ready");
    return { state, supervisor, unchanged: false };
  } catch (e) {
    const cleanup: Error[] = [];
    try {
      if (supervisor) await supervisor.stop();
    } catch (err) {
      cleanup.push(err as Error);
    }
    try {
      const report = await teardown(lab);
      cleanup.push(...report.errors);
    } catch (err) {
      cleanup.push(err as Error);
    }
    if (e instanceof NslabError && cleanup.length === 0) throw e;
    throw new ApplyError(`Cannot bring up lab "${lab}": ${(e as Error).message}`, e, cleanup);
  }
}

/** Stops a lab's supervisor (TERM, then KILL) and removes everything the lab made. Idempotent. */
export async function downLab(
  lab: string,
  opts: { supervisor?: Supervisor | null } = {},
): Promise<TeardownReport> {
  if (opts.supervisor) await opts.supervisor.stop();
  const state = readState(lab);
  const pid = state?.supervisorPid ?? 0;
  if (pid > 0 && pid !== Deno.pid && processAlive(pid)) {
    try {
      Deno.kill(pid, "SIGTERM");
      await waitFor(() => !processAlive(pid), 5_000, `supervisor ${pid} to stop`);
    } catch {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
  }
  return await teardown(lab);
}

/** Marks the detached supervisor of `lab` as ready (called by cli/supervisor.ts). */
export function markReady(lab: string): void {
  writeStateFile(lab, "ready", `${Deno.pid}\n`);
}
