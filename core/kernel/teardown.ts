/**
 * Removing a lab: everything in its journal AND everything found from the lab name alone
 * (namespaces whose `lo` alias is exactly `nslab:<lab>`, root links with that alias, processes
 * living in those namespaces, the lab's pids/mounts files, `/etc/netns/<ns>/`, `/run/nslab/<lab>/`);
 * namespaces the lab attached (`lab.attach`, listed in `/run/nslab/<lab>/attached`) are only
 * unpinned: their processes belong to someone else.
 *
 * Given the lab's plan (`down`), the namespaces and root links it names that the journal and tag
 * show are the lab's go through the applier (`diffPlans(plan, emptyPlan)`); discovery removes the
 * rest, and everything when there is no plan (a crashed or half-made lab, a rollback).
 *
 * Works after `kill -9` at any point and when the journal is gone; never stops at the first
 * error; idempotent. The alias, not the name prefix, decides ownership: lab `shop` never touches
 * lab `shop-2`'s `shop-2-web`.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import type { Plan } from "../plan/types.ts";
import { labStateDir, readJournal } from "./journal.ts";
import { pollUntil } from "../poll.ts";
import { closeHandle, NetlinkHandle } from "./netlink/client.ts";
import { linkDel, linkGet } from "./netlink/link.ts";
import { cstr, errno, libc, MNT_DETACH, SyscallError } from "./sys/ffi.ts";
import { deleteNetns } from "./netns/netns.ts";
import {
  alive,
  cmdline,
  labTag,
  netnsInode,
  pidsInNetns,
  scanNetns,
  supervisorPids,
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
  /** The lab's plan, when its state is readable: its objects are removed through the applier. */
  plan?: Plan;
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

/** One teardown under way: the lab, its state directory and tag, and the report being filled. */
interface Run {
  lab: string;
  dir: string;
  tag: string;
  report: TeardownReport;
  /** Records a failure and carries on: teardown never stops at the first error. */
  fail: (what: string, e: unknown) => void;
}

/** The lab's namespaces, and what the journal says it made (some of it may be gone already). */
interface Owned {
  /** Namespaces to delete: tagged with the lab, or journaled and untagged. */
  namespaces: Set<string>;
  /** Namespaces the journal lists. */
  journaledNs: Set<string>;
  /** Root-namespace links the journal lists. */
  journaledRoot: Set<string>;
  /** Namespaces on the machine now, with their `lo` alias. */
  present: Map<string, string | null>;
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
  const report: TeardownReport = {
    lab,
    namespaces: [],
    rootLinks: [],
    pids: [],
    mounts: [],
    paths: [],
    errors: [],
  };
  const run: Run = {
    lab,
    dir: extra.stateDir ?? labStateDir(lab),
    tag: labTag(lab),
    report,
    fail: (what, e) =>
      report.errors.push(new NslabError(`${what}: ${e instanceof Error ? e.message : String(e)}`)),
  };
  const owned = findOwned(run);
  await removeContainers(run, extra);
  await killProcesses(run, owned.namespaces, extra.pids ?? []);
  detachMounts(run, extra.mounts ?? []);
  const removing = removeNetnsFiles(run, owned);
  const byPlan = extra.plan ? await removeByPlan(run, extra.plan, owned) : new Set<string>();
  deleteRootLinks(run, owned.journaledRoot);
  for (const ns of owned.namespaces) if (!byPlan.has(ns)) unpin(run, ns, "delete");
  await removing;
  detachAttached(run, owned.namespaces);
  removeState(run);
  report.namespaces.sort();
  return report;
}

/** What belongs to the lab: journal entries that still look like ours, and tagged namespaces. */
function findOwned(run: Run): Owned {
  const journal = readJournal(`${run.dir}/journal`);
  const journaledNs = new Set(journal.flatMap((e) => (e.t === "netns" ? [e.name] : [])));
  const journaledRoot = new Set(
    journal.flatMap((e) => (e.t === "link" && e.ns === "" ? [e.name] : [])),
  );
  let scanned: { name: string; alias: string | null }[] = [];
  try {
    scanned = scanNetns();
  } catch (e) {
    run.fail("Cannot list namespaces", e);
  }
  const present = new Map(scanned.map((n) => [n.name, n.alias]));
  const namespaces = new Set<string>();
  for (const n of scanned) if (n.alias === run.tag) namespaces.add(n.name);
  for (const name of journaledNs) {
    if (!present.has(name)) continue;
    const alias = present.get(name);
    // Untagged or unreadable: killed between creation and tagging. Another lab's tag: not ours.
    if (alias === null || alias === "" || alias === run.tag) namespaces.add(name);
  }
  return { namespaces, journaledNs, journaledRoot, present };
}

/**
 * Docker containers (runtime: docker), by their nslab.lab label, before their processes are
 * killed; only when the lab recorded any (no engine call for other labs).
 */
async function removeContainers(run: Run, extra: TeardownExtra): Promise<void> {
  const dockerNames = readLines(`${run.dir}/docker`);
  if (dockerNames.length === 0) return;
  if (extra.removeContainers) {
    const removal = await extra.removeContainers(run.lab, dockerNames);
    run.report.dockerContainers = removal.removed;
    run.report.errors.push(...removal.errors);
  } else {
    run.fail(
      `Cannot remove the Docker containers of lab "${run.lab}" (${dockerNames.join(", ")})`,
      new Error('use "nslab down", which removes them'),
    );
  }
}

/** Processes: listed ones (checked, pids get reused) and any living in the lab's namespaces. */
async function killProcesses(run: Run, namespaces: Set<string>, extra: number[]): Promise<void> {
  const { lab, report } = run;
  const inodes = new Set<number>();
  for (const ns of namespaces) {
    const ino = netnsInode(ns);
    if (ino !== null) inodes.add(ino);
  }
  const inLab = new Set(pidsInNetns(inodes));
  const listed = readLines(`${run.dir}/pids`).map(Number).filter((p) =>
    Number.isInteger(p) && p > 1
  );
  const victims = new Set<number>([...extra, ...inLab]);
  for (const pid of listed) if (cmdline(pid).includes(lab)) victims.add(pid);
  for (const pid of supervisorPids(lab)) victims.add(pid);
  victims.delete(Deno.pid);
  for (const pid of victims) {
    try {
      Deno.kill(pid, "SIGKILL");
      report.pids.push(pid);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && alive(pid)) {
        run.fail(`Cannot kill process ${pid}`, e);
      }
    }
  }
  const stuck = await waitGone(report.pids, 3000);
  for (const pid of stuck) {
    run.fail(
      `Process ${pid} of lab "${lab}" is still alive 3 s after SIGKILL`,
      "it is stuck in the kernel (D state?)",
    );
  }
}

/** The lab's mounts (given, and listed in its state), detached. */
function detachMounts(run: Run, extra: string[]): void {
  for (const m of new Set([...extra, ...readLines(`${run.dir}/mounts`)])) {
    if (!safeMount(m)) {
      run.fail(`Refusing to unmount ${JSON.stringify(m)}`, "not an absolute, normalised path");
      continue;
    }
    if (libc().umount2(cstr(m), MNT_DETACH) === 0) run.report.mounts.push(m);
    else {
      const code = errno();
      if (code !== 22 /* EINVAL: not a mount point */ && code !== 2 /* ENOENT */) {
        run.fail(`Cannot unmount ${m}`, new SyscallError("umount2", code, m));
      }
    }
  }
}

/** Root-namespace links: tagged ones, and journaled untagged veths (killed before tagging). */
function deleteRootLinks(run: Run, journaledRoot: Set<string>): void {
  let root: NetlinkHandle | null = null;
  try {
    root = new NetlinkHandle("");
    const targets = new Map<string, number>();
    for (const l of taggedRootLinks()) if (l.alias === run.tag) targets.set(l.name, l.index);
    for (const name of journaledRoot) {
      const l = linkGet(root, name);
      if (l && (l.alias === run.tag || (l.alias === "" && l.kind === "veth"))) {
        targets.set(l.name, l.index);
      }
    }
    for (const [name, index] of targets) {
      try {
        linkDel(root, index);
        run.report.rootLinks.push(name);
      } catch (e) {
        if (!(e instanceof Error && "errnoName" in e && e.errnoName === "ENODEV")) {
          run.fail(`Cannot delete root link "${name}"`, e);
        }
      }
    }
  } catch (e) {
    run.fail("Cannot inspect root-namespace links", e);
  } finally {
    root?.close();
  }
}

/** Closes nslab's handle into a namespace and unpins it. */
function unpin(run: Run, ns: string, what: string): void {
  try {
    closeHandle(ns);
    deleteNetns(ns);
    run.report.namespaces.push(ns);
  } catch (e) {
    run.fail(`Cannot ${what} namespace "${ns}"`, e);
  }
}

/**
 * The namespaces' /etc/netns files, started on the runtime's I/O threads while the namespaces are
 * deleted: removing thousands of inodes costs the file system real time (2,000 containers: 6,000
 * inodes, ~1.7 s on this project's VM), which another CPU can spend.
 */
function removeNetnsFiles(run: Run, owned: Owned): Promise<void> {
  const { namespaces, journaledNs, present } = owned;
  const etc = [...new Set([...namespaces, ...journaledNs])]
    .filter((ns) => namespaces.has(ns) || !present.has(ns))
    .map((ns) => `/etc/netns/${ns}`);
  return removeDirs(etc, run.report);
}

/**
 * Deletes the plan's root links and namespaces through the applier (the difference from the plan
 * to an empty one), only the namespaces found to be the lab's; returns the namespaces deleted.
 * Its errors are not reported: what it could not delete, discovery tries again and reports.
 */
async function removeByPlan(run: Run, plan: Plan, owned: Owned): Promise<Set<string>> {
  for (const ns of owned.namespaces) closeHandle(ns); // nslab's own handle would keep it alive
  try {
    // Loaded here, not at start-up: `nslab down` of a lab with no state never needs the applier.
    const [{ diffPlans, emptyPlan }, { applyChange }] = await Promise.all([
      import("../plan/diff.ts"),
      import("./apply.ts"),
    ]);
    const report = await applyChange(diffPlans(plan, emptyPlan(run.lab)), {
      tolerant: true,
      onlyNamespaces: owned.namespaces,
    });
    run.report.rootLinks.push(...report.removed.rootLinks);
    run.report.namespaces.push(...report.removed.namespaces);
    return new Set(report.removed.namespaces);
  } catch {
    return new Set();
  }
}

/**
 * Attached namespaces (lab.attach: a Docker container that joined the lab) are someone else's:
 * never tagged, their processes never killed; they are only unpinned. Their veths went with the
 * host namespaces (a veth pair dies with either end).
 */
function detachAttached(run: Run, namespaces: Set<string>): void {
  for (const ns of readLines(`${run.dir}/attached`)) {
    if (!ns.startsWith(`${run.lab}-`) || namespaces.has(ns)) continue;
    unpin(run, ns, "detach");
    removeDir(`/etc/netns/${ns}`, run.report);
  }
}

/** State, last, and only when everything else is gone (a retry needs the journal). */
function removeState(run: Run): void {
  if (run.report.errors.length === 0) removeDir(run.dir, run.report);
  else {
    run.report.errors.push(
      new NslabError(
        `Kept ${run.dir} so that "nslab down -p ${run.lab}" can retry; it removes it once everything else is gone`,
      ),
    );
  }
}
