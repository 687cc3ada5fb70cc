/**
 * The per-namespace objects of a delta as netlink requests: addresses, routes, neighbours and FDB
 * entries to add (each journaled first), and those to remove from links that stay. One function
 * per plan section, each called from its case in the applier's switch (`sections.ts`).
 *
 * @module
 */

import type { NamespaceDelta } from "../plan/diff.ts";
import type { Requester } from "./netlink/client.ts";
import { addrAdd, addrDel } from "./netlink/addr.ts";
import { routeDel, routeReplace } from "./netlink/route.ts";
import { fdbAppend, fdbDel, neighDel, neighReplace } from "./netlink/neigh.ts";
import type { JournalEntry } from "./journal.ts";

/** How a section writes into one namespace. */
export interface NsWriter {
  /** Where the namespace's requests go. */
  r: Requester;
  /** The ifindex of `dev` there (`what` names the use, for the error when it is missing). */
  at: (dev: string, what: string) => number;
  /** Runs one step (collecting its error when the apply is tolerant). */
  run: (step: () => void) => void;
}

/** Addresses, routes, neighbours and FDB entries that go from links that stay. */
export function queueRemovals(w: NsWriter, n: NamespaceDelta): void {
  const { r, at, run } = w;
  for (const f of n.removeFdb) {
    run(() => fdbDel(r, { index: at(f.dev, "a removal"), mac: f.mac, dst: f.dst }));
  }
  for (const x of n.removeNeighs) {
    run(() => neighDel(r, { index: at(x.dev, "a removal"), address: x.address }));
  }
  for (const x of n.removeRoutes) {
    run(() => routeDel(r, { dst: x.dst, via: x.via, index: at(x.dev, "a removal") }));
  }
  for (const a of n.removeAddrs) {
    run(() => addrDel(r, { index: at(a.dev, "a removal"), address: a.address, prefix: a.prefix }));
  }
}

/** `ip addr add` of each new address; returns their journal lines. */
export function queueAddresses(w: NsWriter, n: NamespaceDelta): JournalEntry[] {
  return n.addAddrs.map((a) => {
    w.run(() =>
      addrAdd(w.r, {
        index: w.at(a.dev, "an address"),
        address: a.address,
        prefix: a.prefix,
        dev: a.dev,
        nodad: a.nodad,
      })
    );
    return { t: "addr", ns: n.name, dev: a.dev, address: `${a.address}/${a.prefix}` };
  });
}

/** `ip route replace` of each new or changed route; returns their journal lines. */
export function queueRoutes(w: NsWriter, n: NamespaceDelta): JournalEntry[] {
  return n.routes.map((x) => {
    w.run(() =>
      routeReplace(w.r, {
        dst: x.dst,
        via: x.via,
        src: x.src,
        index: w.at(x.dev, "a route"),
        dev: x.dev,
      })
    );
    return { t: "route", ns: n.name, dev: x.dev, dst: x.dst };
  });
}

/** `ip neigh replace … nud permanent` of each new neighbour; returns their journal lines. */
export function queueNeighbours(w: NsWriter, n: NamespaceDelta): JournalEntry[] {
  return n.neighs.map((x) => {
    w.run(() =>
      neighReplace(w.r, {
        index: w.at(x.dev, "a neighbour"),
        address: x.address,
        mac: x.mac,
        dev: x.dev,
      })
    );
    return { t: "neigh", ns: n.name, dev: x.dev, address: x.address };
  });
}

/** `bridge fdb append` of each new FDB entry; returns their journal lines. */
export function queueFdb(w: NsWriter, n: NamespaceDelta): JournalEntry[] {
  return n.fdb.map((f) => {
    w.run(() =>
      fdbAppend(w.r, { index: w.at(f.dev, "an fdb entry"), mac: f.mac, dst: f.dst, dev: f.dev })
    );
    return { t: "fdb", ns: n.name, dev: f.dev, mac: f.mac };
  });
}
