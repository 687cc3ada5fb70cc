/**
 * Lab lifecycle: `up` (plan → kernel → firewall → supervisor, rolled back on failure) and `down`.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { Plan } from "../plan/types.ts";
import { buildPlan, hostPartPlan, underlaySegmentPlan } from "../plan/plan.ts";
import { applyNetwork, applyPlan, type Section } from "../kernel/apply.ts";
import { deleteNetns, listNetns } from "../kernel/netns/netns.ts";
import { teardown, type TeardownReport } from "../kernel/teardown.ts";
import { removeNetnsFiles } from "../kernel/netns/files.ts";
import { Supervisor } from "../runtime/supervisor.ts";
import {
  checkDockerEngine,
  removeDockerContainers,
  startDockerContainers,
} from "../runtime/docker.ts";
import { checkKernelFeatures } from "../kernel/features.ts";
import { readMachine, underlayTaken, withAllocLock } from "./alloc.ts";
import { loadTopology, type MachineView } from "../model/load.ts";
import { ApplyError, NslabError, UnsupportedError } from "../errors.ts";
import { pollUntil } from "../poll.ts";
import { type Progress, silent } from "./progress.ts";
import {
  digest,
  ensureStateDir,
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
  /**
   * The same topology resolved against the machine as it is now, used under the allocation lock
   * when the underlay chosen at load time was taken meanwhile. Default, for a model chosen on the
   * machine (`model.chosenOnMachine`): `file` loaded again (when it still has `digest`) with the
   * lab name and uplink of the model. A model whose `reserved` the caller fixed is not re-chosen.
   */
  reload?: (machine: MachineView) => Model;
}

/** The topology file of `opts` loaded again against `machine`, or null when it changed or is gone. */
async function reloadFromFile(
  model: Model,
  opts: UpOptions,
  machine: MachineView,
): Promise<Model | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(opts.file);
  } catch {
    return null;
  }
  if (await digest(text) !== opts.digest) return null;
  const loadOpts = { project: model.lab, uplink: model.underlay.uplink !== null, machine };
  return loadTopology({ file: opts.file, text }, loadOpts).model;
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
  if (!await pollUntil(cond, { timeoutMs, firstMs: 5, maxMs: 100 })) {
    throw new NslabError(`Timed out after ${timeoutMs} ms waiting for ${what}`);
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

/**
 * Starts the detached supervisor of a lab (or of one host's part), hands its pid to `record`
 * before waiting (so `down` can find it even if this process dies now), and waits until it is
 * ready. Throws with the tail of its log when it exits first.
 */
async function startDetachedSupervisor(
  lab: string,
  host: string | undefined,
  timeoutMs: number,
  record: (pid: number) => void,
): Promise<number> {
  const { spawn } = await import("node:child_process");
  const { openSync, closeSync } = await import("node:fs");
  const what = host === undefined ? `lab "${lab}"` : `host "${host}" of lab "${lab}"`;
  const script = new URL("../../cli/supervisor.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const logPath = `${stateDir(lab)}/supervisor.log`;
  const log = openSync(logPath, "a", 0o600);
  const args = ["run", "--allow-all", "--config", config, script, lab, ...(host ? [host] : [])];
  const child = spawn(Deno.execPath(), args, {
    detached: true,
    stdio: ["ignore", log, log],
  });
  child.unref();
  closeSync(log);
  const pid = child.pid;
  if (!pid) throw new NslabError(`Cannot start the supervisor of ${what}`);
  record(pid);
  const ready = `${stateDir(lab)}/${host === undefined ? "ready" : `ready-${host}`}`;
  await waitFor(
    () => fileExists(ready) || !processAlive(pid),
    timeoutMs,
    `the supervisor of ${what}`,
  );
  if (!fileExists(ready)) {
    let tail = "";
    try {
      tail = Deno.readTextFileSync(logPath).trim().split("\n").slice(-5).join("\n");
    } catch { /* no log */ }
    throw new NslabError(`The supervisor of ${what} exited before it was ready:\n${tail}`);
  }
  return pid;
}

/** Appends one line to a file of the lab's state directory (read back by teardown). */
function appendStateLine(lab: string, file: string, line: string): void {
  Deno.writeTextFileSync(`${stateDir(lab)}/${file}`, `${line}\n`, { append: true, mode: 0o600 });
}

/** Progress of `up`: the network is `done` when the firewall (one iptables-restore per host) starts. */
function firewallProgress(progress: Progress, done: string): (s: Section) => void {
  return (s) => {
    if (s !== "firewall") return;
    progress.done(done);
    progress.step("Firewall (iptables-restore per host)");
  };
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
  // Parallel `up`s: the underlay is re-checked (and re-chosen if taken meanwhile) and the state,
  // which reserves it, written under one machine-wide lock (core/lab/alloc.ts).
  const state = await withAllocLock(async () => {
    if (readState(lab)) {
      throw new NslabError(`Cannot bring up lab "${lab}": another process is bringing it up`, 1);
    }
    const taken = underlayTaken(model);
    if (taken) {
      if (model.chosenOnMachine) {
        const machine = readMachine();
        model = opts.reload?.(machine) ?? await reloadFromFile(model, opts, machine) ?? model;
      }
      const still = underlayTaken(model);
      if (still) {
        throw new NslabError(
          `Cannot bring up lab "${lab}": its underlay ${model.underlay.subnet} is taken (${still}); ` +
            "set underlay.subnet to a free prefix, or run without the uplink (--no-uplink)",
        );
      }
    }
    const s: LabState = {
      lab,
      file: opts.file,
      digest: opts.digest,
      model,
      plan: buildPlan(model),
      supervisorPid: 0,
      createdAt: new Date().toISOString(),
    };
    writeState(s);
    return s;
  });
  const plan = state.plan;
  let supervisor: Supervisor | null = null;
  try {
    progress.step("Namespaces, links, addresses, routes");
    // runtime: docker containers start first; their namespaces are then wired like sandboxes.
    const adopt = await startDockerContainers(model, {
      record: (name) => appendStateLine(lab, "docker", name),
    });
    await applyPlan(plan, {
      adopt,
      onSection: firewallProgress(progress, `Network: ${plan.namespaces.length} namespaces`),
    });
    progress.done(`Firewall on ${plan.firewall.length} host(s)`);
    progress.step("Supervisor (DNS 127.0.0.11, responders, commands)");
    if (opts.supervisor.kind === "in-process") {
      supervisor = new Supervisor(model);
      await supervisor.start(plan);
      state.supervisorPid = Deno.pid;
    } else {
      await startDetachedSupervisor(lab, undefined, opts.readyTimeoutMs ?? 30_000, (pid) => {
        state.supervisorPid = pid;
        writeState(state);
      });
    }
    writeState(state);
    progress.done("Supervisor ready");
    return { state, supervisor, unchanged: false };
  } catch (e) {
    const cleanup: Error[] = [];
    // A failed apply rolls its namespaces back and drops its journal: their files go here.
    for (const p of plan.processes) {
      try {
        removeNetnsFiles(p.netns);
      } catch (err) {
        cleanup.push(err as Error);
      }
    }
    try {
      if (supervisor) await supervisor.stop();
    } catch (err) {
      cleanup.push(err as Error);
    }
    try {
      const report = await teardown(lab, { removeContainers: removeDockerContainers });
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
  // the lab's supervisor, and those of its hosts' parts (`up --only-host`)
  const pids = [state?.supervisorPid ?? 0];
  if (state) {
    for (const h of state.model.hosts) pids.push(readPartState(lab, h.name)?.supervisorPid ?? 0);
  }
  for (const pid of pids) {
    if (!(pid > 0 && pid !== Deno.pid && processAlive(pid))) continue;
    try {
      Deno.kill(pid, "SIGTERM");
      await waitFor(() => !processAlive(pid), 5_000, `supervisor ${pid} to stop`);
    } catch {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
  }
  return await teardown(lab, { removeContainers: removeDockerContainers });
}

/** Marks the detached supervisor of `lab` as ready (called by cli/supervisor.ts). */
export function markReady(lab: string): void {
  writeStateFile(lab, "ready", `${Deno.pid}\n`);
}

/** What one host's part of a lab records: `/run/nslab/<lab>/part-<host>.json`. */
export interface HostPartState {
  host: string;
  digest: string;
  plan: Plan;
  supervisorPid: number;
}

/** The state file name of one host's part. */
export function partStateFile(host: string): string {
  return `part-${host}.json`;
}

/** The recorded part of `host` in `lab`, or null. */
export function readPartState(lab: string, host: string): HostPartState | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${stateDir(lab)}/${partStateFile(host)}`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Brings up exactly one host's part of a lab (`nslab up --only-host HOST`): the underlay segment
 * when it is missing (shared when present), the host namespace with its VXLAN peers pointing at
 * the other hosts' addresses, its containers, its firewall and a supervisor serving its containers
 * (DNS answers come from the whole model, so names resolve across hosts). Parts of one lab on one
 * machine run one at a time (an exclusive lock on the lab's state directory). A failed part
 * removes only what it made. `downLab` removes every part.
 */
export async function upHostPart(model: Model, host: string, opts: UpOptions): Promise<UpResult> {
  const progress = opts.progress ?? silent;
  const lab = model.lab;
  const h = model.hosts.find((x) => x.name === host);
  if (!h) {
    throw new UnsupportedError(
      `Cannot bring up host "${host}" of lab "${lab}": the topology has no such host; its hosts ` +
        `are ${model.hosts.map((x) => `"${x.name}"`).join(", ")}`,
    );
  }
  checkKernelFeatures(model);
  await checkDockerEngine(model);
  ensureStateDir(lab);
  const lock = await Deno.open(`${stateDir(lab)}/lock`, { create: true, write: true, mode: 0o600 });
  await lock.lock(true);
  try {
    const existing = readState(lab);
    if (existing && existing.digest !== opts.digest) {
      throw new NslabError(
        `Cannot bring up host "${host}" of lab "${lab}": the lab already exists from another ` +
          `file (${existing.file}); every host's part must come from the same topology — run ` +
          `"nslab down -p ${lab}" first, or choose another name with -p`,
        1,
      );
    }
    // The first part fixes the model: an automatic underlay /24 or address chosen by another
    // process must not differ from this one's.
    if (existing) model = existing.model;
    const full = buildPlan(model);
    const state: LabState = existing ?? {
      lab,
      file: opts.file,
      digest: opts.digest,
      model,
      plan: full,
      supervisorPid: 0,
      createdAt: new Date().toISOString(),
    };
    const prior = readPartState(lab, host);
    if (prior && processAlive(prior.supervisorPid)) {
      return { state, supervisor: null, unchanged: true };
    }
    if (prior) {
      throw new NslabError(
        `Cannot bring up host "${host}" of lab "${lab}": its part exists but its supervisor is ` +
          `not running; run "nslab down -p ${lab}" first`,
        1,
      );
    }
    if (!existing) writeState(state);
    const part = hostPartPlan(full, model, host);
    const made: string[] = [];
    let supervisor: Supervisor | null = null;
    try {
      progress.step(`Host ${host}: namespaces, links, addresses, routes`);
      if (!listNetns().includes(model.underlay.netns)) {
        await applyNetwork(underlaySegmentPlan(full, model));
      }
      const applied = await applyPlan(part, {
        shared: [model.underlay.netns],
        onSection: firewallProgress(
          progress,
          `Host ${host}: ${
            part.namespaces.filter((n) => n.name !== model.underlay.netns).length
          } namespaces`,
        ),
      });
      made.push(...applied.namespaces);
      progress.done(`Firewall on ${part.firewall.length} host(s)`);
      const partState: HostPartState = { host, digest: opts.digest, plan: part, supervisorPid: 0 };
      if (opts.supervisor.kind === "in-process") {
        supervisor = new Supervisor(model);
        await supervisor.start(part);
        partState.supervisorPid = Deno.pid;
        writeStateFile(lab, partStateFile(host), JSON.stringify(partState));
      } else {
        writeStateFile(lab, partStateFile(host), JSON.stringify(partState));
        await startDetachedSupervisor(lab, host, opts.readyTimeoutMs ?? 30_000, (pid) => {
          partState.supervisorPid = pid;
          writeStateFile(lab, partStateFile(host), JSON.stringify(partState));
        });
      }
      progress.done(`Host ${host}: supervisor ready`);
      return { state, supervisor, unchanged: false };
    } catch (e) {
      const cleanup: Error[] = [];
      try {
        if (supervisor) await supervisor.stop();
        const pid = readPartState(lab, host)?.supervisorPid ?? 0;
        if (pid > 0 && pid !== Deno.pid && processAlive(pid)) Deno.kill(pid, "SIGKILL");
      } catch (err) {
        cleanup.push(err as Error);
      }
      for (const ns of made.reverse()) {
        try {
          deleteNetns(ns);
        } catch (err) {
          cleanup.push(err as Error);
        }
      }
      try {
        Deno.removeSync(`${stateDir(lab)}/${partStateFile(host)}`);
      } catch { /* not written */ }
      if (e instanceof NslabError && cleanup.length === 0) throw e;
      throw new ApplyError(
        `Cannot bring up host "${host}" of lab "${lab}": ${(e as Error).message}`,
        e,
        cleanup,
      );
    }
  } finally {
    lock.close();
  }
}

/** Marks the detached supervisor of one host's part as ready (called by cli/supervisor.ts). */
export function markPartReady(lab: string, host: string): void {
  writeStateFile(lab, `ready-${host}`, `${Deno.pid}\n`);
}
