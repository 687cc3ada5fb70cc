/**
 * Address verbs (`ip addr …`): add, delete, and dump into typed {@link Addr} objects.
 *
 * @module
 */

import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_F_NODAD,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from "./constants.ts";
import { ADDR_ATTRS, type Attr, attrs, attrValue, type Message } from "./codec.ts";
import type { NetlinkHandle, Requester } from "./client.ts";

/** An address on a device, by ifindex. */
export interface AddrSpec {
  /** ifindex of the device in the requester's namespace. */
  index: number;
  address: string;
  prefix: number;
  /** Device name, for error messages only. */
  dev?: string;
  /** IPv6: skip duplicate address detection, so the address works at once (`nodad`). */
  nodad?: boolean;
}

function body(spec: AddrSpec) {
  const v6 = spec.address.includes(":");
  return {
    kind: "addr" as const,
    msg: {
      family: v6 ? AF_INET6 : AF_INET,
      prefixlen: spec.prefix,
      flags: spec.nodad ? IFA_F_NODAD : 0,
      scope: RT_SCOPE_UNIVERSE,
      index: spec.index,
    },
    attrs: attrs(ADDR_ATTRS, { local: spec.address, address: spec.address }),
  };
}

function target(spec: AddrSpec): string {
  return `"${spec.address}/${spec.prefix}" on ${
    JSON.stringify(spec.dev ?? `ifindex ${spec.index}`)
  }`;
}

/**
 * Adds an address. Equivalent to: `ip addr add 10.0.0.1/24 dev eth0`, or with `nodad`:
 * `ip -6 addr add fd00::2/64 dev eth0 nodad`.
 */
export function addrAdd(r: Requester, spec: AddrSpec): void {
  r.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body(spec), {
    op: "add",
    object: "address",
    target: target(spec),
  });
}

/** Removes an address. Equivalent to: `ip addr del 10.0.0.1/24 dev eth0`. */
export function addrDel(r: Requester, spec: AddrSpec): void {
  r.request(RTM_DELADDR, 0, body(spec), { op: "delete", object: "address", target: target(spec) });
}

/** An address as the kernel reports it. */
export interface Addr {
  index: number;
  family: number;
  address: string;
  prefix: number;
  scope: number;
  label: string;
  attrs: Attr[];
}

/** Turns an `RTM_NEWADDR` message into an {@link Addr}. */
export function parseAddr(m: Message): Addr | null {
  if (m.body.kind !== "addr") return null;
  const { msg, attrs: list } = m.body;
  return {
    index: msg.index,
    family: msg.family,
    address: String(attrValue(list, "local") ?? attrValue(list, "address") ?? ""),
    prefix: msg.prefixlen,
    scope: msg.scope,
    label: String(attrValue(list, "label") ?? ""),
    attrs: list,
  };
}

/** Every address of the handle's namespace (`family` 0: IPv4 and IPv6). Equivalent to: `ip addr show`. */
export function addrList(h: NetlinkHandle, family = AF_UNSPEC): Addr[] {
  return h.query(
    RTM_GETADDR,
    NLM_F_DUMP,
    { kind: "addr", msg: { family, prefixlen: 0, flags: 0, scope: 0, index: 0 }, attrs: [] },
    { op: "dump", object: "addresses", target: "" },
  ).map(parseAddr).filter((a): a is Addr => a !== null);
}
