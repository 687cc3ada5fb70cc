/**
 * Support for the reliability tests (prefix `rl`): lab names, the real CLI as a child process, a
 * process-tree watcher, and a leak check that reads the machine directly (`ip -j`, `/run/netns`,
 * `/proc/mounts`, `/proc/<pid>/cmdline`) rather than through nslab's own discovery code, so that
 * a bug in teardown's discovery cannot hide its own leak.
 *
 * @module
 */

/** Repository root (the CLI and topologies are found from here). */
export const ROOT = new URL("../../", import.meta.url).pathname;
/** The real CLI entry point. */
export const CLI = `${ROOT}cli/main.ts`;
/** The reliability tests' mid-size multi-host topology (3 hosts, overlay, NAT, commands). */
export const MID = `${ROOT}tests/_reliability/mid.yaml`;

/** true when the long variants are asked for (`NSLAB_LONG=1`, as `deno task test:long` does). */
export function longRun(): boolean {
  return Deno.env.get("NSLAB_LONG") === "1";
}

/** A count: `long` under `NSLAB_LONG=1`, else `ci`; an explicit env var `name` wins over both. */
export function count(name: string, ci: number, long: number): number {
  const v = Deno.env.get(name);
  if (v !== undefined && /^\d+$/.test(v)) return Number(v);
  return longRun() ? long : ci;
}

/** A lab name with the `rl` prefix, a tag letter and a random suffix (≤ 11 bytes). */
export function rlName(tag: string): string {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 11 - 2 - tag.length);
  return `rl${tag}${suffix}`;
}

/** Output of a finished command. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A cli/main.ts ARGS…` to the end. */
export async function cli(args: string[]): Promise<Output> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** The argv of a process (empty when it is gone). */
export function cmdline(pid: number): string[] {
  const t = readText(`/proc/${pid}/cmdline`);
  return t === null ? [] : t.split("\0").filter((a) => a !== "");
}

/** The short command name (`comm`, at most 15 bytes) of a process, or null when it is gone. */
export function comm(pid: number): string | null {
  return readText(`/proc/${pid}/comm`)?.trim() ?? null;
}

/** true when the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  const stat = readText(`/proc/${pid}/stat`);
  return stat !== null && !/\) Z /.test(stat);
}

/** Direct children of a process (all its threads' children). */
export function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = readText(`/proc/${pid}/task/${t.name}/children`) ?? "";
      for (const p of text.split(" ")) if (p.trim() !== "") out.push(Number(p));
    }
  } catch { /* gone */ }
  return out;
}

/** Every descendant of a process, now. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = children(pid);
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...children(p));
  }
  return out;
}

/** A process seen while watching a tree: pid and the argv it had. */
export interface Seen {
  pid: number;
  argv: string[];
  comm: string;
}

/**
 * Watches the process tree under `root` (polling /proc every millisecond or so) and remembers
 * every descendant it ever saw, with the last argv and comm seen (a process that `exec`s, like
 * nsenter → iptables-restore, is seen under its later name too). Descendants of seen processes
 * stay watched after their parent dies (a detached supervisor outlives a killed `up`).
 */
export class TreeWatcher {
  readonly seen = new Map<number, Seen>();
  #stopped = false;
  #loop: Promise<void>;

  constructor(readonly root: number, onSeen: (s: Seen, all: Map<number, Seen>) => void = () => {}) {
    this.#loop = (async () => {
      while (!this.#stopped) {
        // Orphans are re-parented to init when their parent dies: keep following seen pids.
        const roots = [root, ...[...this.seen.keys()].filter(alive)];
        for (const pid of new Set(roots.flatMap(descendants))) {
          const argv = cmdline(pid);
          const c = comm(pid);
          if (c === null) continue;
          const prev = this.seen.get(pid);
          if (!prev || prev.comm !== c || prev.argv.join(" ") !== argv.join(" ")) {
            const s = { pid, argv: argv.length ? argv : prev?.argv ?? [], comm: c };
            this.seen.set(pid, s);
            onSeen(s, this.seen);
          }
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}

/** The namespaces (pin files under /run/netns) whose name starts with `<lab>-`. */
export function labNamespaces(lab: string): string[] {
  try {
    return [...Deno.readDirSync("/run/netns")].map((e) => e.name).filter((n) =>
      n.startsWith(`${lab}-`)
    ).sort();
  } catch {
    return [];
  }
}

interface IpLink {
  ifname: string;
  ifalias?: string;
}

/** Root-namespace links of a lab: named `nsl-<lab>` or carrying the alias `nslab:<lab>`. */
export async function labRootLinks(lab: string): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["-j", "-d", "link", "show"], stdout: "piped" })
    .output();
  const links = JSON.parse(new TextDecoder().decode(out.stdout)) as IpLink[];
  return links.filter((l) => l.ifname === `nsl-${lab}` || l.ifalias === `nslab:${lab}`).map((l) =>
    l.ifname
  );
}

/**
 * Pids of live processes that name the lab: in their argv (its supervisor, nsenter into its
 * namespaces) or in their environment (`NSLAB_LAB=<lab>`, which container commands carry).
 */
export function labProcesses(lab: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (pid === Deno.pid) continue;
    const argv = cmdline(pid);
    const env = (readText(`/proc/${pid}/environ`) ?? "").split("\0");
    const named = argv.some((a) => a === lab || a.includes(`/run/netns/${lab}-`)) ||
      env.includes(`NSLAB_LAB=${lab}`);
    if (named && alive(pid)) out.push(pid);
  }
  return out;
}

/**
 * Everything of lab `lab` still on the machine, one line per object (empty: nothing left):
 * namespaces, mounts under /run/netns, root links, `/run/nslab/<lab>`, `/etc/netns/<lab>-*`,
 * processes naming the lab, and any of `watched` (pids seen during the run) still alive.
 */
export async function leftovers(lab: string, watched: Iterable<Seen> = []): Promise<string[]> {
  const out: string[] = [];
  for (const n of labNamespaces(lab)) out.push(`namespace ${n}`);
  for (const line of (readText("/proc/mounts") ?? "").split("\n")) {
    const point = line.split(" ")[1] ?? "";
    if (point.startsWith(`/run/netns/${lab}-`)) out.push(`mount ${point}`);
  }
  for (const l of await labRootLinks(lab)) out.push(`root link ${l}`);
  try {
    Deno.statSync(`/run/nslab/${lab}`);
    out.push(`state /run/nslab/${lab}`);
  } catch { /* gone, as it should be */ }
  try {
    for (const e of Deno.readDirSync("/etc/netns")) {
      if (e.name.startsWith(`${lab}-`)) out.push(`file /etc/netns/${e.name}`);
    }
  } catch { /* no /etc/netns */ }
  const pids = new Set(labProcesses(lab));
  for (const s of watched) {
    if (alive(s.pid) && cmdline(s.pid).join(" ") === s.argv.join(" ")) {
      pids.add(s.pid);
    }
  }
  for (const p of pids) out.push(`process ${p} ${cmdline(p).join(" ")}`);
  return out;
}

/** Polls `cond` until it holds or `ms` pass; returns whether it held. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (let d = 1; performance.now() < deadline; d = Math.min(d * 2, 50)) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, d));
  }
  return await cond();
}

/** Open file descriptors of this process. */
export function fdCount(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** Resident set size of this process, in KiB (VmRSS). */
export function rssKiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readText("/proc/self/status") ?? "");
  return m ? Number(m[1]) : 0;
}
