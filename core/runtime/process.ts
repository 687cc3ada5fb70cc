/**
 * The netns runtime's container processes: a container's `command` runs in its sandbox — its
 * network namespace, its own UTS namespace (its `hostname`), its `/etc/resolv.conf` and
 * `/etc/hosts` from `/etc/netns/<netns>/` — with its `environment`, its output appended to
 * `/run/nslab/<lab>/logs/<container>.log`, and its `restart:` policy honoured.
 *
 * A command is spawned as
 * `ip netns exec NETNS nsenter --uts=/run/nslab/<lab>/uts/<container> -- COMMAND…`
 * (no shell): `ip netns exec` enters the network namespace and bind-mounts the `/etc/netns` files,
 * `nsenter` enters the pinned UTS namespace. Each command leads its own session and process group,
 * so stopping it also stops whatever it forked.
 *
 * Crash safety: the pids of running commands are kept in `/run/nslab/<lab>/pids` and the UTS pins in
 * `/run/nslab/<lab>/mounts`; `cleanupLabRuntime` (`sandbox.ts`, with the sandbox itself: paths,
 * UTS pins, exec argv) kills and unmounts from those files alone.
 *
 * @module
 */

import type { ProcessPlan } from "../plan/types.ts";
import type { Container } from "../model/types.ts";
import { ensureLabStateDir as ensureStateDir, labStateDir as stateDir } from "../kernel/journal.ts";
import { NslabError } from "../errors.ts";
import {
  containerEnv,
  execArgs,
  logPath,
  pinUtsNamespace,
  readLines,
  signalGroup,
  unmountAll,
  utsPath,
  writeLines,
} from "./sandbox.ts";

/** Seconds a command gets between SIGTERM and SIGKILL on stop (Docker gives 10). */
export const STOP_GRACE_MS = 3_000;

/** How long stop waits for buffered output after the command's group is gone. */
const DRAIN_MS = 500;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** A command that ran this long before exiting restarts without back-off (as Docker resets it). */
const HEALTHY_RUN_MS = 10_000;

/**
 * Gives a container without a command its own hostname on first use (`nslab exec`), by pinning
 * its UTS namespace then. Pinning every such sandbox at `up` cost a mount per container there and
 * an unmount at `down` (seconds each for 4,000 containers) for a hostname few ever ask for.
 * Containers with a command are pinned when it starts; shared and host modes keep the host's.
 */
export function pinOnFirstUse(lab: string, p: ProcessPlan, c: Container): void {
  if (p.command || c.runtime === "docker") return;
  if (!(c.mode.kind === "own" || c.mode.kind === "none")) return;
  try {
    if (Deno.statSync(utsPath(lab, p.container)).isFile) return;
  } catch { /* not pinned yet */ }
  new ProcessManager(lab).prepare(p);
}

/** What a managed command is doing. */
export type ProcessStatus = "running" | "restarting" | "exited" | "stopped";

/** A snapshot of one container's command. */
export interface ProcessInfo {
  container: string;
  status: ProcessStatus;
  /** pid of the running command (also its process group), or 0. */
  pid: number;
  /** How many times it was started again after exiting. */
  restarts: number;
  /** Exit code of the last run (128+N for signal N), or null before the first exit. */
  lastExit: number | null;
}

interface Managed {
  plan: ProcessPlan;
  info: ProcessInfo;
  child: Deno.ChildProcess | null;
  stopping: boolean;
  /** Wakes the supervision loop from its back-off sleep. */
  wake: () => void;
  /** Resolves when the supervision loop has finished. */
  loop: Promise<void>;
  log: Deno.FsFile;
  copies: Promise<void>[];
  /** Process group of the last run (its first pid); 0 before the first. */
  pgid: number;
  /** Output pipes still open (a forked child of the command may hold them). */
  readers: Set<ReadableStreamDefaultReader<Uint8Array>>;
}

async function copyInto(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  file: Deno.FsFile,
): Promise<void> {
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      let off = 0;
      while (off < value.length) off += await file.write(value.subarray(off));
    }
  } catch { /* cancelled, or the log went away: the command keeps running */ }
}

function exitCode(status: Deno.CommandStatus): number {
  if (status.signal) {
    const n = Deno.build.os === "linux" ? SIGNALS[status.signal] ?? 0 : 0;
    return 128 + n;
  }
  return status.code;
}

const SIGNALS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/**
 * Runs and supervises the commands of one lab's containers.
 *
 * @example
 * ```ts
 * const pm = new ProcessManager("shop");
 * const pid = await pm.start(plan.processes.find((p) => p.command)!);
 * await pm.stopAll();
 * ```
 */
export class ProcessManager {
  readonly lab: string;
  #managed = new Map<string, Managed>();
  #pins = new Set<string>();
  /** Pins listed in `/run/nslab/<lab>/mounts` (null: not read yet). */
  #recorded: Set<string> | null = null;

  constructor(lab: string) {
    stateDir(lab); // validates the name
    this.lab = lab;
  }

  /**
   * Creates (again) the pinned UTS namespace of a container, with its hostname, and records the
   * mount. `start` does it; call it for containers without a command so `nslab exec` sees the
   * hostname too.
   */
  prepare(p: Pick<ProcessPlan, "container" | "hostname">): string {
    const dir = stateDir(this.lab);
    const mounts = `${dir}/mounts`;
    // The recorded pins are read once: reading the file again per container made `up` O(n²)
    // (4,000 containers: 4,000 reads of a file growing to 100 KB).
    if (this.#recorded === null) {
      ensureStateDir(this.lab);
      Deno.mkdirSync(`${dir}/uts`, { recursive: true, mode: 0o700 });
      this.#recorded = new Set(readLines(mounts));
    }
    const pin = utsPath(this.lab, p.container);
    // Append, not rewrite: rewriting the whole journal per container made `up` O(n²) in files.
    if (!this.#recorded.has(pin)) {
      Deno.writeTextFileSync(mounts, `${pin}\n`, { append: true, mode: 0o600 });
      this.#recorded.add(pin);
    }
    pinUtsNamespace(pin, p.hostname);
    this.#pins.add(pin);
    return pin;
  }

  /**
   * Starts the command of `p` in its sandbox and supervises it under its restart policy.
   * Returns the pid of the first run (it leads its own process group).
   *
   * @throws {NslabError} when `p` has no command, the container already runs one, or the
   * command cannot be spawned.
   */
  async start(p: ProcessPlan): Promise<number> {
    if (!p.command || p.command.length === 0) {
      throw new NslabError(`Cannot start "${p.container}": it has no command`);
    }
    const existing = this.#managed.get(p.container);
    if (existing && !existing.stopping && existing.info.status !== "exited") {
      throw new NslabError(
        `Cannot start "${p.container}": its command is already ${existing.info.status} ` +
          `(pid ${existing.info.pid}); stop it first`,
      );
    }
    if (existing) await this.stop(p.container);
    this.prepare(p);
    const dir = ensureStateDir(this.lab);
    Deno.mkdirSync(`${dir}/logs`, { recursive: true, mode: 0o700 });
    const log = await Deno.open(logPath(this.lab, p.container), {
      create: true,
      append: true,
      mode: 0o600,
    });
    const m: Managed = {
      plan: p,
      info: { container: p.container, status: "running", pid: 0, restarts: 0, lastExit: null },
      child: null,
      stopping: false,
      wake: () => {},
      loop: Promise.resolve(),
      log,
      copies: [],
      pgid: 0,
      readers: new Set(),
    };
    this.#managed.set(p.container, m);
    try {
      this.#spawn(m);
    } catch (e) {
      this.#managed.delete(p.container);
      log.close();
      throw new NslabError(
        `Cannot start the command of "${p.container}" (${p.command.join(" ")}): ${
          (e as Error).message
        }; check that "ip" and "nsenter" are installed`,
        1,
        { cause: e },
      );
    }
    m.loop = this.#supervise(m);
    return m.info.pid;
  }

  #spawn(m: Managed): void {
    const [bin, ...args] = execArgs(
      this.lab,
      { netns: m.plan.netns, container: m.plan.container },
      m.plan.command!,
    );
    const child = new Deno.Command(bin, {
      args,
      clearEnv: true,
      env: containerEnv(this.lab, m.plan),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    m.child = child;
    m.info.pid = child.pid;
    m.info.status = "running";
    m.pgid = child.pid;
    for (const stream of [child.stdout, child.stderr]) {
      const reader = stream.getReader();
      m.readers.add(reader);
      m.copies.push(copyInto(reader, m.log).finally(() => m.readers.delete(reader)));
    }
    this.#recordPids();
  }

  async #supervise(m: Managed): Promise<void> {
    let backoff = FIRST_BACKOFF_MS;
    while (m.child) {
      const started = performance.now();
      const status = await m.child.status;
      m.child = null;
      m.info.lastExit = exitCode(status);
      m.info.pid = 0;
      this.#recordPids();
      const policy = m.plan.restart;
      const again = !m.stopping &&
        (policy === "always" || policy === "unless-stopped" ||
          (policy === "on-failure" && m.info.lastExit !== 0));
      if (!again) break;
      if (performance.now() - started > HEALTHY_RUN_MS) backoff = FIRST_BACKOFF_MS;
      m.info.status = "restarting";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        m.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      if (m.stopping) break;
      try {
        this.#spawn(m);
        m.info.restarts++;
      } catch (e) {
        await m.log.write(
          new TextEncoder().encode(`nslab: cannot restart: ${(e as Error).message}\n`),
        ).catch(() => 0);
        break;
      }
    }
    m.info.status = m.stopping ? "stopped" : "exited";
    await Promise.all(m.copies);
    m.copies = [];
  }

  /** The state of `container`'s command, or null when this manager never started it. */
  info(container: string): ProcessInfo | null {
    const m = this.#managed.get(container);
    return m ? { ...m.info } : null;
  }

  /**
   * Stops `container`'s command (SIGTERM to its process group, SIGKILL after
   * {@link STOP_GRACE_MS}) and cancels any pending restart. Unknown or stopped: no-op.
   * Equivalent to: `docker stop`.
   */
  async stop(container: string): Promise<void> {
    const m = this.#managed.get(container);
    if (!m) return;
    m.stopping = true;
    m.wake();
    const pid = m.info.pid;
    if (pid > 0 && m.child) {
      signalGroup(pid, "SIGTERM");
      const killer = setTimeout(() => signalGroup(pid, "SIGKILL"), STOP_GRACE_MS);
      try {
        await m.child.status;
      } finally {
        clearTimeout(killer);
      }
    }
    // Whatever the command forked and left behind in its group (still holding its output) goes too.
    if (m.pgid > 0 && m.readers.size > 0) signalGroup(m.pgid, "SIGKILL");
    if (m.readers.size > 0) {
      // Drain what is buffered; a process that left the group may hold the pipes forever.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(m.copies),
        new Promise((r) => timer = setTimeout(r, DRAIN_MS)),
      ]);
      clearTimeout(timer);
      for (const r of m.readers) r.cancel().catch(() => {});
    }
    await m.loop;
    m.log.close();
    this.#managed.delete(container);
    m.info.status = "stopped";
  }

  /**
   * Stops every command, then unmounts the UTS namespaces this manager pinned and forgets them in
   * `/run/nslab/<lab>/mounts`.
   */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#managed.keys()].map((c) => this.stop(c)));
    const errors: string[] = [];
    for (const pin of this.#pins) {
      try {
        unmountAll(pin);
        Deno.removeSync(pin);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) errors.push(`${pin}: ${(e as Error).message}`);
      }
    }
    const mounts = `${stateDir(this.lab)}/mounts`;
    const left = readLines(mounts).filter((p) => !this.#pins.has(p));
    this.#pins.clear();
    this.#recorded = null;
    try {
      if (left.length === 0) Deno.removeSync(mounts);
      else writeLines(mounts, left);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (errors.length > 0) {
      throw new NslabError(
        `Cannot release the UTS namespaces of lab "${this.lab}":\n${errors.join("\n")}`,
      );
    }
  }

  /** pids of the commands running now (each leads its process group). */
  pids(): number[] {
    return [...this.#managed.values()].map((m) => m.info.pid).filter((p) => p > 0).sort((a, b) =>
      a - b
    );
  }

  /** Keeps `/run/nslab/<lab>/pids` equal to the running commands (removed when none). */
  #recordPids(): void {
    const path = `${ensureStateDir(this.lab)}/pids`;
    const pids = this.pids();
    if (pids.length > 0) {
      writeLines(path, pids.map(String));
      return;
    }
    try {
      Deno.removeSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}
