/**
 * Applies a {@link PlanDelta} to a running lab through the netlink verbs: removals first (links,
 * then addresses/routes/neighbours/FDB entries on links that stay), then new links in every
 * namespace, then their configuration (masters, hairpin, up, addresses, routes, neighbours, FDB),
 * then the changed firewalls (flush-and-reload, one `iptables-restore` per host) and
 * `/etc/netns` files. New links are journaled like `up`'s, so `down` finds them either way (they
 * also die with their namespace).
 *
 * @module
 */

import type { LinkPlan, NsName } from "../plan/types.ts";
import type { NamespaceDelta, PlanDelta } from "../plan/diff.ts";
import { linkHome } from "../plan/diff.ts";
import { NetlinkHandle } from "./netlink/client.ts";
import { bridgePortSet, linkAdd, linkDel, linkGet, linkList, linkSet } from "./netlink/link.ts";
import { addrAdd, addrDel } from "./netlink/addr.ts";
import { routeDel, routeReplace } from "./netlink/route.ts";
import { fdbAppend, fdbDel, neighDel, neighReplace } from "./netlink/neigh.ts";
import { netnsFd, setSysctl } from "./netns/netns.ts";
import { applyFirewall } from "./firewall.ts";
import { writeManyNetnsFiles } from "../runtime/netns_files.ts";
import { NslabError } from "../errors.ts";
import type { JournalEntry } from "./apply.ts";
import { reloadRuleset } from "../plan/firewall/reload.ts";

/** Options of {@link applyDelta}. */
export interface ApplyDeltaOptions {
  /** The lab's journal (JSON lines), appended with every link created. */
  journal?: string;
  /**
   * Keep going past every error and collect it (used when rolling a half-applied delta back:
   * some of its objects are already as wanted, and the rest must still be tried).
   */
  tolerant?: boolean;
  /**
   * Filled with `ns\0name` of every link created, as it happens — still valid when
   * {@link applyDelta} throws, so a rollback removes only what this apply made.
   */
  created?: Set<string>;
  /** Remove only the links in this set (`ns\0name`); others are left alone. */
  onlyRemove?: Set<string>;
}

/** What {@link applyDelta} did. */
export interface DeltaReport {
  /** Kernel requests sent. */
  requests: number;
  /** Hosts whose firewall was reloaded. */
  firewalls: string[];
  /** Errors tolerated (only with `tolerant`). */
  tolerated: Error[];
}

/**
 * Applies `delta` to the kernel. Throws at the first failure (unless `tolerant`); the caller
 * rolls back by applying the reverse delta tolerantly.
 *
 * @example
 * ```ts
 * await applyDelta(diffPlans(oldPlan, newPlan), { journal: "/run/nslab/t1/journal" });
 * ```
 */
export async function applyDelta(
  delta: PlanDelta,
  opts: ApplyDeltaOptions = {},
): Promise<DeltaReport> {
  const handles = new Map<NsName, NetlinkHandle>();
  const report: DeltaReport = { requests: 0, firewalls: [], tolerated: [] };
  const h = (ns: NsName) => {
    let x = handles.get(ns);
    if (!x) handles.set(ns, x = new NetlinkHandle(ns));
    return x;
  };
  const run = (what: () => void) => {
    report.requests++;
    try {
      what();
    } catch (e) {
      if (opts.tolerant) {
        report.tolerated.push(e as Error);
        return;
      }
      throw e;
    }
  };
  const index = (ns: NsName, dev: string): number => {
    const l = linkGet(h(ns), dev);
    if (!l) {
      throw new NslabError(
        `Cannot configure "${dev}" in namespace "${ns}": the link does not exist (it should have ` +
          `been created just before); run "nslab down" and "nslab up" to rebuild the lab`,
      );
    }
    return l.index;
  };
  try {
    // A Linux bridge without an explicit MAC takes the lowest MAC of its ports, so adding or
    // removing a port can change the gateway's MAC under the containers' ARP caches (packets to
    // the gateway then vanish for seconds). Pin every bridge's current MAC before and after.
    for (const d of delta.namespaces) pinBridges(d.name);
    for (const d of delta.namespaces) removeFrom(d);
    for (const d of delta.namespaces) {
      for (const [k, v] of Object.entries(d.sysctls)) run(() => setSysctl(d.name, k, v));
    }
    const journal: JournalEntry[] = [];
    for (const d of delta.namespaces) {
      for (const l of d.addLinks) {
        journal.push({ t: "link", ns: linkHome(d.name, l), name: l.name });
        if (l.kind === "veth") journal.push({ t: "link", ns: l.peer.ns, name: l.peer.name });
      }
    }
    if (opts.journal && journal.length > 0) {
      Deno.writeTextFileSync(
        opts.journal,
        journal.map((e) => JSON.stringify(e)).join("\n") + "\n",
        {
          append: true,
          mode: 0o600,
        },
      );
    }
    for (const d of delta.namespaces) {
      for (const l of d.addLinks) {
        run(() => {
          create(d.name, l);
          opts.created?.add(`${linkHome(d.name, l)}\0${l.name}`);
        });
      }
    }
    for (const d of delta.namespaces) configure(d);
    for (const d of delta.namespaces) pinBridges(d.name);
  } finally {
    for (const x of handles.values()) x.close();
  }
  await writeManyNetnsFiles(delta.files);
  await Promise.all(delta.firewall.map(async (f) => {
    try {
      await applyFirewall(f.netns, reloadRuleset(f.rules));
      report.firewalls.push(f.netns);
    } catch (e) {
      if (!opts.tolerant) throw e;
      report.tolerated.push(e as Error);
    }
  }));
  return report;

  /** Sets each bridge's MAC to its current value (`ip link set BR address MAC`): it stays. */
  function pinBridges(ns: NsName): void {
    for (const l of linkList(h(ns))) {
      if (l.kind === "bridge" && l.mac) run(() => linkSet(h(ns), l.index, { mac: l.mac }));
    }
  }

  function removeFrom(d: NamespaceDelta): void {
    for (const l of d.removeLinks) {
      const home = linkHome(d.name, l);
      if (opts.onlyRemove && !opts.onlyRemove.has(`${home}\0${l.name}`)) continue;
      run(() => linkDel(h(home), l.name));
    }
    for (const f of d.removeFdb) {
      run(() => fdbDel(h(d.name), { index: index(d.name, f.dev), mac: f.mac, dst: f.dst }));
    }
    for (const n of d.removeNeighs) {
      run(() => neighDel(h(d.name), { index: index(d.name, n.dev), address: n.address }));
    }
    for (const r of d.removeRoutes) {
      run(() => routeDel(h(d.name), { dst: r.dst, via: r.via, index: index(d.name, r.dev) }));
    }
    for (const a of d.removeAddrs) {
      run(() =>
        addrDel(h(d.name), { index: index(d.name, a.dev), address: a.address, prefix: a.prefix })
      );
    }
  }

  function create(ns: NsName, l: LinkPlan): void {
    const master = (name: string | undefined) => name === undefined ? undefined : index(ns, name);
    switch (l.kind) {
      case "bridge":
        linkAdd(h(ns), { kind: "bridge", name: l.name, mtu: l.mtu, mac: l.mac });
        return;
      case "veth":
        linkAdd(h(ns), {
          kind: "veth",
          name: l.name,
          mtu: l.mtu,
          mac: l.mac,
          master: master(l.master),
          peer: {
            name: l.peer.name,
            netnsFd: netnsFd(l.peer.ns),
            mac: l.peer.mac,
            mtu: l.peer.mtu,
          },
        });
        return;
      case "vxlan":
        linkAdd(h(ns), {
          kind: "vxlan",
          name: l.name,
          vni: l.vni,
          local: l.local,
          dev: index(ns, l.dev),
          port: l.port,
          learning: l.learning,
          proxy: l.proxy,
          mtu: l.mtu,
          master: master(l.master),
        });
        return;
      case "macvlan":
        linkAdd(h(ns), {
          kind: "macvlan",
          name: l.name,
          parent: index(ns, l.parent),
          mode: l.mode,
          mac: l.mac,
          mtu: l.mtu,
          netnsFd: l.targetNs === ns ? undefined : netnsFd(l.targetNs),
        });
        return;
      case "vlan":
        linkAdd(h(ns), { kind: "vlan", name: l.name, parent: index(ns, l.parent), id: l.id });
        return;
    }
  }

  function configure(d: NamespaceDelta): void {
    const ns = d.name;
    for (const l of d.addLinks) {
      if (l.kind !== "veth") continue;
      if (l.peer.master) {
        const peerNs = l.peer.ns;
        const master = l.peer.master;
        run(() => linkSet(h(peerNs), l.peer.name, { master: index(peerNs, master) }));
      }
      if (l.hairpin) run(() => bridgePortSet(h(ns), index(ns, l.name), { hairpin: true }));
    }
    for (const dev of d.up) run(() => linkSet(h(ns), dev, { up: true }));
    for (const a of d.addAddrs) {
      run(() =>
        addrAdd(h(ns), {
          index: index(ns, a.dev),
          address: a.address,
          prefix: a.prefix,
          dev: a.dev,
        })
      );
    }
    for (const r of d.routes) {
      run(() =>
        routeReplace(h(ns), {
          dst: r.dst,
          via: r.via,
          src: r.src,
          index: index(ns, r.dev),
          dev: r.dev,
        })
      );
    }
    for (const n of d.neighs) {
      run(() =>
        neighReplace(h(ns), { index: index(ns, n.dev), address: n.address, mac: n.mac, dev: n.dev })
      );
    }
    for (const f of d.fdb) {
      run(() => fdbAppend(h(ns), { index: index(ns, f.dev), mac: f.mac, dst: f.dst, dev: f.dev }));
    }
  }
}
