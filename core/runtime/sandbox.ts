/**
 * A container's sandbox, apart from the process running in it: where its UTS namespace is pinned
 * and its log written, pinning that namespace with its hostname, the argv and environment of a
 * command inside it (`nslab exec`), and — after a crash — killing and unmounting what a lab's
 * state files list ({@link cleanupLabRuntime}). `process.ts` runs and supervises the commands.
 *
 * @module
 */

import type { ProcessPlan } from "../plan/types.ts";
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
import { labStateDir as stateDir } from "../kernel/journal.ts";
import { NslabError } from "../errors.ts";

/** PATH a command gets unless its environment sets one (Docker's default). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/** The lines of a state file (none when it does not exist). */
export function readLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** Replaces a state file's lines at once (write aside, then rename). */
export function writeLines(path: string, lines: string[]): void {
  const tmp = `${path}.tmp`;
  Deno.writeTextFileSync(tmp, lines.map((l) => `${l}\n`).join(""), { mode: 0o600 });
  Deno.renameSync(tmp, path);
}

/** Unmounts every mount stacked on `path` (ignores "not mounted"). Equivalent to: `umount -l`. */
export function unmountAll(path: string): void {
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

/** Sends `signal` to the process group led by `pid`; false when it is gone. */
export function signalGroup(pid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pid, signal);
    return true;
  } catch {
    return false;
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
