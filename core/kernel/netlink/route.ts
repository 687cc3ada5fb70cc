/**
 * Route verbs (`ip route …`): add, replace, delete, and dump into typed {@link Route} objects.
 *
 * @module
 */

import {
  AF_INET,
  AF_INET6,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTPROT_BOOT,
} from "./constants.ts";
import { type Attr, attrs, attrValue, type Message, ROUTE_ATTRS, type RtMsg } from "./codec.ts";
import type { NetlinkHandle, Requester } from "./client.ts";

/** A unicast route in the main table. */
export interface RouteSpec {
  /** `default` or a CIDR such as `10.0.0.0/24`. */
  dst: string;
  /** Gateway address (absent: a device route, scope link). */
  via?: string;
  /** ifindex of the output device. */
  index: number;
  /** Preferred source address. */
  src?: string;
  /** Device name, for error messages only. */
  dev?: string;
}

/** Splits `default` / `a.b.c.d/n` into address and prefix length. */
export function parseDst(
  dst: string,
  v6: boolean,
): { address: string | undefined; prefix: number } {
  if (dst === "default") return { address: undefined, prefix: 0 };
  const [address, len] = dst.split("/");
  const prefix = len === undefined ? (v6 ? 128 : 32) : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (v6 ? 128 : 32)) {
    throw new Error(`Invalid route destination ${JSON.stringify(dst)}`);
  }
  return { address, prefix };
}

function body(spec: RouteSpec) {
  const v6 = spec.dst.includes(":") || (spec.via ?? "").includes(":");
  const { address, prefix } = parseDst(spec.dst, v6);
  const msg: RtMsg = {
    family: v6 ? AF_INET6 : AF_INET,
    dstLen: prefix,
    srcLen: 0,
    tos: 0,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_BOOT,
    scope: spec.via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
    type: RTN_UNICAST,
    flags: 0,
  };
  return {
    kind: "route" as const,
    msg,
    attrs: attrs(ROUTE_ATTRS, {
      dst: address,
      gateway: spec.via,
      prefsrc: spec.src,
      oif: spec.index,
    }),
  };
}

function target(spec: RouteSpec): string {
  const via = spec.via ? ` via ${spec.via}` : "";
  return `"${spec.dst}${via}" on ${JSON.stringify(spec.dev ?? `ifindex ${spec.index}`)}`;
}

/** Adds a route; fails when it exists. Equivalent to: `ip route add default via 10.0.0.1 dev eth0`. */
export function routeAdd(r: Requester, spec: RouteSpec): void {
  r.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body(spec), {
    op: "add",
    object: "route",
    target: target(spec),
  });
}

/** Adds or replaces a route. Equivalent to: `ip route replace 10.1.0.0/24 dev eth1 src 10.0.0.2`. */
export function routeReplace(r: Requester, spec: RouteSpec): void {
  r.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body(spec), {
    op: "replace",
    object: "route",
    target: target(spec),
  });
}

/** Deletes a route. Equivalent to: `ip route del DST [via GW] dev DEV`. */
export function routeDel(r: Requester, spec: RouteSpec): void {
  r.request(RTM_DELROUTE, 0, body(spec), { op: "delete", object: "route", target: target(spec) });
}

/** A route as the kernel reports it. */
export interface Route {
  family: number;
  /** `default` or `a.b.c.d/n`. */
  dst: string;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  gateway: string;
  /** Output ifindex (0: none). */
  oif: number;
  prefsrc: string;
  attrs: Attr[];
}

/** Turns an `RTM_NEWROUTE` message into a {@link Route}. */
export function parseRoute(m: Message): Route | null {
  if (m.body.kind !== "route") return null;
  const { msg, attrs: list } = m.body;
  const dst = attrValue(list, "dst");
  return {
    family: msg.family,
    dst: dst === undefined && msg.dstLen === 0 ? "default" : `${dst}/${msg.dstLen}`,
    table: Number(attrValue(list, "table") ?? msg.table),
    protocol: msg.protocol,
    scope: msg.scope,
    type: msg.type,
    gateway: String(attrValue(list, "gateway") ?? ""),
    oif: Number(attrValue(list, "oif") ?? 0),
    prefsrc: String(attrValue(list, "prefsrc") ?? ""),
    attrs: list,
  };
}

/** Every route of every table (`family` AF_INET by default). Equivalent to: `ip route show table all`. */
export function routeList(h: NetlinkHandle, family = AF_INET): Route[] {
  const msg: RtMsg = {
    family,
    dstLen: 0,
    srcLen: 0,
    tos: 0,
    table: 0,
    protocol: 0,
    scope: 0,
    type: 0,
    flags: 0,
  };
  return h.query(RTM_GETROUTE, NLM_F_DUMP, { kind: "route", msg, attrs: [] }, {
    op: "dump",
    object: "routes",
    target: "",
  }).map(parseRoute).filter((r): r is Route => r !== null);
}
