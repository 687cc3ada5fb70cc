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
 * `/run/nslab/<lab>/mounts`; {@link cleanupLabRuntime} kills and unmounts from those files alone.
 *
 * @module
 */

import type { ProcessPlan } from "../plan/types.ts";
import type { Container } from "../model/types.ts";
import {
  check,
  cstr,
  errno,
  libc,
  MNT_DETACH,
  O_CLOEXEC,
  O_CREAT,
  O_RDONLY,
  SyscallError,
} from "../kernel/sys/ffi.ts";
import { assertNetnsName, unsharePinned } from "../kernel/netns/netns.ts";
import { ensureLabStateDir as ensureStateDir, labStateDir as stateDir } from "../kernel/journal.ts";
import { NslabError } from "../errors.ts";

/** PATH a command gets unless its environment sets one (Docker's default). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Seconds a command gets between SIGTERM and SIGKILL on stop (Docker gives 10). */
export const STOP_GRACE_MS = 3_000;

/** How long stop waits for buffered output after the command's group is gone. */
const DRAIN_MS = 500;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** A command that ran this long before exiting restarts without back-off (as Docker resets it). */
const HEALTHY_RUN_MS = 10_000;

const SAFE_CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SAFE_HOSTNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

function assertContainerName(name: string): void {
  if (!SAFE_CONTAINER.test(name) || name.includes("..")) {
    throw new NslabError(`Invalid container name ${JSON.stringify(name)}: it reaches a file path`);
  }
}

/** Where the UTS namespace of `container` is pinned. */
export function utsPath(lab: string, container: string): string {
  assertContainerName(container);
  return `${stateDir(lab)}/uts/${container}`;
}

/** Where the output of `container`'s command is appended. */
export function logPath(lab: string, container: string): string {
  assertContainerName(container);
  return `${stateDir(lab)}/logs/${container}.log`;
}

function readLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

function writeLines(path: string, lines: string[]): void {
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, lines.map((l) => `${l}\n`).join(""), { mode: 0o600 });
  Deno.renameSync(tmp, path);
}

/** Unmounts every mount stacked on `path` (ignores "not mounted"). Equivalent to: `umount -l`. */
function unmountAll(path: string): void {
  const c = libc();
  for (let i = 0; i < 16; i++) {
    if (c.umount2(cstr(path), MNT_DETACH) === 0) continue;
    const e = errno();
    if (e === 22 /* EINVAL: not a mount point */ || e === 2 /* ENOENT */) return;
    throw new SyscallError("umount2", e, path);
  }
}

/**
 * Creates a UTS namespace with hostname `hostname` and pins it at `path` (bind mount of the
 * namespace file), leaving the calling thread in its own UTS namespace.
 * Equivalent to: `touch PATH; unshare --uts=PATH hostname HOSTNAME`.
 */
export function pinUtsNamespace(path: string, hostname: string): void {
  if (!SAFE_HOSTNAME.test(hostname)) {
    const what = JSON.stringify(hostname);
    throw new NslabError(
      `Cannot set hostname ${what}: use 1 to 64 letters, digits, '-', '_' and '.', ` +
        `not starting with '-' or '.'`,
    );
  }
  unmountAll(path);
  const c = libc();
  const fd = check("open", c.open(cstr(path), O_RDONLY | O_CREAT | O_CLOEXEC, 0o444), path);
  c.close(fd);
  try {
    unsharePinned("uts", path, {
      inside: () => {
        const name = new TextEncoder().encode(hostname);
        check("sethostname", c.sethostname(name, BigInt(name.length)), hostname);
      },
    });
  } catch (e) {
    try {
      Deno.removeSync(path);
    } catch { /* best effort */ }
    throw e;
  }
}

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

/** Options accepted by {@link execArgs}: a process plan, or just where the container lives. */
export type ExecTarget = ProcessPlan | { netns: string; container: string };

/**
 * The argv that runs `cmd` inside a container's sandbox: its network namespace with its
 * `/etc/netns` files, its UTS namespace when pinned, and — given a full {@link ProcessPlan} — the
 * same clean environment its command has. This is what `nslab exec NAME -- CMD` runs.
 *
 * Equivalent to: `ip netns exec NS nsenter --uts=PIN -- env -i PATH=… HOSTNAME=… K=V… CMD…`.
 *
 * @example
 * ```ts
 * const [bin, ...args] = execArgs("shop", plan.processes[0], ["hostname"]);
 * await new Deno.Command(bin, { args }).output();
 * ```
 */
export function execArgs(lab: string, p: ExecTarget, cmd: string[]): string[] {
  if (cmd.length === 0) throw new NslabError("Cannot run an empty command in a container");
  const argv: string[] = [];
  if (p.netns !== "") {
    assertNetnsName(p.netns);
    argv.push("ip", "netns", "exec", p.netns);
  }
  const pin = utsPath(lab, p.container);
  let pinned = false;
  try {
    pinned = Deno.statSync(pin).isFile;
  } catch { /* not pinned: the machine's hostname */ }
  if (pinned) argv.push("nsenter", `--uts=${pin}`, "--");
  if ("environment" in p) {
    const env = containerEnv(lab, p);
    argv.push("env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`));
  }
  argv.push(...cmd);
  return argv;
}

/**
 * The environment a container's command gets: Docker's PATH, HOSTNAME, HOME, the container's
 * `environment`, and two markers (`NSLAB_LAB`, `NSLAB_CONTAINER`) that let a crashed lab's
 * processes be told apart from others.
 */
export function containerEnv(lab: string, p: ProcessPlan): Record<string, string> {
  return {
    PATH: DEFAULT_PATH,
    HOSTNAME: p.hostname,
    HOME: "/root",
    ...p.environment,
    NSLAB_LAB: lab,
    NSLAB_CONTAINER: p.container,
  };
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

/** Sends `signal` to the process group led by `pid`; false when it is gone. */
function signalGroup(pid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

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

/** true when `pid` is alive, leads its own session, and carries `NSLAB_LAB=<lab>`. */
function isLabProcess(pid: number, lab: string): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || Number(fields[3]) !== pid) return false; // fields[3]: session id
    const environ = new TextDecoder().decode(Deno.readFileSync(`/proc/${pid}/environ`));
    return environ.split("\0").includes(`NSLAB_LAB=${lab}`);
  } catch {
    return false;
  }
}

/**
 * After a crash: kills (SIGKILL, whole process group) every command recorded in
 * `/run/nslab/<lab>/pids` that is still this lab's, unmounts every UTS pin recorded in
 * `/run/nslab/<lab>/mounts`, and removes both files. Never stops at the first failure; returns
 * every error. Idempotent.
 */
export function cleanupLabRuntime(lab: string): Error[] {
  const dir = stateDir(lab);
  const errors: Error[] = [];
  for (const line of readLines(`${dir}/pids`)) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    if (isLabProcess(pid, lab)) signalGroup(pid, "SIGKILL");
  }
  for (const pin of readLines(`${dir}/mounts`)) {
    if (!pin.startsWith(`${dir}/uts/`) || pin.includes("..")) {
      errors.push(new Error(`Refusing to unmount ${pin}: not under ${dir}/uts`));
      continue;
    }
    try {
      unmountAll(pin);
      Deno.removeSync(pin);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) errors.push(e as Error);
    }
  }
  for (const f of ["pids", "mounts"]) {
    try {
      Deno.removeSync(`${dir}/${f}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) errors.push(e as Error);
    }
  }
  try {
    Deno.removeSync(`${dir}/uts`);
  } catch { /* not empty or absent */ }
  return errors;
}
