/**
 * The difference between two plans of the same lab: what to remove and what to add, per
 * namespace, so a running lab moves from one plan to the other without being rebuilt. Pure.
 * `up` is the difference from {@link emptyPlan} (every namespace, root object, xfrm state and
 * firewall is new); network operations are the difference between two plans of a running lab.
 *
 * Rules: a link whose description changed is removed and created again; removing a link takes its
 * addresses, routes, neighbours and FDB entries (and a veth's peer) with it, so those are not
 * removed one by one; anything on a link that is created again is added again. Namespaces may be
 * added (they are then created) but never removed, and the root namespace's objects may only be
 * added to an empty root: network operations never add or remove those. The one exception is the
 * difference to {@link emptyPlan} (`down`): every namespace (with all it holds) and root link is
 * removed ({@link RemovalDelta}); `down` applies that where the journal and the lab's tag show
 * the objects are the lab's, and removes the rest by journal and tag (`core/kernel/teardown.ts`).
 *
 * @module
 */

import { type ImpairPlan, sameImpairments, sharedImpairments } from "./impair.ts";
import type {
  AddrPlan,
  FdbPlan,
  FirewallPlan,
  LinkPlan,
  NamespacePlan,
  NeighPlan,
  NsName,
  Plan,
  RoutePlan,
  XfrmPlan,
} from "./types.ts";

/** What changes in one namespace. */
export interface NamespaceDelta {
  name: NsName;
  /** true when the namespace is new: it is created (and tagged, journaled) first. */
  create: boolean;
  /** Links listed in this namespace (a macvlan is removed from its `targetNs`), newest first. */
  removeLinks: LinkPlan[];
  /** Addresses, routes, neighbours and FDB entries to remove from links that stay. */
  removeAddrs: AddrPlan[];
  removeRoutes: RoutePlan[];
  removeNeighs: NeighPlan[];
  removeFdb: FdbPlan[];
  /** sysctls whose value is new or changed. */
  sysctls: Record<string, string>;
  /** Links to create, in plan order. */
  addLinks: LinkPlan[];
  /** Links to bring up. */
  up: string[];
  addAddrs: AddrPlan[];
  /** Routes to add or replace (one route per destination). */
  routes: RoutePlan[];
  neighs: NeighPlan[];
  fdb: FdbPlan[];
}

/** Objects added to the machine's root namespace (only ever to an empty root: `up`). */
export interface RootDelta {
  links: LinkPlan[];
  addrs: AddrPlan[];
  routes: RoutePlan[];
  up: string[];
}

/**
 * What `down` deletes (the difference from a plan to {@link emptyPlan}): namespaces, each with
 * every link, address, route, firewall rule and neighbour in it, and the root-namespace veths
 * (the uplink), each newest first. Empty in every other difference.
 */
export interface RemovalDelta {
  namespaces: NsName[];
  rootLinks: string[];
}

/** A host's firewall to load: `reload` when it replaces a loaded one (see `reloadRuleset`). */
export interface FirewallDelta extends FirewallPlan {
  reload: boolean;
}

/** Everything that differs between two plans. */
export interface PlanDelta {
  lab: string;
  /** Namespaces with kernel changes (or new ones), in plan order. */
  namespaces: NamespaceDelta[];
  root: RootDelta;
  /** IPsec states and policies that are new. */
  xfrm: XfrmPlan[];
  /** Hosts whose firewall text changed or is new (the new text). */
  firewall: FirewallDelta[];
  /** Processes whose `/etc/netns` files changed (the new files). */
  files: { netns: NsName; container: string; files: Record<string, string> }[];
  /**
   * Impairments, when they change: `kept` is what stays while links are edited (the
   * "impairments lifted" section goes `from` → `kept`, the "impairments" section `kept` → `to`).
   */
  impair: { from: ImpairPlan | undefined; kept: ImpairPlan; to: ImpairPlan | undefined } | null;
  /** What goes entirely: only in the difference to an empty plan (`down`). */
  remove: RemovalDelta;
  /** true when nothing in the kernel, the firewall or the files changes. */
  empty: boolean;
}

/** The plan of a lab with nothing in it: `up` applies `diffPlans(emptyPlan(lab), plan)`. */
export function emptyPlan(lab: string): Plan {
  return {
    lab,
    root: { links: [], addrs: [], routes: [], up: [] },
    namespaces: [],
    firewall: [],
    xfrm: [],
    processes: [],
  };
}

/** A namespace with nothing in it yet (what a namespace new in a plan is diffed from). */
export function emptyNamespace(n: NamespacePlan): NamespacePlan {
  return { ...n, sysctls: {}, links: [], up: [], addrs: [], routes: [], neighs: [], fdb: [] };
}

const key = (x: unknown) => JSON.stringify(x);

/** Where a link lives once made: a macvlan is created into its target namespace. */
export function linkHome(ns: NsName, link: LinkPlan): NsName {
  return link.kind === "macvlan" ? link.targetNs : ns;
}

/** `ns\0name` of every link that disappears when `link` (listed in `ns`) is deleted. */
function goneWith(ns: NsName, link: LinkPlan): string[] {
  const out = [`${linkHome(ns, link)}\0${link.name}`];
  if (link.kind === "veth") out.push(`${link.peer.ns}\0${link.peer.name}`);
  return out;
}

function emptyDelta(name: NsName, create: boolean): NamespaceDelta {
  return {
    name,
    create,
    removeLinks: [],
    removeAddrs: [],
    removeRoutes: [],
    removeNeighs: [],
    removeFdb: [],
    sysctls: {},
    addLinks: [],
    up: [],
    addAddrs: [],
    routes: [],
    neighs: [],
    fdb: [],
  };
}

function changed(d: NamespaceDelta): boolean {
  return d.create || d.removeLinks.length + d.removeAddrs.length + d.removeRoutes.length +
          d.removeNeighs.length + d.removeFdb.length + Object.keys(d.sysctls).length +
          d.addLinks.length + d.up.length + d.addAddrs.length + d.routes.length +
          d.neighs.length + d.fdb.length > 0;
}

/**
 * Computes what turns a lab built from `from` into one built from `to`.
 *
 * @throws {Error} when the plans are of different labs or differ in namespaces or root objects
 *   (a network operation never changes those; this would be an nslab bug).
 * @example
 * ```ts
 * const delta = diffPlans(buildPlan(before), buildPlan(after));
 * console.log(delta.namespaces.map((n) => n.name));
 * ```
 */
export function diffPlans(from: Plan, to: Plan): PlanDelta {
  if (from.lab !== to.lab) {
    throw new Error(`Cannot diff plans of different labs ("${from.lab}" and "${to.lab}")`);
  }
  if (key(to) === key(emptyPlan(to.lab)) && key(from) !== key(to)) return removalDelta(from);
  const rootEmpty = key(from.root) === key(emptyPlan(from.lab).root);
  assertInPlace(from, to, rootEmpty);
  const before = new Map(from.namespaces.map((n) => [n.name, n]));
  for (const n of to.namespaces) if (!before.has(n.name)) before.set(n.name, emptyNamespace(n));

  // Links: removed (or changed) ones, and everything that goes with them.
  const removed = new Map<NsName, LinkPlan[]>();
  const added = new Map<NsName, LinkPlan[]>();
  const gone = new Set<string>();
  for (const next of to.namespaces) {
    const prev = before.get(next.name)!;
    if (prev.links.length === 0) { // a new namespace (up): nothing to compare
      removed.set(next.name, []);
      added.set(next.name, next.links);
      continue;
    }
    const nextKeys = new Set(next.links.map(key));
    const prevKeys = new Set(prev.links.map(key));
    const out = prev.links.filter((l) => !nextKeys.has(key(l))).reverse();
    removed.set(next.name, out);
    for (const l of out) for (const g of goneWith(next.name, l)) gone.add(g);
    added.set(next.name, next.links.filter((l) => !prevKeys.has(key(l))));
  }
  const created = new Set<string>();
  for (const [ns, links] of added) {
    for (const l of links) for (const g of goneWith(ns, l)) created.add(g);
  }

  const namespaces: NamespaceDelta[] = [];
  for (const next of to.namespaces) {
    const prev = before.get(next.name)!;
    const d = emptyDelta(next.name, !from.namespaces.some((n) => n.name === next.name));
    d.removeLinks = removed.get(next.name)!;
    d.addLinks = added.get(next.name)!;
    const stays = (dev: string) => !gone.has(`${next.name}\0${dev}`);
    const fresh = (dev: string) => created.has(`${next.name}\0${dev}`);
    diffItems(prev.addrs, next.addrs, stays, fresh, d.removeAddrs, d.addAddrs);
    diffItems(prev.neighs, next.neighs, stays, fresh, d.removeNeighs, d.neighs);
    diffItems(prev.fdb, next.fdb, stays, fresh, d.removeFdb, d.fdb);
    diffRoutes(prev, next, stays, fresh, d);
    const wasUp = new Set(prev.up);
    d.up = next.up.filter((dev) => !wasUp.has(dev) || fresh(dev));
    for (const [k, v] of Object.entries(next.sysctls)) {
      if (prev.sysctls[k] !== v) d.sysctls[k] = v;
    }
    if (changed(d)) namespaces.push(d);
  }

  const root = rootEmpty ? to.root : emptyPlan(to.lab).root;
  const { xfrm, firewall, files } = diffOutsideNamespaces(from, to);
  const rootCount = root.links.length + root.addrs.length + root.routes.length + root.up.length;
  const impair = sameImpairments(from.impair, to.impair)
    ? null
    : { from: from.impair, kept: sharedImpairments(from.impair, to.impair), to: to.impair };
  return {
    lab: to.lab,
    namespaces,
    root,
    xfrm,
    firewall,
    files,
    impair,
    remove: { namespaces: [], rootLinks: [] },
    empty: namespaces.length + rootCount + xfrm.length + firewall.length + files.length === 0 &&
      impair === null,
  };
}

/** A running lab changes in place: same namespaces (or more), same root objects (or a new root). */
function assertInPlace(from: Plan, to: Plan, rootEmpty: boolean): void {
  const kept = new Set(to.namespaces.map((n) => n.name));
  if (
    from.namespaces.some((n) => !kept.has(n.name)) ||
    (!rootEmpty && key(from.root) !== key(to.root))
  ) {
    throw new Error(
      `Cannot change lab "${from.lab}" in place: the new plan has other namespaces or root ` +
        "objects than the running one; this is an nslab bug",
    );
  }
}

/**
 * The difference from `from` to an empty plan: every namespace and root veth deleted, newest
 * first. Deleting a namespace takes everything in it (links and what is on them, its firewall,
 * its xfrm states, a veth's peer), so nothing is removed one by one; impairments are the
 * supervisor's and end with it; a machine NIC's macvlans are moved back by the lab layer.
 */
function removalDelta(from: Plan): PlanDelta {
  const lab = from.lab;
  return {
    lab,
    namespaces: [],
    root: emptyPlan(lab).root,
    xfrm: [],
    firewall: [],
    files: [],
    impair: null,
    remove: {
      namespaces: from.namespaces.map((n) => n.name).reverse(),
      rootLinks: from.root.links.filter((l) => l.kind === "veth").map((l) => l.name).reverse(),
    },
    empty: false,
  };
}

/** New xfrm entries, new or changed firewalls (a changed one is reloaded), changed files. */
function diffOutsideNamespaces(
  from: Plan,
  to: Plan,
): Pick<PlanDelta, "xfrm" | "firewall" | "files"> {
  const which = (f: FirewallPlan) => `${f.netns}\0${f.family ?? "ipv4"}`;
  const oldRules = new Map(from.firewall.map((f) => [which(f), f.rules]));
  const firewall = to.firewall
    .filter((f) => oldRules.get(which(f)) !== f.rules)
    .map((f) => ({ ...f, reload: oldRules.has(which(f)) }));
  const oldXfrm = new Set(from.xfrm.map(key));
  const xfrm = to.xfrm.filter((x) => !oldXfrm.has(key(x)));
  const oldFiles = new Map(from.processes.map((p) => [p.container, key(p.files)]));
  const files = to.processes
    .filter((p) =>
      Object.keys(p.files).length > 0 &&
      (!oldFiles.has(p.container) || oldFiles.get(p.container) !== key(p.files))
    )
    .map((p) => ({ netns: p.netns, container: p.container, files: p.files }));
  return { xfrm, firewall, files };
}

/** Items keyed by their whole description, each on a device `dev`. */
function diffItems<T extends { dev: string }>(
  prev: T[],
  next: T[],
  stays: (dev: string) => boolean,
  fresh: (dev: string) => boolean,
  remove: T[],
  add: T[],
): void {
  if (prev.length === 0) { // nothing to compare (up): every item is new
    add.push(...next);
    return;
  }
  const nextKeys = new Set(next.map(key));
  const prevKeys = new Set(prev.map(key));
  for (const x of prev) if (!nextKeys.has(key(x)) && stays(x.dev)) remove.push(x);
  for (const x of next) if (!prevKeys.has(key(x)) || fresh(x.dev)) add.push(x);
}

/** Routes are keyed by destination: a changed route is replaced, a vanished one deleted. */
function diffRoutes(
  prev: NamespacePlan,
  next: NamespacePlan,
  stays: (dev: string) => boolean,
  fresh: (dev: string) => boolean,
  d: NamespaceDelta,
): void {
  if (prev.routes.length === 0) { // nothing to compare (up): every route is new
    d.routes.push(...next.routes);
    return;
  }
  const nextByDst = new Map(next.routes.map((r) => [r.dst, r]));
  const prevByDst = new Map(prev.routes.map((r) => [r.dst, r]));
  for (const r of prev.routes) {
    if (!nextByDst.has(r.dst) && stays(r.dev)) d.removeRoutes.push(r);
  }
  for (const r of next.routes) {
    const old = prevByDst.get(r.dst);
    if (!old || key(old) !== key(r) || fresh(r.dev)) d.routes.push(r);
  }
}
