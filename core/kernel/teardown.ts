/**
 * Removing a lab: everything in its journal AND everything found from the lab name alone
 * (namespaces whose `lo` alias is exactly `nslab:<lab>`, root links with that alias, processes
 * living in those namespaces, the lab's pids/mounts files, `/etc/netns/<ns>/`, `/run/nslab/<lab>/`);
 * namespaces the lab attached (`lab.attach`, listed in `/run/nslab/<lab>/attached`) are only
 * unpinned: their processes belong to someone else.
 *
 * Works after `kill -9` at any point and when the journal is gone; never stops at the first
 * error; idempotent. The alias, not the name prefix, decides ownership: lab `shop` never touches
 * lab `shop-2`'s `shop-2-web`.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import { labStateDir, readJournal } from "./journal.ts";
import { pollUntil } from "../poll.ts";
import { closeHandle, NetlinkHandle } from "./netlink/client.ts";
import { linkDel, linkGet } from "./netlink/link.ts";
import { cstr, errno, libc, MNT_DETACH, SyscallError } from "./sys/ffi.ts";
import { deleteNetns } from "./netns/netns.ts";
import {
  labOfTag,
  labTag,
  netnsInode,
  pidsInNetns,
  scanNetns,
  taggedRootLinks,
} from "./discover.ts";

/** Extra things to remove, besides what the journal and discovery find. */
export interface TeardownExtra {
  /** Processes to kill (SIGKILL). Pids from `/run/nslab/<lab>/pids` are added. */
  pids?: number[];
  /** Mount points to detach (MNT_DETACH). Lines of `/run/nslab/<lab>/mounts` are added. */
  mounts?: string[];
  /** State directory (default `/run/nslab/<lab>`). */
  stateDir?: string;
  /**
   * Removes the lab's Docker containers (runtime: docker) listed in `/run/nslab/<lab>/docker`;
   * the lab layer passes `removeDockerContainers` (the kernel layer knows no container engine).
   * Without it, recorded containers are reported as errors, never silently left.
   */
  removeContainers?: (
    lab: string,
    names: string[],
  ) => Promise<{ removed: string[]; errors: Error[] }>;
}

/** What {@link teardown} removed, and every failure. */
export interface TeardownReport {
  lab: string;
  namespaces: string[];
  rootLinks: string[];
  pids: number[];
  mounts: string[];
  /** Directories removed (`/etc/netns/<ns>`, the state directory). */
  paths: string[];
  /** Docker containers removed (labs with `runtime: docker` containers). */
  dockerContainers?: string[];
  errors: Error[];
}

function readLines(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").map((l) => l.trim()).filter((l) => l !== "");
  } catch {
    return [];
  }
}

function cmdline(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
  } catch {
    return [];
  }
}

/**
 * Detached supervisors of `lab` (`deno … cli/supervisor.ts <lab>`), found by their command line:
 * one spawned by an `up` that was killed before it recorded the pid (in state.json, or the
 * supervisor in `pids`) is found nowhere else — it runs in the root namespace.
 */
function supervisorPids(lab: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const argv = cmdline(Number(e.name));
    const i = argv.findIndex((a) => a.endsWith("cli/supervisor.ts"));
    if (i >= 0 && argv[i + 1] === lab) out.push(Number(e.name));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  let left = pids;
  await pollUntil(() => (left = left.filter(alive)).length === 0, {
    timeoutMs: ms,
    firstMs: 1,
    maxMs: 50,
  });
  return left;
}

function removeDir(path: string, report: TeardownReport): void {
  try {
    Deno.removeSync(path, { recursive: true });
    report.paths.push(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      report.errors.push(new Error(`Cannot remove ${path}: ${(e as Error).message}`));
    }
  }
}

/**
 * {@link removeDir} for many directories, `lanes` of them in flight on I/O threads; removed paths
 * are reported in the order given.
 */
async function removeDirs(paths: string[], report: TeardownReport, lanes = 16): Promise<void> {
  const removed: boolean[] = [];
  let next = 0;
  const lane = async () => {
    while (next < paths.length) {
      const i = next++;
      try {
        await Deno.remove(paths[i], { recursive: true });
        removed[i] = true;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          report.errors.push(new Error(`Cannot remove ${paths[i]}: ${(e as Error).message}`));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, paths.length) }, lane));
  report.paths.push(...paths.filter((_, i) => removed[i]));
}

/** A mount point nslab may detach: absolute, normalised, not `/`. */
function safeMount(path: string): boolean {
  return path.startsWith("/") && path !== "/" &&
    !path.split("/").some((p) => p === ".." || p === ".");
}

/**
 * Removes everything lab `lab` made. Equivalent to, for each of the lab's namespaces:
 * `ip netns pids NS | xargs kill -9; ip netns del NS; rm -r /etc/netns/NS`, plus
 * `ip link del` of its tagged root links and `rm -r /run/nslab/LAB`.
 *
 * @example
 * ```ts
 * const report = await teardown("shop");
 * for (const e of report.errors) console.error(e.message);
 * ```
 */
export async function teardown(lab: string, extra: TeardownExtra = {}): Promise<TeardownReport> {
  const dir = extra.stateDir ?? labStateDir(lab);
  const tag = labTag(lab);
  const report: TeardownReport = {
    lab,
    namespaces: [],
    rootLinks: [],
    pids: [],
    mounts: [],
    paths: [],
    errors: [],
  };
  const fail = (what: string, e: unknown) =>
    report.errors.push(new NslabError(`${what}: ${e instanceof Error ? e.message : String(e)}`));

  // 1. What belongs to the lab: journal entries that still look like ours, and tagged namespaces.
  const journal = readJournal(`${dir}/journal`);
  const journaledNs = new Set(journal.flatMap((e) => (e.t === "netns" ? [e.name] : [])));
  const journaledRoot = new Set(
    journal.flatMap((e) => (e.t === "link" && e.ns === "" ? [e.name] : [])),
  );
  let scanned: { name: string; alias: string | null }[] = [];
  try {
    scanned = scanNetns();
  } catch (e) {
    fail("Cannot list namespaces", e);
  }
  const present = new Map(scanned.map((n) => [n.name, n.alias]));
  const namespaces = new Set<string>();
  for (const n of scanned) if (n.alias === tag) namespaces.add(n.name);
  for (const name of journaledNs) {
    if (!present.has(name)) continue;
    const alias = present.get(name);
    // Untagged or unreadable: killed between creation and tagging. Another lab's tag: not ours.
    if (alias === null || alias === "" || alias === tag) namespaces.add(name);
  }

  // 1b. Docker containers (runtime: docker), by their nslab.lab label, before their processes
  // are killed below; only when the lab recorded any (no engine call for other labs).
  const dockerNames = readLines(`${dir}/docker`);
  if (dockerNames.length > 0) {
    if (extra.removeContainers) {
      const removal = await extra.removeContainers(lab, dockerNames);
      report.dockerContainers = removal.removed;
      report.errors.push(...removal.errors);
    } else {
      fail(
        `Cannot remove the Docker containers of lab "${lab}" (${dockerNames.join(", ")})`,
        new Error('use "nslab down", which removes them'),
      );
    }
  }

  // 2. Processes: listed ones (checked, pids get reused) and any living in the lab's namespaces.
  const inodes = new Set<number>();
  for (const ns of namespaces) {
    const ino = netnsInode(ns);
    if (ino !== null) inodes.add(ino);
  }
  const inLab = new Set(pidsInNetns(inodes));
  const listed = readLines(`${dir}/pids`).map(Number).filter((p) => Number.isInteger(p) && p > 1);
  const victims = new Set<number>([...(extra.pids ?? []), ...inLab]);
  for (const pid of listed) if (cmdline(pid).includes(lab)) victims.add(pid);
  for (const pid of supervisorPids(lab)) victims.add(pid);
  victims.delete(Deno.pid);
  for (const pid of victims) {
    try {
      Deno.kill(pid, "SIGKILL");
      report.pids.push(pid);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && alive(pid)) fail(`Cannot kill process ${pid}`, e);
    }
  }
  const stuck = await waitGone(report.pids, 3000);
  for (const pid of stuck) {
    fail(
      `Process ${pid} of lab "${lab}" is still alive 3 s after SIGKILL`,
      "it is stuck in the kernel (D state?)",
    );
  }

  // 3. Mounts.
  for (const m of new Set([...(extra.mounts ?? []), ...readLines(`${dir}/mounts`)])) {
    if (!safeMount(m)) {
      fail(`Refusing to unmount ${JSON.stringify(m)}`, "not an absolute, normalised path");
      continue;
    }
    if (libc().umount2(cstr(m), MNT_DETACH) === 0) report.mounts.push(m);
    else {
      const code = errno();
      if (code !== 22 /* EINVAL: not a mount point */ && code !== 2 /* ENOENT */) {
        fail(`Cannot unmount ${m}`, new SyscallError("umount2", code, m));
      }
    }
  }

  // 4. Root-namespace links: tagged ones, and journaled untagged veths (killed before tagging).
  let root: NetlinkHandle | null = null;
  try {
    root = new NetlinkHandle("");
    const targets = new Map<string, number>();
    for (const l of taggedRootLinks()) if (l.alias === tag) targets.set(l.name, l.index);
    for (const name of journaledRoot) {
      const l = linkGet(root, name);
      if (l && (l.alias === tag || (l.alias === "" && l.kind === "veth"))) {
        targets.set(l.name, l.index);
      }
    }
    for (const [name, index] of targets) {
      try {
        linkDel(root, index);
        report.rootLinks.push(name);
      } catch (e) {
        if (!(e instanceof Error && "errnoName" in e && e.errnoName === "ENODEV")) {
          fail(`Cannot delete root link "${name}"`, e);
        }
      }
    }
  } catch (e) {
    fail("Cannot inspect root-namespace links", e);
  } finally {
    root?.close();
  }

  // 5. Namespaces and their /etc/netns files. The files go on the runtime's I/O threads while the
  // namespaces are deleted: removing thousands of inodes costs the file system real time (2,000
  // containers: 6,000 inodes, ~1.7 s on this project's VM), which another CPU can spend.
  const etc = [...new Set([...namespaces, ...journaledNs])]
    .filter((ns) => namespaces.has(ns) || !present.has(ns))
    .map((ns) => `/etc/netns/${ns}`);
  const removing = removeDirs(etc, report);
  const unpin = (ns: string, what: string) => {
    try {
      closeHandle(ns);
      deleteNetns(ns);
      report.namespaces.push(ns);
    } catch (e) {
      fail(`Cannot ${what} namespace "${ns}"`, e);
    }
  };
  for (const ns of namespaces) unpin(ns, "delete");
  await removing;

  // 5b. Attached namespaces (lab.attach: a Docker container that joined the lab) are someone
  // else's: never tagged, their processes never killed; they are only unpinned. Their veths went
  // with the host namespaces above (a veth pair dies with either end).
  for (const ns of readLines(`${dir}/attached`)) {
    if (!ns.startsWith(`${lab}-`) || namespaces.has(ns)) continue;
    unpin(ns, "detach");
    removeDir(`/etc/netns/${ns}`, report);
  }

  // 6. State, last, and only when everything else is gone (a retry needs the journal).
  if (report.errors.length === 0) removeDir(dir, report);
  else {
    report.errors.push(
      new NslabError(
        `Kept ${dir} so that "nslab down -p ${lab}" can retry; it removes it once everything else is gone`,
      ),
    );
  }
  report.namespaces.sort();
  return report;
}

/** A lab found on the machine by its tags. */
export interface FoundLab {
  lab: string;
  namespaces: string[];
  rootLinks: string[];
}

/**
 * Every lab with a tagged namespace or root link on this machine (for `nslab ls`, `down --all`
 * and `nslab doctor`). Equivalent to: `ip netns list` + `ip -n NS link show lo` for each, and
 * `ip -d link show` in the root namespace, grouped by the `nslab:<lab>` alias.
 */
export function listLabs(): FoundLab[] {
  const labs = new Map<string, FoundLab>();
  const get = (lab: string) => {
    let l = labs.get(lab);
    if (!l) labs.set(lab, l = { lab, namespaces: [], rootLinks: [] });
    return l;
  };
  for (const n of scanNetns()) {
    const lab = n.alias === null ? null : labOfTag(n.alias);
    if (lab !== null) get(lab).namespaces.push(n.name);
  }
  for (const l of taggedRootLinks()) get(labOfTag(l.alias)!).rootLinks.push(l.name);
  return [...labs.values()].sort((a, b) => a.lab.localeCompare(b.lab));
}
