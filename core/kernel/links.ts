/**
 * Links for the applier: the ifindexes nslab picks (so one batch can refer to links it is still
 * creating) and the translation of a {@link LinkPlan} into the `linkAdd` request that makes it.
 *
 * @module
 */

import type { LinkPlan, NsName } from "../plan/types.ts";
import { linkHome } from "../plan/diff.ts";
import { NslabError } from "../errors.ts";
import type { Requester } from "./netlink/client.ts";
import { linkAdd } from "./netlink/link.ts";
import type { JournalEntry } from "./journal.ts";

/**
 * ifindexes per namespace: those nslab picks for new links, and those of links that exist
 * already (read once per namespace, when first needed, through `existing`).
 */
export class Indexes {
  #byNs = new Map<NsName, Map<string, number>>();
  #next = new Map<NsName, number>();
  #created = new Set<NsName>();
  #existing: (ns: NsName) => { name: string; index: number }[];
  #base = 2;

  constructor(existing: (ns: NsName) => { name: string; index: number }[]) {
    this.#existing = existing;
  }

  /**
   * Marks namespaces this apply created: they hold nothing but what it makes, so their new links
   * are numbered from `base` (after `lo` and any fallback tunnel devices) without reading them.
   */
  created(names: NsName[], base: number): void {
    for (const n of names) this.#created.add(n);
    this.#base = base;
  }

  /** Reserves an index for a new link `name` in `ns`. */
  allocate(ns: NsName, name: string): number {
    const names = this.#names(ns);
    if (names.has(name)) {
      throw new NslabError(
        `The plan creates link "${name}" twice in namespace "${ns}"; this is a plan bug`,
      );
    }
    const i = this.#next.get(ns)!;
    this.#next.set(ns, i + 1);
    names.set(name, i);
    return i;
  }

  /** The index of `name` in `ns`, or undefined when it neither exists nor is being created. */
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

  /** Forgets a link that is being removed (a link of that name may be created again). */
  forget(ns: NsName, name: string): void {
    this.#names(ns).delete(name);
  }

  #names(ns: NsName): Map<string, number> {
    let m = this.#byNs.get(ns);
    if (m) return m;
    this.#byNs.set(ns, m = new Map());
    if (this.#created.has(ns)) {
      this.#next.set(ns, this.#base);
      return m;
    }
    const links = this.#existing(ns);
    for (const l of links) m.set(l.name, l.index);
    this.#next.set(ns, Math.max(this.#base, ...links.map((l) => l.index + 1)));
    return m;
  }
}

/** Journal lines of new links listed in `ns` (a veth's peer too). */
export function journalLinks(ns: NsName, links: LinkPlan[]): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const l of links) {
    out.push({ t: "link", ns: linkHome(ns, l), name: l.name });
    if (l.kind === "veth") out.push({ t: "link", ns: l.peer.ns, name: l.peer.name });
  }
  return out;
}

/** What creating a link needs besides the plan: indexes and namespace descriptors. */
export interface LinkContext {
  ix: Indexes;
  netnsFd: (ns: NsName) => number;
}

/**
 * Queues the `linkAdd` of one planned link listed in `ns`. A veth's peer is created directly in
 * its namespace; its master there is set later (`masters`), once every namespace's links exist.
 */
export function queueLink(b: Requester, ns: NsName, link: LinkPlan, c: LinkContext): void {
  const { ix } = c;
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
        peer: { name: p.name, index: peerIndex, netnsFd: c.netnsFd(p.ns), mac: p.mac, mtu: p.mtu },
      });
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
        netnsFd: link.targetNs === ns ? undefined : c.netnsFd(link.targetNs),
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

/**
 * A macvlan of one of the machine's own interfaces, made from the root namespace straight into a
 * lab namespace (a host's `eth0` on a real NIC, `up --underlay-dev`): nothing of it stays in the
 * root namespace, and it goes with its namespace. Refused by name when the machine has no such
 * interface.
 */
export function queueMachineLink(
  b: Requester,
  link: Extract<LinkPlan, { kind: "macvlan" }>,
  c: LinkContext,
): void {
  if (c.ix.find("", link.parent) === undefined) {
    throw new NslabError(
      `Cannot bind "${link.name}" of "${link.targetNs}" to "${link.parent}": this machine has ` +
        "no such interface",
    );
  }
  queueLink(b, "", link, c);
}
