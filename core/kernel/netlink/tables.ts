/**
 * The attribute tables nslab reads and writes (`IFLA_*`, `IFA_*`, `RTA_*`, `NDA_*`, …); every
 * other attribute decodes as `unknown` and survives a round trip. Data only.
 *
 * @module
 */

import { type AttrTable, table } from "./attrs.ts";

const NESTED_OPAQUE: AttrTable = { name: "opaque", attrs: {} };

/** `IFLA_VXLAN_*`. */
export const VXLAN_ATTRS = table("IFLA_VXLAN", [
  [1, "id", "u32"],
  [2, "group", "ip"],
  [3, "link", "u32"],
  [4, "local", "ip"],
  [5, "ttl", "u8"],
  [6, "tos", "u8"],
  [7, "learning", "u8"],
  [8, "ageing", "u32"],
  [9, "limit", "u32"],
  [10, "port_range", "bytes"],
  [11, "proxy", "u8"],
  [12, "rsc", "u8"],
  [13, "l2miss", "u8"],
  [14, "l3miss", "u8"],
  [15, "port", "be16"],
  [16, "group6", "ip"],
  [17, "local6", "ip"],
  [18, "udp_csum", "u8"],
  [19, "udp_zero_csum6_tx", "u8"],
  [20, "udp_zero_csum6_rx", "u8"],
  [21, "remcsum_tx", "u8"],
  [22, "remcsum_rx", "u8"],
  [23, "gbp", "flag"],
  [24, "remcsum_nopartial", "flag"],
  [25, "collect_metadata", "u8"],
  [26, "label", "u32"],
  [27, "gpe", "flag"],
  [28, "ttl_inherit", "u8"],
  [29, "df", "u8"],
  [30, "vnifilter", "u8"],
  [31, "localbypass", "u8"],
]);

/** `IFLA_MACVLAN_*`. */
export const MACVLAN_ATTRS = table("IFLA_MACVLAN", [
  [1, "mode", "u32"],
  [2, "flags", "u16"],
  [3, "macaddr_mode", "u32"],
  [4, "macaddr", "mac"],
  [5, "macaddr_data", { nested: NESTED_OPAQUE }],
  [6, "macaddr_count", "u32"],
  [7, "bc_queue_len", "u32"],
  [8, "bc_queue_len_used", "u32"],
  [9, "bc_cutoff", "s32"],
]);

/** `IFLA_VLAN_*`. */
export const VLAN_ATTRS = table("IFLA_VLAN", [
  [1, "id", "u16"],
  [2, "flags", "bytes"],
  [3, "egress_qos", { nested: NESTED_OPAQUE }],
  [4, "ingress_qos", { nested: NESTED_OPAQUE }],
  [5, "protocol", "be16"],
]);

/** `VETH_INFO_*` (the peer is an ifinfomsg plus link attributes, kept as bytes). */
export const VETH_ATTRS = table("VETH_INFO", [[1, "peer", "bytes"]]);

/** `IFLA_BR_*` (the few nslab may read). */
export const BRIDGE_ATTRS = table("IFLA_BR", [
  [1, "forward_delay", "u32"],
  [2, "hello_time", "u32"],
  [3, "max_age", "u32"],
  [4, "ageing_time", "u32"],
  [5, "stp_state", "u32"],
  [6, "priority", "u16"],
  [7, "vlan_filtering", "u8"],
  [8, "vlan_protocol", "be16"],
]);

const INFO_DATA_BY_KIND: Record<string, AttrTable> = {
  vxlan: VXLAN_ATTRS,
  macvlan: MACVLAN_ATTRS,
  vlan: VLAN_ATTRS,
  veth: VETH_ATTRS,
  bridge: BRIDGE_ATTRS,
};

/** `IFLA_INFO_*`: the data table depends on the `kind` sibling. */
export const LINKINFO_ATTRS = table("IFLA_INFO", [
  [1, "kind", "string"],
  [2, "data", { nested: (sib) => INFO_DATA_BY_KIND[String(sib("kind"))] }],
  [3, "xstats", "bytes"],
  [4, "slave_kind", "string"],
  [5, "slave_data", { nested: NESTED_OPAQUE }],
]);

/** `IFLA_*`: link attributes. */
/** `IFLA_BRPORT_*`: a bridge port's settings (in `IFLA_PROTINFO` of an AF_BRIDGE request). */
export const BRPORT_ATTRS = table("IFLA_BRPORT", [
  [1, "state", "u8"],
  [2, "priority", "u16"],
  [3, "cost", "u32"],
  [4, "mode", "u8"],
  [5, "guard", "u8"],
  [6, "protect", "u8"],
  [7, "fast_leave", "u8"],
  [8, "learning", "u8"],
  [9, "unicast_flood", "u8"],
]);

export const LINK_ATTRS = table("IFLA", [
  [1, "address", "mac"],
  [2, "broadcast", "mac"],
  [3, "ifname", "string"],
  [4, "mtu", "u32"],
  [5, "link", "u32"],
  [6, "qdisc", "string"],
  [7, "stats", "bytes"],
  [10, "master", "u32"],
  [12, "protinfo", { nested: BRPORT_ATTRS }],
  [13, "txqlen", "u32"],
  [14, "map", "bytes"],
  [16, "operstate", "u8"],
  [17, "linkmode", "u8"],
  [18, "linkinfo", { nested: LINKINFO_ATTRS }],
  [19, "net_ns_pid", "u32"],
  [20, "ifalias", "string"],
  [21, "num_vf", "u32"],
  [23, "stats64", "bytes"],
  [26, "af_spec", { nested: NESTED_OPAQUE }],
  [27, "group", "u32"],
  [28, "net_ns_fd", "s32"],
  [29, "ext_mask", "u32"],
  [30, "promiscuity", "u32"],
  [31, "num_tx_queues", "u32"],
  [32, "num_rx_queues", "u32"],
  [33, "carrier", "u8"],
  [34, "phys_port_id", "bytes"],
  [35, "carrier_changes", "u32"],
  [37, "link_netnsid", "s32"],
  [39, "proto_down", "u8"],
  [40, "gso_max_segs", "u32"],
  [41, "gso_max_size", "u32"],
  [43, "xdp", { nested: NESTED_OPAQUE }],
  [47, "carrier_up_count", "u32"],
  [48, "carrier_down_count", "u32"],
  [50, "min_mtu", "u32"],
  [51, "max_mtu", "u32"],
  [53, "alt_ifname", "string"],
  [54, "perm_address", "mac"],
  [56, "parent_dev_name", "string"],
  [57, "parent_dev_bus_name", "string"],
  [58, "gro_max_size", "u32"],
  [59, "tso_max_size", "u32"],
  [60, "tso_max_segs", "u32"],
  [61, "allmulti", "u32"],
  [63, "gso_ipv4_max_size", "u32"],
  [64, "gro_ipv4_max_size", "u32"],
]);

/** `IFA_*`: address attributes. */
export const ADDR_ATTRS = table("IFA", [
  [1, "address", "ip"],
  [2, "local", "ip"],
  [3, "label", "string"],
  [4, "broadcast", "ip"],
  [5, "anycast", "ip"],
  [6, "cacheinfo", "bytes"],
  [7, "multicast", "ip"],
  [8, "flags", "u32"],
  [9, "rt_priority", "u32"],
  [10, "target_netnsid", "s32"],
  [11, "proto", "u8"],
]);

/** `RTA_*`: route attributes. */
export const ROUTE_ATTRS = table("RTA", [
  [1, "dst", "ip"],
  [2, "src", "ip"],
  [3, "iif", "u32"],
  [4, "oif", "u32"],
  [5, "gateway", "ip"],
  [6, "priority", "u32"],
  [7, "prefsrc", "ip"],
  [8, "metrics", { nested: NESTED_OPAQUE }],
  [9, "multipath", "bytes"],
  [12, "cacheinfo", "bytes"],
  [15, "table", "u32"],
  [16, "mark", "u32"],
  [20, "pref", "u8"],
  [23, "expires", "u64"],
]);

/** `NDA_*`: neighbour (and bridge FDB) attributes. */
export const NEIGH_ATTRS = table("NDA", [
  [1, "dst", "ip"],
  [2, "lladdr", "mac"],
  [3, "cacheinfo", "bytes"],
  [4, "probes", "u32"],
  [5, "vlan", "u16"],
  [6, "port", "be16"],
  [7, "vni", "u32"],
  [8, "ifindex", "u32"],
  [9, "master", "u32"],
  [10, "link_netnsid", "s32"],
  [11, "src_vni", "u32"],
  [12, "protocol", "u8"],
  [15, "flags_ext", "u32"],
]);

/** `NLMSGERR_ATTR_*`: extended-ack attributes of an error or done message. */
export const ERR_ATTRS = table("NLMSGERR_ATTR", [
  [1, "msg", "string"],
  [2, "offs", "u32"],
  [3, "cookie", "bytes"],
  [4, "policy", { nested: NESTED_OPAQUE }],
  [5, "miss_type", "u32"],
  [6, "miss_nest", "u32"],
]);
