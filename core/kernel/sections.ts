/**
 * The sections of a plan delta and the one applier that takes them, in order, to a
 * {@link KernelTarget}. Each section is one case of {@link Applier.section}'s `switch`; the
 * `never` check there means a section added to {@link SECTION_GROUPS}' type without an applier
 * does not compile, and {@link PLAN_SECTIONS} / {@link NAMESPACE_SECTIONS} map every field of a
 * plan and of a namespace's plan to the sections that apply it, so a new field without a section
 * does not compile either.
 *
 * @module
 */

import type { NamespacePlan, NsName, Plan } from "../plan/types.ts";
import { linkHome, type NamespaceDelta, type PlanDelta } from "../plan/diff.ts";
import { sameImpairments } from "../plan/impair.ts";
import { reloadRuleset } from "../plan/firewall/reload.ts";
import { NslabError } from "../errors.ts";
import type { KernelTarget } from "./target.ts";
import { Indexes, journalLinks, queueLink, queueMachineLink } from "./links.ts";
import { Journal, type JournalEntry, type JournalWriter, NO_JOURNAL } from "./journal.ts";
import { labTag } from "./discover.ts";
import { bridgePortSet, linkAdd, linkDel, type LinkRef, linkSet } from "./netlink/link.ts";
import { addrAdd } from "./netlink/addr.ts";
import { routeReplace } from "./netlink/route.ts";
import {
  type NsWriter,
  queueAddresses,
  queueFdb,
  queueNeighbours,
  queueRemovals,
  queueRoutes,
} from "./objects.ts";
import { applyXfrm } from "./xfrm.ts";

/**
 * Sections in apply order. Requests of one group travel together: the target is flushed after
 * each group (one batch per namespace per group when it batches).
 */
export const SECTION_GROUPS = [
  ["namespaces"],
  ["sysctls", "files"],
  ["bridge macs"],
  ["impairments lifted"],
  ["removals"],
  ["machine links"],
  ["links"],
  ["root links"],
  ["bridge ports", "up", "addresses", "routes", "neighbours", "fdb"],
  ["root config"],
  ["bridge macs"],
  ["xfrm"],
  ["firewall"],
  ["impairments"],
] as const;

/** One section of a delta. */
export type Section = typeof SECTION_GROUPS[number][number];

/** The sections that apply each field of a plan (null: not applied to the kernel). */
export const PLAN_SECTIONS: { [K in keyof Plan]-?: Section[] | null } = {
  lab: null,
  root: ["root links", "root config"],
  namespaces: ["namespaces"],
  firewall: ["firewall"],
  xfrm: ["xfrm"],
  processes: ["files"],
  impair: ["impairments lifted", "impairments"],
};

/** The section that applies each field of a namespace's plan (null: not a kernel object). */
export const NAMESPACE_SECTIONS: { [K in keyof NamespacePlan]-?: Section | null } = {
  name: "namespaces",
  role: null,
  owner: null,
  sysctls: "sysctls",
  links: "links",
  up: "up",
  addrs: "addresses",
  routes: "routes",
  neighs: "neighbours",
  fdb: "fdb",
};

/** Options of `applyDelta`. */
export interface DeltaOptions {
  /** The lab's journal file, appended with every object before it is created. */
  journal?: string;
  /** Called before each section. */
  onSection?: (section: Section) => void;
  /** New namespaces that exist elsewhere already (a Docker container's): pinned, not created. */
  adopt?: Record<NsName, string>;
  /**
   * Keep going past every error and collect it (used when rolling a half-applied delta back:
   * some of its objects are already as wanted, and the rest must still be tried).
   */
  tolerant?: boolean;
  /**
   * Filled with `ns\0name` of every link created, as it happens (with a target that sends at
   * once) — still valid when the apply throws, so a rollback removes only what it made.
   */
  created?: Set<string>;
  /** Remove only the links in this set (`ns\0name`); others are left alone. */
  onlyRemove?: Set<string>;
}

/** What an apply did. */
export interface DeltaReport {
  lab: string;
  /** Namespaces created (or pinned). */
  namespaces: string[];
  /** Links created in the root namespace. */
  rootLinks: string[];
  /** Kernel requests sent. */
  requests: number;
  /** `sendto` calls made (requests travel in batches). */
  sends: number;
  /** Hosts whose firewall was loaded. */
  firewalls: string[];
  /** Errors tolerated (only with `tolerant`). */
  tolerated: Error[];
}

/** Applies one delta, section by section; see `applyDelta`. */
export class Applier {
  readonly made = { namespaces: [] as NsName[], rootLinks: [] as string[] };
  #d: PlanDelta;
  #k: KernelTarget;
  #opts: DeltaOptions;
  #journal: JournalWriter;
  #ix: Indexes;
  #tag: string;
  #firewalls: string[] = [];
  #tolerated: Error[] = [];
  #files: Promise<void> = Promise.resolve();

  constructor(delta: PlanDelta, kernel: KernelTarget, opts: DeltaOptions) {
    this.#d = delta;
    this.#k = kernel;
    this.#opts = opts;
    this.#journal = opts.journal ? new Journal(opts.journal) : NO_JOURNAL;
    this.#ix = new Indexes((ns) => kernel.links(ns));
    this.#tag = labTag(delta.lab);
  }

  /** Applies one section. */
  async section(s: Section): Promise<void> {
    this.#opts.onSection?.(s);
    const d = this.#d;
    switch (s) {
      case "namespaces":
        return this.#namespaces();
      case "sysctls":
        for (const n of d.namespaces) {
          for (const [k, v] of Object.entries(n.sysctls)) {
            this.#run(() => this.#k.setSysctl(n.name, k, v));
          }
        }
        return;
      case "files":
        // Written beside the rest of the apply; awaited by `settle`.
        this.#files = this.#k.writeFiles(d.files);
        this.#files.catch(() => {}); // awaited later; never an unhandled rejection meanwhile
        return;
      case "bridge macs":
        return this.#keepBridgeMacs();
      case "removals":
        for (const n of d.namespaces) this.#removeFrom(n);
        return;
      case "machine links":
        return this.#machineLinks();
      case "links":
        return this.#links();
      case "root links":
        return this.#rootLinks();
      case "bridge ports":
        return this.#bridgePorts();
      case "up":
        for (const n of d.namespaces) {
          const r = this.#k.requester(n.name);
          for (const dev of n.up) {
            const ref: LinkRef = this.#ix.find(n.name, dev) ?? dev;
            this.#run(() => linkSet(r, ref, { up: true }));
          }
        }
        return;
      case "addresses":
        return this.#each(queueAddresses);
      case "routes":
        return this.#each(queueRoutes);
      case "neighbours":
        return this.#each(queueNeighbours);
      case "fdb":
        return this.#each(queueFdb);
      case "root config":
        return this.#rootConfig();
      case "xfrm":
        return applyXfrm(d.xfrm, this.#k);
      case "firewall":
        await Promise.all(d.firewall.map(async (f) => {
          try {
            const rules = f.reload ? reloadRuleset(f.rules) : f.rules;
            await this.#k.loadFirewall(f.netns, rules, f.family ?? "ipv4");
            this.#firewalls.push(f.netns);
          } catch (e) {
            if (!this.#opts.tolerant) throw e;
            this.#tolerated.push(e as Error);
          }
        }));
        return;
      case "impairments lifted":
      case "impairments": {
        // Links whose veth goes away or is rebuilt lose their impairments before the removals
        // (no relay outlives its veth) and get them back at the end, with everything else.
        const i = d.impair;
        if (!i) return;
        const [from, to] = s === "impairments lifted" ? [i.from, i.kept] : [i.kept, i.to];
        if (sameImpairments(from, to)) return;
        try {
          await this.#k.impair(from, to);
        } catch (e) {
          if (!this.#opts.tolerant) throw e;
          this.#tolerated.push(e as Error);
        }
        return;
      }
      default: {
        const unknown: never = s;
        throw new Error(`No applier for plan section ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** Waits for work started beside the sections (the `/etc/netns` files). */
  settle(): Promise<void> {
    return this.#files;
  }

  /** Closes the journal and lets go of the new namespaces' handles; the report. */
  finish(): DeltaReport {
    this.#journal.close();
    for (const ns of this.made.namespaces) this.#k.release(ns);
    return {
      lab: this.#d.lab,
      namespaces: this.made.namespaces,
      rootLinks: this.made.rootLinks,
      requests: this.#k.requests,
      sends: this.#k.sends,
      firewalls: this.#firewalls,
      tolerated: this.#tolerated,
    };
  }

  /** Removes the namespaces and root links this apply made, newest first; every error. */
  rollback(): Error[] {
    this.#journal.close();
    const errors: Error[] = [];
    for (const name of [...this.made.rootLinks].reverse()) {
      try {
        this.#k.deleteRootLink(name, this.#tag);
      } catch (e) {
        errors.push(e as Error);
      }
    }
    for (const ns of [...this.made.namespaces].reverse()) {
      try {
        this.#k.deleteNamespace(ns);
      } catch (e) {
        errors.push(
          new Error(`Cannot remove namespace "${ns}" during rollback: ${(e as Error).message}`),
        );
      }
    }
    return errors;
  }

  /** Runs one step; with `tolerant`, an error is collected instead of thrown. */
  #run(step: () => void): void {
    try {
      step();
    } catch (e) {
      if (!this.#opts.tolerant) throw e;
      this.#tolerated.push(e as Error);
    }
  }

  /** Index of `dev` in `ns` (existing or being created). */
  #index(ns: NsName, dev: string, what: string): number {
    return this.#ix.get(ns, dev, what);
  }

  /** Creates, tags and journals each new namespace (tag and journal first: see teardown). */
  #namespaces(): void {
    const fresh = this.#d.namespaces.filter((n) => n.create);
    for (const n of fresh) {
      this.#journal.write([{ t: "netns", name: n.name }]);
      this.#k.createNamespace(n.name, this.#opts.adopt?.[n.name]);
      this.made.namespaces.push(n.name);
      linkSet(this.#k.requester(n.name), 1, { alias: this.#tag });
      this.#k.flush();
    }
    if (fresh.length === 0) return;
    // The first free ifindex in a fresh namespace (after `lo` and any fallback tunnel devices).
    const base = Math.max(1, ...this.#k.links(fresh[0].name).map((l) => l.index)) + 1;
    this.#ix.created(fresh.map((n) => n.name), base);
  }

  /**
   * A Linux bridge without an explicit MAC takes the lowest MAC of its ports, so adding or
   * removing a port can change the gateway's MAC under the containers' ARP caches (packets to
   * the gateway then vanish for seconds). Every bridge of a namespace that existed before keeps
   * its current MAC (`ip link set BR address MAC`), before and after the change.
   */
  #keepBridgeMacs(): void {
    for (const n of this.#d.namespaces) {
      if (n.create) continue;
      const r = this.#k.requester(n.name);
      for (const l of this.#k.links(n.name)) {
        if (l.kind === "bridge" && l.mac) this.#run(() => linkSet(r, l.index, { mac: l.mac }));
      }
    }
  }

  #removeFrom(n: NamespaceDelta): void {
    const only = this.#opts.onlyRemove;
    for (const l of n.removeLinks) {
      const home = linkHome(n.name, l);
      if (only && !only.has(`${home}\0${l.name}`)) continue;
      this.#run(() => linkDel(this.#k.requester(home), l.name));
    }
    queueRemovals(this.#writer(n), n);
    for (const l of n.removeLinks) {
      this.#ix.forget(linkHome(n.name, l), l.name);
      if (l.kind === "veth") this.#ix.forget(l.peer.ns, l.peer.name);
    }
  }

  #links(): void {
    const ctx = { ix: this.#ix, netnsFd: (ns: NsName) => this.#k.netnsFd(ns) };
    for (const n of this.#d.namespaces) {
      this.#journal.write(journalLinks(n.name, n.addLinks));
      const r = this.#k.requester(n.name);
      for (const l of n.addLinks) {
        this.#run(() => {
          queueLink(r, n.name, l, ctx);
          this.#opts.created?.add(`${linkHome(n.name, l)}\0${l.name}`);
        });
      }
    }
  }

  /** Macvlans of the machine's NICs (`up --underlay-dev`), before the links riding on them. */
  #machineLinks(): void {
    const ctx = { ix: this.#ix, netnsFd: (ns: NsName) => this.#k.netnsFd(ns) };
    for (const l of this.#d.root.links) {
      if (l.kind !== "macvlan") continue;
      this.#journal.write(journalLinks("", [l]));
      this.#run(() => queueMachineLink(this.#k.requester(""), l, ctx));
    }
  }

  /** The uplink: created from the underlay side (so its index and master are set at once). */
  #rootLinks(): void {
    for (const link of this.#d.root.links) {
      if (link.kind === "macvlan") continue; // made by #machineLinks
      if (link.kind !== "veth" || link.peer.ns === "") {
        throw new NslabError(
          `Cannot create root-namespace link "${link.name}" (${link.kind}): only a veth into a lab namespace may live there`,
        );
      }
      const p = link.peer;
      this.#journal.write([
        { t: "link", ns: "", name: link.name },
        { t: "link", ns: p.ns, name: p.name },
      ]);
      linkAdd(this.#k.requester(p.ns), {
        kind: "veth",
        name: p.name,
        index: this.#ix.allocate(p.ns, p.name),
        mtu: p.mtu,
        mac: p.mac,
        master: p.master === undefined
          ? undefined
          : this.#index(p.ns, p.master, `the master of "${p.name}"`),
        peer: { name: link.name, netnsFd: this.#k.netnsFd(""), mac: link.mac, mtu: link.mtu },
      });
      this.#k.flush();
      this.made.rootLinks.push(link.name);
      linkSet(this.#k.requester(""), link.name, { alias: this.#tag });
      this.#k.flush();
    }
  }

  /** Veth peers join their bridge once every namespace's links exist; hairpin on bridge ports. */
  #bridgePorts(): void {
    for (const n of this.#d.namespaces) {
      for (const l of n.addLinks) {
        if (l.kind !== "veth") continue;
        const { ns: peerNs, name, master } = l.peer;
        if (master !== undefined) {
          this.#run(() =>
            linkSet(this.#k.requester(peerNs), this.#index(peerNs, name, "enslaving"), {
              master: this.#index(peerNs, master, `the master of "${name}"`),
            })
          );
        }
        if (l.hairpin) {
          this.#run(() =>
            bridgePortSet(this.#k.requester(n.name), this.#index(n.name, l.name, "hairpin mode"), {
              hairpin: true,
            })
          );
        }
      }
    }
  }

  /** How sections write into namespace `n`. */
  #writer(n: NamespaceDelta): NsWriter {
    return {
      r: this.#k.requester(n.name),
      at: (dev, use) => this.#index(n.name, dev, use),
      run: (step) => this.#run(step),
    };
  }

  /** Queues one kind of object in every namespace, journaling each first. */
  #each(queue: (w: NsWriter, n: NamespaceDelta) => JournalEntry[]): void {
    for (const n of this.#d.namespaces) this.#journal.write(queue(this.#writer(n), n));
  }

  /** Root-namespace configuration: up, addresses and routes of the uplink. */
  #rootConfig(): void {
    const root = this.#d.root;
    if (root.addrs.length + root.routes.length + root.up.length === 0) return;
    const index = (name: string) => {
      const i = this.#k.linkIndex("", name);
      if (i === undefined) {
        throw new NslabError(`Cannot configure "${name}" in the root namespace: it does not exist`);
      }
      return i;
    };
    const r = this.#k.requester("");
    const journal: JournalEntry[] = [];
    for (const name of root.up) linkSet(r, name, { up: true });
    for (const a of root.addrs) {
      journal.push({ t: "addr", ns: "", dev: a.dev, address: `${a.address}/${a.prefix}` });
      addrAdd(r, { index: index(a.dev), address: a.address, prefix: a.prefix, dev: a.dev });
    }
    for (const x of root.routes) {
      journal.push({ t: "route", ns: "", dev: x.dev, dst: x.dst });
      routeReplace(r, { dst: x.dst, via: x.via, src: x.src, index: index(x.dev), dev: x.dev });
    }
    this.#journal.write(journal);
  }
}
