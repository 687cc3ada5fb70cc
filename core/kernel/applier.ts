/**
 * The one applier: takes a plan delta to a {@link KernelTarget}, section by section in the order
 * of `SECTION_GROUPS` (`sections.ts`), journaling every object before it is made.
 *
 * @module
 */

import type { NsName } from "../plan/types.ts";
import { linkHome, type NamespaceDelta, type PlanDelta } from "../plan/diff.ts";
import { sameImpairments } from "../plan/impair.ts";
import { reloadRuleset } from "../plan/firewall/reload.ts";
import type { KernelTarget } from "./target.ts";
import { Indexes, journalLinks, queueLink } from "./links.ts";
import { Journal, type JournalEntry, type JournalWriter, NO_JOURNAL } from "./journal.ts";
import { labTag } from "./discover.ts";
import { bridgePortSet, linkDel, type LinkRef, linkSet } from "./netlink/link.ts";
import {
  type NsWriter,
  queueAddresses,
  queueFdb,
  queueNeighbours,
  queueRemovals,
  queueRoutes,
} from "./objects.ts";
import { applyXfrm } from "./xfrm.ts";
import { machineLinks, rootConfig, rootLinks, type RootWriter } from "./root.ts";
import type { DeltaOptions, DeltaReport, Section } from "./sections.ts";

/** Applies one delta, section by section; see `applyDelta`. */
export class Applier {
  readonly made = { namespaces: [] as NsName[], rootLinks: [] as string[] };
  readonly removed = { namespaces: [] as NsName[], rootLinks: [] as string[] };
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

  /**
   * Applies one section. A `switch` rather than a table of handlers: its `never` check makes a
   * section without a case fail to compile, and each case is one call, so it reads as the table.
   */
  section(s: Section): void | Promise<void> {
    this.#opts.onSection?.(s);
    switch (s) {
      case "namespaces":
        return this.#namespaces();
      case "sysctls":
        return this.#sysctls();
      case "files":
        return this.#writeFiles();
      case "bridge macs":
        return this.#keepBridgeMacs();
      case "removals":
        for (const n of this.#d.namespaces) this.#removeFrom(n);
        return;
      case "root links removed":
        return this.#removeRootLinks();
      case "namespaces removed":
        return this.#removeNamespaces();
      case "machine links":
        return machineLinks(this.#d.root, this.#root());
      case "links":
        return this.#links();
      case "root links":
        return rootLinks(this.#d.root, this.#root());
      case "bridge ports":
        return this.#bridgePorts();
      case "up":
        return this.#up();
      case "addresses":
        return this.#each(queueAddresses);
      case "routes":
        return this.#each(queueRoutes);
      case "neighbours":
        return this.#each(queueNeighbours);
      case "fdb":
        return this.#each(queueFdb);
      case "root config":
        return rootConfig(this.#d.root, this.#root());
      case "xfrm":
        return applyXfrm(this.#d.xfrm, this.#k);
      case "firewall":
        return this.#firewall();
      case "impairments lifted":
      case "impairments":
        return this.#impairments(s);
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
      removed: this.removed,
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

  /** Root veths that go (`down`), if they still carry the lab's tag. */
  #removeRootLinks(): void {
    for (const name of this.#d.remove.rootLinks) {
      this.#run(() => {
        if (this.#k.deleteRootLink(name, this.#tag)) this.removed.rootLinks.push(name);
      });
    }
  }

  /** Namespaces that go (`down`), with everything in them; only `onlyNamespaces` when given. */
  #removeNamespaces(): void {
    const only = this.#opts.onlyNamespaces;
    for (const ns of this.#d.remove.namespaces) {
      if (only && !only.has(ns)) continue;
      this.#run(() => {
        this.#k.deleteNamespace(ns);
        this.removed.namespaces.push(ns);
      });
    }
  }

  /** Sysctls of every namespace (`sysctl -w` inside it). */
  #sysctls(): void {
    for (const n of this.#d.namespaces) {
      for (const [k, v] of Object.entries(n.sysctls)) {
        this.#run(() => this.#k.setSysctl(n.name, k, v));
      }
    }
  }

  /** The `/etc/netns` files, written beside the rest of the apply; awaited by `settle`. */
  #writeFiles(): void {
    this.#files = this.#k.writeFiles(this.#d.files);
    this.#files.catch(() => {}); // awaited later; never an unhandled rejection meanwhile
  }

  /** `ip link set DEV up` for every link a namespace brings up. */
  #up(): void {
    for (const n of this.#d.namespaces) {
      const r = this.#k.requester(n.name);
      for (const dev of n.up) {
        const ref: LinkRef = this.#ix.find(n.name, dev) ?? dev;
        this.#run(() => linkSet(r, ref, { up: true }));
      }
    }
  }

  /** Each host's firewall (a reload is loaded over the rules already there), all at once. */
  async #firewall(): Promise<void> {
    await Promise.all(this.#d.firewall.map(async (f) => {
      try {
        const rules = f.reload ? reloadRuleset(f.rules) : f.rules;
        await this.#k.loadFirewall(f.netns, rules, f.family ?? "ipv4");
        this.#firewalls.push(f.netns);
      } catch (e) {
        if (!this.#opts.tolerant) throw e;
        this.#tolerated.push(e as Error);
      }
    }));
  }

  /**
   * Links whose veth goes away or is rebuilt lose their impairments before the removals (no
   * relay outlives its veth) and get them back at the end, with everything else.
   */
  async #impairments(s: "impairments lifted" | "impairments"): Promise<void> {
    const i = this.#d.impair;
    if (!i) return;
    const [from, to] = s === "impairments lifted" ? [i.from, i.kept] : [i.kept, i.to];
    if (sameImpairments(from, to)) return;
    try {
      await this.#k.impair(from, to);
    } catch (e) {
      if (!this.#opts.tolerant) throw e;
      this.#tolerated.push(e as Error);
    }
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

  /** Veth peers join their bridge once every namespace's links exist; hairpin on bridge ports. */
  #bridgePorts(): void {
    const own = new Set(this.#d.namespaces.map((n) => n.name));
    for (const n of this.#d.namespaces) {
      for (const l of n.addLinks) {
        if (l.kind !== "veth") continue;
        const { ns: peerNs, name, master } = l.peer;
        if (master !== undefined) {
          // A peer in another lab's namespace (an external network's bridge) is brought up here:
          // that namespace is not this plan's, so no `up` list of it does.
          const up = own.has(peerNs) ? {} : { up: true };
          this.#run(() =>
            linkSet(this.#k.requester(peerNs), this.#index(peerNs, name, "enslaving"), {
              master: this.#index(peerNs, master, `the master of "${name}"`),
              ...up,
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

  /** How the root-namespace sections (`root.ts`) reach the kernel, journal and indexes. */
  #root(): RootWriter {
    return {
      kernel: this.#k,
      ix: this.#ix,
      journal: this.#journal,
      tag: this.#tag,
      made: this.made.rootLinks,
      run: (step) => this.#run(step),
    };
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
}
