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
import type { Supervisor } from "../runtime/supervisor.ts";
import { processAlive, stateDir } from "./state.ts";

/** How `up` runs the lab's supervisor. */
export type SupervisorMode =
  /** In this process (the library): stops with the process or `down`. */
  | { kind: "in-process" }
  /** A detached `deno run cli/supervisor.ts <lab>` (the CLI): outlives `nslab up`. */
  | { kind: "detached" };

/**
 * Waits until `cond` holds; throws a timeout naming `what`. Polls often at first (most waits here
 * are short, and each millisecond of one is a millisecond of `up` or `down`), then every 20 ms.
 */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (!await pollUntil(cond, { timeoutMs, firstMs: 1, maxMs: 20 })) {
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

/** The supervisor's stdin, as `up` holds it: one line to say "go", or closed. */
interface Control {
  write(text: string): void;
  end(): void;
  destroy(): void;
}

/**
 * A detached supervisor (`deno run cli/supervisor.ts LAB [HOST]`) started BEFORE the kernel is
 * applied, so that the runtime's start-up and the loading of its code overlap the apply instead of
 * following it. It waits for one line on its stdin: `go` once the state it reads is final; end of
 * input instead (the `up` failed, or was killed) makes it exit without serving anything.
 */
export class DetachedSupervisor {
  readonly lab: string;
  readonly host: string | null;
  readonly pid: number;
  #control: Control;
  #ready: Promise<void> | null = null;

  private constructor(lab: string, host: string | null, pid: number, control: Control) {
    this.lab = lab;
    this.host = host;
    this.pid = pid;
    this.#control = control;
  }

  /**
   * Starts the supervisor of `lab` (or of one host's part) in its own session, its output appended
   * to `/run/nslab/<lab>/supervisor.log`. It records its pid in the lab's `pids` file itself and
   * is found by its command line too, so a teardown after a kill finds it at any point.
   */
  static async spawn(lab: string, host: string | null): Promise<DetachedSupervisor> {
    const { spawn } = await import("node:child_process");
    const { openSync, closeSync } = await import("node:fs");
    const script = new URL("../../cli/supervisor.ts", import.meta.url).pathname;
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const log = openSync(`${stateDir(lab)}/supervisor.log`, "a", 0o600);
    const args = ["run", "--allow-all", "--config", config, script, lab, ...(host ? [host] : [])];
    const child = spawn(Deno.execPath(), args, { detached: true, stdio: ["pipe", log, log] });
    child.unref();
    closeSync(log);
    if (!child.pid || !child.stdin) {
      throw new NslabError(`Cannot start the supervisor of ${describe(lab, host)}`);
    }
    child.stdin.on("error", () => {}); // it died: go() reports that, with its log
    return new DetachedSupervisor(lab, host, child.pid, child.stdin);
  }

  /**
   * Tells the supervisor to serve (once; later calls return the same promise), hands its pid to
   * `record`, and resolves when it is ready. Rejects with the tail of its log when it exits first.
   */
  go(timeoutMs: number, record: (pid: number) => void): Promise<void> {
    if (this.#ready) return this.#ready;
    this.#control.write("go\n");
    this.#control.end();
    record(this.pid);
    this.#ready = this.#untilReady(timeoutMs);
    return this.#ready;
  }

  async #untilReady(timeoutMs: number): Promise<void> {
    const dir = stateDir(this.lab);
    const ready = `${dir}/${this.host === null ? "ready" : `ready-${this.host}`}`;
    const what = describe(this.lab, this.host);
    await waitFor(
      () => fileExists(ready) || !processAlive(this.pid),
      timeoutMs,
      `the supervisor of ${what}`,
    );
    if (fileExists(ready)) return;
    let tail = "";
    try {
      tail = Deno.readTextFileSync(`${dir}/supervisor.log`).trim().split("\n").slice(-5).join("\n");
    } catch { /* no log */ }
    throw new NslabError(`The supervisor of ${what} exited before it was ready:\n${tail}`);
  }

  /** Stops it (a failed `up`): closes its stdin if it was never told to go, then kills it. */
  cancel(): void {
    if (!this.#ready) this.#control.destroy();
    try {
      if (processAlive(this.pid)) Deno.kill(this.pid, "SIGKILL");
    } catch { /* already gone */ }
  }
}

function describe(lab: string, host: string | null): string {
  return host === null ? `lab "${lab}"` : `host "${host}" of lab "${lab}"`;
}

/**
 * In the supervisor: waits for the `go` line of {@link DetachedSupervisor.go} on `input` (its
 * stdin). false on end of input: the `up` that started it failed or died.
 */
export async function waitForGo(
  input: { read(p: Uint8Array): Promise<number | null> },
): Promise<boolean> {
  const buf = new Uint8Array(16);
  let text = "";
  while (!text.includes("\n")) {
    const n = await input.read(buf);
    if (n === null) return false;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text.startsWith("go\n");
}

/** Where and how to start a supervisor. */
export interface SuperviseOptions {
  mode: SupervisorMode;
  /** The detached supervisor `up` started early (mode "detached"); one is started when absent. */
  detached?: DetachedSupervisor | null;
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
    // Loaded here: the CLI's `up` runs its supervisor in another process and never needs it.
    const { Supervisor } = await import("../runtime/supervisor.ts");
    const supervisor = new Supervisor(model);
    onCreated(supervisor);
    await supervisor.start(plan);
    opts.record(Deno.pid);
    return supervisor;
  }
  const detached = opts.detached ?? await DetachedSupervisor.spawn(model.lab, opts.host);
  await detached.go(opts.timeoutMs, opts.record);
  return null;
}
