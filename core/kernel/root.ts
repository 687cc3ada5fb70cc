/**
 * The applier's sections in the machine's root namespace: macvlans of the machine's NICs
 * (`up --underlay-dev`), the uplink veth (made from the lab's side, tagged with the lab) and its
 * configuration (up, addresses, routes). Each is journaled before it is made; the applier
 * (`applier.ts`) calls these from its cases.
 *
 * @module
 */

import type { NsName } from "../plan/types.ts";
import type { RootDelta } from "../plan/diff.ts";
import { NslabError } from "../errors.ts";
import type { KernelTarget } from "./target.ts";
import { type Indexes, journalLinks, queueMachineLink } from "./links.ts";
import type { JournalEntry, JournalWriter } from "./journal.ts";
import { linkAdd, linkSet } from "./netlink/link.ts";
import { addrAdd } from "./netlink/addr.ts";
import { routeReplace } from "./netlink/route.ts";

/** What the root-namespace sections write with, handed over by the applier. */
export interface RootWriter {
  kernel: KernelTarget;
  ix: Indexes;
  journal: JournalWriter;
  /** The lab's tag (`nslab:<lab>`), put on every root link as its alias. */
  tag: string;
  /** Root links made so far (a rollback removes them). */
  made: string[];
  /** Runs one step; with `tolerant`, an error is collected instead of thrown. */
  run: (step: () => void) => void;
}

/** Macvlans of the machine's NICs (`up --underlay-dev`), before the links riding on them. */
export function machineLinks(root: RootDelta, w: RootWriter): void {
  const ctx = { ix: w.ix, netnsFd: (ns: NsName) => w.kernel.netnsFd(ns) };
  for (const l of root.links) {
    if (l.kind !== "macvlan") continue;
    w.journal.write(journalLinks("", [l]));
    w.run(() => queueMachineLink(w.kernel.requester(""), l, ctx));
  }
}

/** The uplink: created from the underlay side (so its index and master are set at once). */
export function rootLinks(root: RootDelta, w: RootWriter): void {
  const k = w.kernel;
  for (const link of root.links) {
    if (link.kind === "macvlan") continue; // made by machineLinks
    if (link.kind !== "veth" || link.peer.ns === "") {
      throw new NslabError(
        `Cannot create root-namespace link "${link.name}" (${link.kind}): only a veth into a lab namespace may live there`,
      );
    }
    const p = link.peer;
    w.journal.write([
      { t: "link", ns: "", name: link.name },
      { t: "link", ns: p.ns, name: p.name },
    ]);
    linkAdd(k.requester(p.ns), {
      kind: "veth",
      name: p.name,
      index: w.ix.allocate(p.ns, p.name),
      mtu: p.mtu,
      mac: p.mac,
      master: p.master === undefined
        ? undefined
        : w.ix.get(p.ns, p.master, `the master of "${p.name}"`),
      peer: { name: link.name, netnsFd: k.netnsFd(""), mac: link.mac, mtu: link.mtu },
    });
    k.flush();
    w.made.push(link.name);
    linkSet(k.requester(""), link.name, { alias: w.tag });
    k.flush();
  }
}

/** Root-namespace configuration: up, addresses and routes of the uplink. */
export function rootConfig(root: RootDelta, w: RootWriter): void {
  if (root.addrs.length + root.routes.length + root.up.length === 0) return;
  const index = (name: string) => {
    const i = w.kernel.linkIndex("", name);
    if (i === undefined) {
      throw new NslabError(`Cannot configure "${name}" in the root namespace: it does not exist`);
    }
    return i;
  };
  const r = w.kernel.requester("");
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
  w.journal.write(journal);
}
