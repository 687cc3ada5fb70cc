/**
 * Plan → kernel, for the network part of a plan: namespaces, sysctls, links, addresses, routes,
 * neighbours and FDB entries. No process is spawned: everything goes through the netlink shim.
 *
 * Order and cost: every namespace is created, tagged and journaled first; then one batch (one
 * `sendto`) per namespace creates its links, with ifindexes chosen by nslab so a batch can
 * refer to links it has not created yet; then one batch per namespace configures them (masters,
 * up, addresses, routes, neighbours, FDB).
 *
 * Every object is journaled (`/run/nslab/<lab>/journal`, JSON lines) before it is created, and
 * every namespace's `lo` (and the root uplink) carries the alias `nslab:<lab>`, so
 * `core/kernel/teardown.ts` finds everything after `kill -9` at any point, journal or not. On failure
 * everything made so far is removed in reverse order and an {@link ApplyError} carries the
 * original error and every cleanup error.
 *
 * @module
 */

import type { LinkPlan, NamespacePlan, NsName, Plan } from "../plan/types.ts";
import { ApplyError, NslabError } from "../errors.ts";
import {
  Batch,
  closeHandle,
  handleFor,
  type NetlinkHandle,
  type Requester,
} from "./netlink/client.ts";
import {
  bridgePortSet,
  linkAdd,
  linkDel,
  linkGet,
  linkList,
  type LinkRef,
  linkSet,
} from "./netlink/link.ts";
import { addrAdd } from "./netlink/addr.ts";
import { routeReplace } from "./netlink/route.ts";
import { fdbAppend, neighReplace } from "./netlink/neigh.ts";
import { SyscallError } from "./sys/ffi.ts";
import {
  adoptNetns,
  closeNetns,
  createNetns,
  deleteNetns,
  netnsFd,
  originalNetnsFd,
  setSysctl,
} from "./netns/netns.ts";
import { labTag } from "./discover.ts";

/** Root of nslab's runtime state. */
export const STATE_ROOT = "/run/nslab";

const LAB_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The state directory of a lab; the name is validated because it reaches the file system. */
export function labStateDir(lab: string): string {
  if (!LAB_NAME.test(lab)) {
    throw new NslabError(
      `Invalid lab name ${
        JSON.stringify(lab)
      }: use 1-32 of a-z, 0-9, '-' and '_', starting with a letter or digit`,
      2,
    );
  }
  return `${STATE_ROOT}/${lab}`;
}

/** One journal line: an object nslab is about to create. */
export type JournalEntry =
  | { t: "netns"; name: string }
  | { t: "link"; ns: NsName; name: string }
  | { t: "addr"; ns: NsName; dev: string; address: string }
  | { t: "route"; ns: NsName; dev: string; dst: string }
  | { t: "neigh"; ns: NsName; dev: string; address: string }
  | { t: "fdb"; ns: NsName; dev: string; mac: string };

/** Reads a journal; a torn last line (killed mid-write) is ignored. Missing journal: []. */
export function readJournal(path: string): JournalEntry[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // torn write
    }
  }
  return out;
}

/** Append-only JSON-lines file, 0600; each call is one write. */
class Journal {
  readonly path: string;
  #file: Deno.FsFile;
  constructor(path: string) {
    this.path = path;
    this.#file = Deno.openSync(path, { create: true, append: true, mode: 0o600 });
    Deno.chmodSync(path, 0o600);
  }
  write(entries: JournalEntry[]): void {
    if (entries.length === 0) return;
    const bytes = new TextEncoder().encode(entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
  }
  close(): void {
    this.#file.close();
  }
}

/** Options of {@link applyNetwork}. */
export interface ApplyOptions {
  /** Where the journal goes (default `/run/nslab/<lab>`). */
  stateDir?: string;
  /** Called with a short description before each phase. */
  onStep?: (step: string) => void;
  /**
   * Called once every namespace exists (and is journaled), before links are made: work that only
   * needs the namespaces (their /etc files) can start then and run beside the rest of the apply.
   */
  onNamespaces?: () => void;
  /**
   * Namespaces that already exist elsewhere (a Docker container's `/proc/<pid>/ns/net`): pinned
   * under their plan name instead of created, then wired like any other.
   */
  adopt?: Record<NsName, string>;
  /**
   * Namespaces that already exist and belong to someone else's apply (the underlay another host's
   * part made, `up --only-host`): used as they are — never created, tagged or rolled back; their
   * existing links can be masters, and new links there get free ifindexes.
   */
  shared?: NsName[];
}

/** What {@link applyNetwork} made. */
export interface Applied {
  lab: string;
  namespaces: string[];
  rootLinks: string[];
  journal: string;
  /** Requests sent to the kernel. */
  requests: number;
  /** `sendto` calls made (requests travel in batches). */
  sends: number;
}

/** ifindexes nslab picks, per namespace, so one batch can refer to links it is creating. */
class Indexes {
  #byNs = new Map<NsName, Map<string, number>>();
  #next = new Map<NsName, number>();
  readonly base: number;
  constructor(base: number) {
    this.base = base;
  }
  /** Reserves an index for a new link `name` in `ns`. */
  allocate(ns: NsName, name: string): number {
    const names = this.#names(ns);
    if (names.has(name)) {
      throw new NslabError(
        `The plan creates link "${name}" twice in namespace "${ns}"; this is a plan bug`,
      );
    }
    const i = this.#next.get(ns) ?? this.base;
    this.#next.set(ns, i + 1);
    names.set(name, i);
    return i;
  }
  /** The index of `name` in `ns`, or undefined when nslab did not create it. */
  find(ns: NsName, name: string): number | undefined {
    return name === "lo" ? 1 : this.#names(ns).get(name);
  }
  /** The index of `name` in `ns`; throws when the plan uses a link before creating it. */
  get(ns: NsName, name: string, usedBy: string): number {
    const i = this.find(ns, name);
    if (i === undefined) {
      throw new NslabError(
        `Cannot use link "${name}" in namespace "${ns}" for ${usedBy}: the plan does not create it ` +
          `before this point; this is a plan-order bug`,
      );
    }
    return i;
  }
  /** Registers links that already exist in `ns`; new ones there get indexes after them. */
  seed(ns: NsName, links: { name: string; index: number }[]): void {
    const names = this.#names(ns);
    for (const l of links) names.set(l.name, l.index);
    this.#next.set(ns, Math.max(this.base, ...links.map((l) => l.index + 1)));
  }
  #names(ns: NsName): Map<string, number> {
    let m = this.#byNs.get(ns);
    if (!m) this.#byNs.set(ns, m = new Map());
    return m;
  }
}

/** Requests that must wait until every namespace's links exist (peer masters). */
type Deferred = Map<NsName, { name: string; master: string }[]>;

function createNamespace(name: string, lab: string, source: string | undefined): void {
  try {
    if (source === undefined) createNetns(name);
    else adoptNetns(name, source);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === 17) {
      throw new NslabError(
        `Cannot create namespace "${name}": it already exists (EEXIST); another lab or a leftover ` +
          `uses it — run "nslab down -p ${lab}" or pick another lab name`,
      );
    }
    throw new NslabError(`Cannot create namespace "${name}": ${(e as Error).message}`, 1, {
      cause: e,
    });
  }
}

function queueLink(
  b: Requester,
  ns: NsName,
  link: LinkPlan,
  ix: Indexes,
  deferred: Deferred,
): void {
  const master = (name: string | undefined) =>
    name === undefined ? undefined : ix.get(ns, name, `the master of "${link.name}"`);
  switch (link.kind) {
    case "bridge":
      linkAdd(b, {
        kind: "bridge",
        name: link.name,
        index: ix.allocate(ns, link.name),
        mtu: link.mtu,
        mac: link.mac,
      });
      return;
    case "veth": {
      const p = link.peer;
      if (p.ns === "") {
        throw new NslabError(
          `Cannot put the peer "${p.name}" of "${link.name}" in the root namespace: only the uplink may live there`,
        );
      }
      const index = ix.allocate(ns, link.name);
      const peerIndex = ix.allocate(p.ns, p.name);
      linkAdd(b, {
        kind: "veth",
        name: link.name,
        index,
        mtu: link.mtu,
        mac: link.mac,
        master: master(link.master),
        peer: { name: p.name, index: peerIndex, netnsFd: netnsFd(p.ns), mac: p.mac, mtu: p.mtu },
      });
      if (p.master) deferred.get(p.ns)!.push({ name: p.name, master: p.master });
      return;
    }
    case "vxlan":
      linkAdd(b, {
        kind: "vxlan",
        name: link.name,
        index: ix.allocate(ns, link.name),
        vni: link.vni,
        local: link.local,
        dev: ix.get(ns, link.dev, `the underlay of "${link.name}"`),
        port: link.port,
        learning: link.learning,
        proxy: link.proxy,
        mtu: link.mtu,
        master: master(link.master),
      });
      return;
    case "macvlan": {
      if (link.targetNs === "") {
        throw new NslabError(`Cannot place macvlan "${link.name}" in the root namespace`);
      }
      const parent = ix.get(ns, link.parent, `the parent of "${link.name}"`);
      linkAdd(b, {
        kind: "macvlan",
        name: link.name,
        index: ix.allocate(link.targetNs, link.name),
        parent,
        mode: link.mode,
        mac: link.mac,
        mtu: link.mtu,
        netnsFd: link.targetNs === ns ? undefined : netnsFd(link.targetNs),
      });
      return;
    }
    case "vlan":
      linkAdd(b, {
        kind: "vlan",
        name: link.name,
        index: ix.allocate(ns, link.name),
        parent: ix.get(ns, link.parent, `the parent of "${link.name}"`),
        id: link.id,
      });
      return;
  }
}

/** Where a link lands: macvlans are created in their target namespace. */
function linkHome(ns: NsName, link: LinkPlan): NsName {
  return link.kind === "macvlan" ? link.targetNs : ns;
}

function journalLinks(ns: NsName, links: LinkPlan[]): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const l of links) {
    out.push({ t: "link", ns: linkHome(ns, l), name: l.name });
    if (l.kind === "veth") out.push({ t: "link", ns: l.peer.ns, name: l.peer.name });
  }
  return out;
}

/** Queues the configuration of one namespace: peer masters, up, addresses, routes, neigh, fdb. */
function queueConfig(
  b: Requester,
  ns: NamespacePlan,
  ix: Indexes,
  deferred: Deferred,
  journal: JournalEntry[],
): void {
  const dev = (name: string, what: string) => ix.get(ns.name, name, what);
  for (const d of deferred.get(ns.name) ?? []) {
    linkSet(b, dev(d.name, "enslaving"), { master: dev(d.master, `the master of "${d.name}"`) });
  }
  for (const l of ns.links) {
    if (l.kind === "veth" && l.hairpin) {
      bridgePortSet(b, dev(l.name, "hairpin mode"), { hairpin: true });
    }
  }
  for (const name of ns.up) {
    const ref: LinkRef = ix.find(ns.name, name) ?? name;
    linkSet(b, ref, { up: true });
  }
  for (const a of ns.addrs) {
    journal.push({ t: "addr", ns: ns.name, dev: a.dev, address: `${a.address}/${a.prefix}` });
    addrAdd(b, {
      index: dev(a.dev, "an address"),
      address: a.address,
      prefix: a.prefix,
      dev: a.dev,
    });
  }
  for (const r of ns.routes) {
    journal.push({ t: "route", ns: ns.name, dev: r.dev, dst: r.dst });
    routeReplace(b, {
      dst: r.dst,
      via: r.via,
      src: r.src,
      index: dev(r.dev, "a route"),
      dev: r.dev,
    });
  }
  for (const n of ns.neighs) {
    journal.push({ t: "neigh", ns: ns.name, dev: n.dev, address: n.address });
    neighReplace(b, {
      index: dev(n.dev, "a neighbour"),
      address: n.address,
      mac: n.mac,
      dev: n.dev,
    });
  }
  for (const f of ns.fdb) {
    journal.push({ t: "fdb", ns: ns.name, dev: f.dev, mac: f.mac });
    fdbAppend(b, { index: dev(f.dev, "an fdb entry"), mac: f.mac, dst: f.dst, dev: f.dev });
  }
}

/** The first free ifindex in a fresh namespace (after `lo` and any fallback tunnel devices). */
function indexBase(h: NetlinkHandle): number {
  return Math.max(1, ...linkList(h).map((l) => l.index)) + 1;
}

/** Counts requests and sends over every batch of one apply. */
class Counter {
  requests = 0;
  sends = 0;
  flush(b: Batch): void {
    this.requests += b.size;
    const before = b.handle.sends;
    b.flush();
    this.sends += b.handle.sends - before;
  }
}

/**
 * Creates the network part of `plan` (namespaces, sysctls, links, addresses, routes, neighbours,
 * FDB) and returns what it made. Firewall and processes are not applied here.
 *
 * @example
 * ```ts
 * const applied = await applyNetwork(plan, { onStep: (s) => console.error(s) });
 * // … later: await teardown(plan.lab);
 * ```
 */
export async function applyNetwork(plan: Plan, opts: ApplyOptions = {}): Promise<Applied> {
  await Promise.resolve();
  const lab = plan.lab;
  const dir = opts.stateDir ?? labStateDir(lab);
  const step = opts.onStep ?? (() => {});
  Deno.mkdirSync(STATE_ROOT, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(dir, 0o700);
  const journal = new Journal(`${dir}/journal`);
  const tag = labTag(lab);
  const ctx = { lab };
  const made = { namespaces: [] as string[], rootLinks: [] as string[] };
  const count = new Counter();
  const rootUsed = plan.root.links.length + plan.root.addrs.length + plan.root.routes.length > 0;
  let ix = new Indexes(2);
  try {
    step(`Namespaces (${plan.namespaces.length})`);
    const shared = new Set(opts.shared ?? []);
    for (const ns of plan.namespaces) {
      if (shared.has(ns.name)) continue;
      journal.write([{ t: "netns", name: ns.name }]);
      createNamespace(ns.name, lab, opts.adopt?.[ns.name]);
      made.namespaces.push(ns.name);
      const tagging = new Batch(handleFor(ns.name), ctx);
      linkSet(tagging, 1, { alias: tag });
      count.flush(tagging);
      for (const [key, value] of Object.entries(ns.sysctls)) setSysctl(ns.name, key, value);
    }
    opts.onNamespaces?.();
    if (plan.namespaces.length === 0) return finish();

    step("Links");
    ix = new Indexes(indexBase(handleFor(plan.namespaces[0].name)));
    for (const name of shared) ix.seed(name, linkList(handleFor(name)));
    const deferred: Deferred = new Map(plan.namespaces.map((n) => [n.name, []]));
    for (const ns of plan.namespaces) {
      const b = new Batch(handleFor(ns.name), ctx);
      for (const link of ns.links) queueLink(b, ns.name, link, ix, deferred);
      journal.write(journalLinks(ns.name, ns.links));
      count.flush(b);
    }
    for (const link of plan.root.links) createUplink(link);

    step("Addresses, routes, neighbours");
    for (const ns of plan.namespaces) {
      const b = new Batch(handleFor(ns.name), ctx);
      const entries: JournalEntry[] = [];
      queueConfig(b, ns, ix, deferred, entries);
      journal.write(entries);
      count.flush(b);
    }
    if (rootUsed) configureRoot();
    return finish();
  } catch (e) {
    const cleanup = rollback();
    journal.close();
    if (cleanup.length === 0) {
      try {
        Deno.removeSync(journal.path);
      } catch { /* already gone */ }
    }
    const what = e instanceof Error ? e.message : String(e);
    throw new ApplyError(`Cannot apply the network of lab "${lab}": ${what}`, e, cleanup);
  }

  /** The uplink: created from the underlay side (so its index and master are set at once). */
  function createUplink(link: LinkPlan): void {
    if (link.kind !== "veth" || link.peer.ns === "") {
      throw new NslabError(
        `Cannot create root-namespace link "${link.name}" (${link.kind}): only a veth into a lab namespace may live there`,
      );
    }
    const p = link.peer;
    journal.write([{ t: "link", ns: "", name: link.name }, { t: "link", ns: p.ns, name: p.name }]);
    const b = new Batch(handleFor(p.ns), ctx);
    linkAdd(b, {
      kind: "veth",
      name: p.name,
      index: ix.allocate(p.ns, p.name),
      mtu: p.mtu,
      mac: p.mac,
      master: p.master === undefined
        ? undefined
        : ix.get(p.ns, p.master, `the master of "${p.name}"`),
      peer: { name: link.name, netnsFd: originalNetnsFd(), mac: link.mac, mtu: link.mtu },
    });
    count.flush(b);
    made.rootLinks.push(link.name);
    const root = new Batch(handleFor(""), ctx);
    linkSet(root, link.name, { alias: tag });
    count.flush(root);
  }

  /** Root-namespace configuration: up, addresses and routes of the uplink. */
  function configureRoot(): void {
    const h = handleFor("");
    const index = (name: string) => {
      const l = linkGet(h, name);
      if (!l) {
        throw new NslabError(`Cannot configure "${name}" in the root namespace: it does not exist`);
      }
      return l.index;
    };
    const b = new Batch(h, ctx);
    const entries: JournalEntry[] = [];
    for (const name of plan.root.up) linkSet(b, name, { up: true });
    for (const a of plan.root.addrs) {
      entries.push({ t: "addr", ns: "", dev: a.dev, address: `${a.address}/${a.prefix}` });
      addrAdd(b, { index: index(a.dev), address: a.address, prefix: a.prefix, dev: a.dev });
    }
    for (const r of plan.root.routes) {
      entries.push({ t: "route", ns: "", dev: r.dev, dst: r.dst });
      routeReplace(b, { dst: r.dst, via: r.via, src: r.src, index: index(r.dev), dev: r.dev });
    }
    journal.write(entries);
    count.flush(b);
  }

  function finish(): Applied {
    journal.close();
    for (const ns of made.namespaces) {
      closeHandle(ns);
      closeNetns(ns);
    }
    return {
      lab,
      namespaces: made.namespaces,
      rootLinks: made.rootLinks,
      journal: journal.path,
      requests: count.requests,
      sends: count.sends,
    };
  }

  /** Removes what this apply made, newest first; returns every error. */
  function rollback(): Error[] {
    const errors: Error[] = [];
    for (const name of made.rootLinks.reverse()) {
      try {
        const h = handleFor("");
        const l = linkGet(h, name);
        if (l && l.alias === tag) linkDel(h, l.index);
      } catch (e) {
        errors.push(e as Error);
      }
    }
    for (const ns of made.namespaces.reverse()) {
      try {
        closeHandle(ns);
        deleteNetns(ns);
      } catch (e) {
        errors.push(
          new Error(`Cannot remove namespace "${ns}" during rollback: ${(e as Error).message}`),
        );
      }
    }
    return errors;
  }
}
