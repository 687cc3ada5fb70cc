/**
 * Finding what a lab left behind from the lab name alone: namespaces whose `lo` carries the alias
 * `nslab:<lab>`, root-namespace links with that alias, processes living in those namespaces, and
 * the lab's detached supervisors.
 * Reading only (and `listLabs`, every lab found that way); removal is `core/kernel/teardown.ts`.
 *
 * @module
 */

import { listNetns, NETNS_RUN_DIR, withNetnsTransient } from "./netns/netns.ts";
import { NetlinkHandle } from "./netlink/client.ts";
import { linkGet, linkList } from "./netlink/link.ts";

/** The alias nslab puts on every namespace's `lo` and on root-namespace links of lab `lab`. */
export function labTag(lab: string): string {
  return `nslab:${lab}`;
}

/** The lab named by a tag, or null when `alias` is not an nslab tag. */
export function labOfTag(alias: string): string | null {
  return alias.startsWith("nslab:") && alias.length > 6 ? alias.slice(6) : null;
}

/**
 * The alias of `lo` in namespace `name`, or null when the namespace cannot be entered (not
 * pinned yet, being deleted, not a namespace). Opens and closes a socket; holds nothing.
 * Equivalent to: `ip -n NAME -d link show lo` (the `alias` line).
 */
export function loAlias(name: string): string | null {
  let h: NetlinkHandle | null = null;
  try {
    h = withNetnsTransient(name, () => new NetlinkHandle("", { probe: true }));
    return linkGet(h, 1)?.alias ?? "";
  } catch {
    return null;
  } finally {
    h?.close();
  }
}

/** A namespace and the lab tag found on its `lo` ("" when untagged, null when unreadable). */
export interface TaggedNetns {
  name: string;
  alias: string | null;
}

/** Every pinned namespace with its `lo` alias. Equivalent to: `ip netns list` + one `ip -n NS link show lo` each. */
export function scanNetns(): TaggedNetns[] {
  return listNetns().map((name) => ({ name, alias: loAlias(name) }));
}

/** Root-namespace links with an nslab tag, as `{ name, index, alias, kind }`. */
export function taggedRootLinks(): { name: string; index: number; alias: string; kind: string }[] {
  const h = new NetlinkHandle("");
  try {
    return linkList(h)
      .filter((l) => labOfTag(l.alias) !== null)
      .map((l) => ({ name: l.name, index: l.index, alias: l.alias, kind: l.kind }));
  } finally {
    h.close();
  }
}

/** Inode of the namespace pinned at /run/netns/<name>, or null when it is not there. */
export function netnsInode(name: string): number | null {
  try {
    const st = Deno.statSync(`${NETNS_RUN_DIR}/${name}`);
    return st.ino ?? null;
  } catch {
    return null;
  }
}

function netInode(path: string): number | null {
  const m = /^net:\[(\d+)\]$/.exec(Deno.readLinkSync(path));
  return m ? Number(m[1]) : null;
}

/**
 * true when every thread of `pid` is in one of `inodes`. A process that only visits a namespace
 * on one thread — any nslab verb listing namespaces (`scanNetns` enters each one briefly), a
 * probe, another lab's `down` — keeps its other threads at home and is not a resident.
 */
function residentIn(pid: number, inodes: Set<number>): boolean {
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    const ino = netInode(`/proc/${pid}/task/${t.name}/ns/net`);
    if (ino === null || !inodes.has(ino)) return false;
  }
  return true;
}

/**
 * Pids of processes living in one of the namespaces `inodes` — all of their threads are there —
 * excluding this process. Equivalent to: `ip netns pids NAME` for several namespaces at once,
 * minus processes only visiting on one thread (another nslab process mid-`setns`).
 */
export function pidsInNetns(inodes: Set<number>): number[] {
  const out: number[] = [];
  if (inodes.size === 0) return out;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (pid === Deno.pid) continue;
    try {
      const ino = netInode(`/proc/${pid}/ns/net`);
      if (ino !== null && inodes.has(ino) && residentIn(pid, inodes)) out.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

/** The command line of `pid` (empty when it is gone). */
export function cmdline(pid: number): string[] {
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
export function supervisorPids(lab: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const argv = cmdline(Number(e.name));
    const i = argv.findIndex((a) => a.endsWith("cli/supervisor.ts"));
    if (i >= 0 && argv[i + 1] === lab) out.push(Number(e.name));
  }
  return out;
}

/** true when `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
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
