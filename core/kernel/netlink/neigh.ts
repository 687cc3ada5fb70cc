/**
 * Neighbour verbs (`ip neigh …`, `bridge fdb …`): permanent ARP entries, VXLAN forwarding
 * entries, and dumps into typed {@link Neigh} objects.
 *
 * @module
 */

import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_REPLACE,
  NTF_SELF,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from "./constants.ts";
import { type Attr, attrs, attrValue, type Message, NEIGH_ATTRS } from "./codec.ts";
import type { NetlinkHandle, Requester } from "./client.ts";

/** A permanent IP → MAC entry on a device. */
export interface NeighSpec {
  /** ifindex of the device. */
  index: number;
  address: string;
  mac: string;
  /** Device name, for error messages only. */
  dev?: string;
}

/** A VXLAN forwarding entry: frames for `mac` go to the VTEP `dst`. */
export interface FdbSpec {
  /** ifindex of the VXLAN device. */
  index: number;
  mac: string;
  dst: string;
  /** Device name, for error messages only. */
  dev?: string;
}

const on = (index: number, dev?: string) => JSON.stringify(dev ?? `ifindex ${index}`);

/**
 * Adds or replaces a permanent neighbour entry.
 * Equivalent to: `ip neigh replace 10.0.0.2 lladdr 02:42:0a:00:00:02 dev vx0 nud permanent`.
 */
export function neighReplace(r: Requester, spec: NeighSpec): void {
  r.request(
    RTM_NEWNEIGH,
    NLM_F_CREATE | NLM_F_REPLACE,
    {
      kind: "neigh",
      msg: {
        family: spec.address.includes(":") ? AF_INET6 : AF_INET,
        index: spec.index,
        state: NUD_PERMANENT,
        flags: 0,
        type: 0,
      },
      attrs: attrs(NEIGH_ATTRS, { dst: spec.address, lladdr: spec.mac }),
    },
    {
      op: "replace",
      object: "neighbour",
      target: `"${spec.address}" on ${on(spec.index, spec.dev)}`,
    },
  );
}

/** Deletes a neighbour entry. Equivalent to: `ip neigh del 10.0.0.2 dev vx0`. */
export function neighDel(r: Requester, spec: Omit<NeighSpec, "mac">): void {
  r.request(
    RTM_DELNEIGH,
    0,
    {
      kind: "neigh",
      msg: { family: AF_INET, index: spec.index, state: 0, flags: 0, type: 0 },
      attrs: attrs(NEIGH_ATTRS, { dst: spec.address }),
    },
    {
      op: "delete",
      object: "neighbour",
      target: `"${spec.address}" on ${on(spec.index, spec.dev)}`,
    },
  );
}

/**
 * Appends a permanent forwarding entry to a VXLAN device's own FDB.
 * Equivalent to: `bridge fdb append 02:42:0a:00:00:02 dev vx0 dst 10.77.0.12 self permanent`.
 */
export function fdbAppend(r: Requester, spec: FdbSpec): void {
  r.request(
    RTM_NEWNEIGH,
    NLM_F_CREATE | NLM_F_APPEND,
    {
      kind: "neigh",
      msg: { family: AF_BRIDGE, index: spec.index, state: NUD_PERMANENT, flags: NTF_SELF, type: 0 },
      attrs: attrs(NEIGH_ATTRS, { lladdr: spec.mac, dst: spec.dst }),
    },
    {
      op: "append",
      object: "fdb entry",
      target: `"${spec.mac} dst ${spec.dst}" on ${on(spec.index, spec.dev)}`,
    },
  );
}

/**
 * Deletes one forwarding entry (this MAC towards this VTEP) from a VXLAN device's own FDB.
 * Equivalent to: `bridge fdb del 02:42:0a:00:00:02 dev vx0 dst 10.77.0.12 self`.
 */
export function fdbDel(r: Requester, spec: FdbSpec): void {
  r.request(
    RTM_DELNEIGH,
    0,
    {
      kind: "neigh",
      msg: { family: AF_BRIDGE, index: spec.index, state: 0, flags: NTF_SELF, type: 0 },
      attrs: attrs(NEIGH_ATTRS, { lladdr: spec.mac, dst: spec.dst }),
    },
    {
      op: "delete",
      object: "fdb entry",
      target: `"${spec.mac} dst ${spec.dst}" on ${on(spec.index, spec.dev)}`,
    },
  );
}

/** A neighbour or FDB entry as the kernel reports it. */
export interface Neigh {
  family: number;
  index: number;
  state: number;
  flags: number;
  /** IP (neighbour) or remote VTEP (FDB); "" when absent. */
  dst: string;
  mac: string;
  attrs: Attr[];
}

/** Turns an `RTM_NEWNEIGH` message into a {@link Neigh}. */
export function parseNeigh(m: Message): Neigh | null {
  if (m.body.kind !== "neigh") return null;
  const { msg, attrs: list } = m.body;
  return {
    family: msg.family,
    index: msg.index,
    state: msg.state,
    flags: msg.flags,
    dst: String(attrValue(list, "dst") ?? ""),
    mac: String(attrValue(list, "lladdr") ?? ""),
    attrs: list,
  };
}

/**
 * Every neighbour entry (AF_INET) or FDB entry (AF_BRIDGE) of the handle's namespace.
 * Equivalent to: `ip neigh show` / `bridge fdb show`.
 */
export function neighList(h: NetlinkHandle, family = AF_INET): Neigh[] {
  return h.query(
    RTM_GETNEIGH,
    NLM_F_DUMP,
    { kind: "neigh", msg: { family, index: 0, state: 0, flags: 0, type: 0 }, attrs: [] },
    { op: "dump", object: family === AF_BRIDGE ? "fdb entries" : "neighbours", target: "" },
  ).map(parseNeigh).filter((n): n is Neigh => n !== null);
}
