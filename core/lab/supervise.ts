/**
 * Starting a lab's supervisor (DNS 127.0.0.11, responders, commands) for the whole lab or one
 * host's part: in this process (the library), or detached (`deno run cli/supervisor.ts LAB
 * [HOST]`, the CLI) and waited for until it says it is ready.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { Plan } from "../plan/types.ts";
import { NslabError } from "../errors.ts";
import { pollUntil } from "../poll.ts";
import { Supervisor } from "../runtime/supervisor.ts";
import { processAlive, stateDir } from "./state.ts";

/** How `up` runs the lab's supervisor. */
export type SupervisorMode =
  /** In this process (the library): stops with the process or `down`. */
  | { kind: "in-process" }
  /** A detached `deno run cli/supervisor.ts <lab>` (the CLI): outlives `nslab up`. */
  | { kind: "detached" };

/** Waits until `cond` holds; throws a timeout naming `what`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
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
  host: string | null,
  timeoutMs: number,
  record: (pid: number) => void,
): Promise<number> {
  const { spawn } = await import("node:child_process");
  const { openSync, closeSync } = await import("node:fs");
  const what = host === null ? `lab "${lab}"` : `host "${host}" of lab "${lab}"`;
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
  const ready = `${stateDir(lab)}/${host === null ? "ready" : `ready-${host}`}`;
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

/** Where and how to start a supervisor. */
export interface SuperviseOptions {
  mode: SupervisorMode;
  /** `null`: the whole lab; else the host whose part it serves. */
  host: string | null;
  timeoutMs: number;
  /** Records the supervisor's pid (the detached one's before it is ready). */
  record: (pid: number) => void;
}

/**
 * Starts the supervisor serving `plan` (the lab's, or one host's part of it; DNS answers come
 * from the whole `model`). Returns it when it runs in this process.
 */
export async function startSupervisor(
  model: Model,
  plan: Plan,
  opts: SuperviseOptions,
  onCreated: (s: Supervisor) => void,
): Promise<Supervisor | null> {
  if (opts.mode.kind === "in-process") {
    const supervisor = new Supervisor(model);
    onCreated(supervisor);
    await supervisor.start(plan);
    opts.record(Deno.pid);
    return supervisor;
  }
  await startDetachedSupervisor(model.lab, opts.host, opts.timeoutMs, opts.record);
  return null;
}
