/**
 * Link verbs (`ip link …`): add veth/bridge/vxlan/macvlan/vlan, set, delete, and dump into typed
 * {@link Link} objects. Devices are referred to by ifindex (a number) or by name (a string); the
 * kernel resolves names itself for link requests (`IFLA_IFNAME`).
 *
 * @module
 */

import {
  AF_BRIDGE,
  AF_UNSPEC,
  IFF_LOWER_UP,
  IFF_UP,
  MACVLAN_MODES,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
} from "./constants.ts";
import {
  type Attr,
  type AttrInput,
  attrs,
  attrValue,
  encodeIfInfo,
  findAttr,
  type IfInfoMsg,
  LINK_ATTRS,
  type Message,
} from "./codec.ts";
import type { NetlinkHandle, Requester } from "./client.ts";
import type { RequestInfo } from "./errors.ts";

/** A device: its ifindex in the requester's namespace, or its name there. */
export type LinkRef = number | string;

/** Common options of every new link. */
export interface LinkCommon {
  name: string;
  /** Requested ifindex (0 or absent: the kernel picks). Lets a batch refer to links not yet made. */
  index?: number;
  mtu?: number;
  mac?: string;
  /** ifindex of a bridge in the same namespace to enslave to at creation. */
  master?: number;
  /** fd of a namespace to create the link in directly (instead of the requester's). */
  netnsFd?: number;
  /** Bring the link up at creation. */
  up?: boolean;
}

/** The link kinds nslab creates. */
export type LinkSpec =
  | LinkCommon & { kind: "bridge" }
  | LinkCommon & {
    kind: "veth";
    /** The other end, created directly in the namespace `peer.netnsFd` (or alongside). */
    peer: { name: string; index?: number; netnsFd?: number; mac?: string; mtu?: number };
  }
  | LinkCommon & {
    kind: "vxlan";
    vni: number;
    local?: string;
    /** ifindex of the underlay device. */
    dev?: number;
    port?: number;
    learning?: boolean;
    proxy?: boolean;
  }
  | LinkCommon & {
    kind: "macvlan";
    /** ifindex of the parent, in the requester's namespace. */
    parent: number;
    mode: keyof typeof MACVLAN_MODES;
  }
  | LinkCommon & { kind: "vlan"; parent: number; id: number };

function ifinfo(index = 0, up?: boolean): IfInfoMsg {
  return {
    family: AF_UNSPEC,
    type: 0,
    index,
    flags: up ? IFF_UP : 0,
    change: up === undefined ? 0 : IFF_UP,
  };
}

function ref(r: LinkRef): { index: number; byName: string | undefined } {
  return typeof r === "number" ? { index: r, byName: undefined } : { index: 0, byName: r };
}

function kindData(spec: LinkSpec): AttrInput | undefined {
  switch (spec.kind) {
    case "bridge":
      return undefined;
    case "veth": {
      const p = spec.peer;
      const peerAttrs = attrs(LINK_ATTRS, {
        ifname: p.name,
        mtu: p.mtu,
        address: p.mac,
        net_ns_fd: p.netnsFd,
      });
      return { peer: encodeIfInfo(ifinfo(p.index ?? 0), peerAttrs) };
    }
    case "vxlan":
      return {
        id: spec.vni,
        local: spec.local,
        link: spec.dev,
        port: spec.port,
        learning: spec.learning === undefined ? undefined : spec.learning ? 1 : 0,
        proxy: spec.proxy === undefined ? undefined : spec.proxy ? 1 : 0,
      };
    case "macvlan":
      return { mode: MACVLAN_MODES[spec.mode] };
    case "vlan":
      return { id: spec.id };
  }
}

/**
 * Creates a link. The veth peer is created directly in `peer.netnsFd`'s namespace, a macvlan
 * directly in `netnsFd`'s (no move afterwards, so no window with the device in the wrong place).
 *
 * Equivalent to:
 * - `ip link add br0 type bridge`
 * - `ip link add veth0 type veth peer name eth0 netns NS`
 * - `ip link add vx0 type vxlan id 4096 local 10.0.0.1 dev eth0 dstport 4789 nolearning proxy`
 * - `ip link add link eth0 name mv0 netns NS type macvlan mode bridge`
 * - `ip link add link eth0 name eth0.50 type vlan id 50`
 */
export function linkAdd(r: Requester, spec: LinkSpec): void {
  const linkinfo: AttrInput = { kind: spec.kind, data: kindData(spec) };
  const parent = spec.kind === "macvlan" || spec.kind === "vlan" ? spec.parent : undefined;
  const list = attrs(LINK_ATTRS, {
    ifname: spec.name,
    mtu: spec.mtu,
    address: spec.mac,
    link: parent,
    master: spec.master,
    net_ns_fd: spec.netnsFd,
    linkinfo,
  });
  r.request(
    RTM_NEWLINK,
    NLM_F_CREATE | NLM_F_EXCL,
    { kind: "link", msg: ifinfo(spec.index ?? 0, spec.up ? true : undefined), attrs: list },
    { op: "add", object: "link", target: JSON.stringify(spec.name) },
  );
}

/** What {@link linkSet} changes; absent fields are left alone. */
export interface LinkChange {
  up?: boolean;
  /** ifindex of the new master; 0 releases the link from its master. */
  master?: number;
  mtu?: number;
  mac?: string;
  /** New name. */
  name?: string;
  /** fd of the namespace to move the link into. */
  netnsFd?: number;
  /** Free-text alias (`IFLA_IFALIAS`); nslab tags its objects with `nslab:<lab>`. */
  alias?: string;
}

/**
 * Changes a link.
 * Equivalent to: `ip link set DEV up master br0 mtu 1450 address MAC name NEW netns NS alias TEXT`.
 */
export function linkSet(r: Requester, dev: LinkRef, change: LinkChange): void {
  const { index, byName } = ref(dev);
  if (byName !== undefined && change.name !== undefined) {
    throw new Error(`linkSet: renaming needs the ifindex of "${byName}", not its name`);
  }
  const list: Attr[] = attrs(LINK_ATTRS, {
    ifname: change.name ?? byName,
    mtu: change.mtu,
    address: change.mac,
    master: change.master,
    net_ns_fd: change.netnsFd,
    ifalias: change.alias,
  });
  r.request(
    RTM_NEWLINK,
    0,
    { kind: "link", msg: ifinfo(index, change.up), attrs: list },
    { op: "set", object: "link", target: JSON.stringify(byName ?? `ifindex ${index}`) },
  );
}

/**
 * Changes a bridge port's settings; the link must already be enslaved and is addressed by ifindex
 * (the kernel's AF_BRIDGE setlink takes no name).
 * Equivalent to: `bridge link set dev DEV hairpin on`.
 */
export function bridgePortSet(r: Requester, index: number, port: { hairpin: boolean }): void {
  r.request(
    RTM_SETLINK,
    0,
    {
      kind: "link",
      msg: { family: AF_BRIDGE, type: 0, index, flags: 0, change: 0 },
      attrs: attrs(LINK_ATTRS, { protinfo: { mode: port.hairpin ? 1 : 0 } }),
    },
    { op: "set", object: "bridge port", target: `ifindex ${index}` },
  );
}

/** Brings a link up. Equivalent to: `ip link set DEV up`. */
export function linkSetUp(r: Requester, dev: LinkRef): void {
  linkSet(r, dev, { up: true });
}

/** Deletes a link (a veth takes its peer with it). Equivalent to: `ip link del DEV`. */
export function linkDel(r: Requester, dev: LinkRef): void {
  const { index, byName } = ref(dev);
  r.request(
    RTM_DELLINK,
    0,
    { kind: "link", msg: ifinfo(index), attrs: attrs(LINK_ATTRS, { ifname: byName }) },
    { op: "delete", object: "link", target: JSON.stringify(byName ?? `ifindex ${index}`) },
  );
}

/** A link as the kernel reports it. */
export interface Link {
  index: number;
  name: string;
  /** `ifi_flags`. */
  flags: number;
  /** Administratively up. */
  up: boolean;
  /** Carrier present. */
  lowerUp: boolean;
  mtu: number;
  mac: string;
  /** `veth`, `bridge`, `vxlan`, `macvlan`, `vlan`, … ("" for plain devices like `lo`). */
  kind: string;
  /** ifindex of the master (0: none). */
  master: number;
  /** ifindex of the parent or peer (0: none; may be in another namespace). */
  link: number;
  alias: string;
  /** The decoded `IFLA_INFO_DATA` (vxlan id, macvlan mode, vlan id, …). */
  data: Attr[];
  /** Every attribute, for anything not lifted into fields. */
  attrs: Attr[];
}

/** Turns an `RTM_NEWLINK` message into a {@link Link}. */
export function parseLink(m: Message): Link | null {
  if (m.body.kind !== "link") return null;
  const { msg, attrs: list } = m.body;
  const info = findAttr(list, "linkinfo");
  const infoAttrs = info && info.kind === "nested" ? info.attrs : [];
  const data = findAttr(infoAttrs, "data");
  return {
    index: msg.index,
    name: String(attrValue(list, "ifname") ?? ""),
    flags: msg.flags,
    up: (msg.flags & IFF_UP) !== 0,
    lowerUp: (msg.flags & IFF_LOWER_UP) !== 0,
    mtu: Number(attrValue(list, "mtu") ?? 0),
    mac: String(attrValue(list, "address") ?? ""),
    kind: String(attrValue(infoAttrs, "kind") ?? ""),
    master: Number(attrValue(list, "master") ?? 0),
    link: Number(attrValue(list, "link") ?? 0),
    alias: String(attrValue(list, "ifalias") ?? ""),
    data: data && data.kind === "nested" ? data.attrs : [],
    attrs: list,
  };
}

const DUMP_INFO: RequestInfo = { op: "dump", object: "links", target: "" };

/** Every link of the handle's namespace. Equivalent to: `ip -d link show`. */
export function linkList(h: NetlinkHandle): Link[] {
  return h.query(RTM_GETLINK, NLM_F_DUMP, { kind: "link", msg: ifinfo(), attrs: [] }, DUMP_INFO)
    .map(parseLink)
    .filter((l): l is Link => l !== null);
}

/**
 * One link by name or index, or null when it does not exist.
 * Equivalent to: `ip -d link show DEV`.
 */
export function linkGet(h: NetlinkHandle, dev: LinkRef): Link | null {
  const { index, byName } = ref(dev);
  try {
    const msgs = h.query(
      RTM_GETLINK,
      0,
      { kind: "link", msg: ifinfo(index), attrs: attrs(LINK_ATTRS, { ifname: byName }) },
      { op: "find", object: "link", target: JSON.stringify(byName ?? `ifindex ${index}`) },
    );
    return msgs.map(parseLink).find((l) => l !== null) ?? null;
  } catch (e) {
    if (e instanceof Error && "errnoName" in e && e.errnoName === "ENODEV") return null;
    throw e;
  }
}
