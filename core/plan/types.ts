/**
 * The plan: every kernel object a lab will have, per namespace, as plain data.
 *
 * `plan` prints it, `apply` executes it in order and journals it, `down` reverses it. The plan is
 * a pure function of the {@link Model}: same file → byte-identical plan.
 *
 * @module
 */

import type { ImpairSpec, Protocol } from "../model/types.ts";

/** Name of a namespace; `""` means the machine's root namespace. */
export type NsName = string;

/** A link to create. Links are created in the order given, within their namespace. */
export type LinkPlan =
  | {
    kind: "bridge";
    name: string;
    mtu?: number;
    mac?: string;
  }
  | {
    /** Created in `ns` with its peer created directly in `peer.ns`. */
    kind: "veth";
    name: string;
    mtu?: number;
    mac?: string;
    /** Bridge (in this namespace) to enslave this end to. */
    master?: string;
    /**
     * Hairpin mode on this bridge port, as Docker sets it without the userland proxy: a container
     * reaching its own published port is bridged back out the port it came in on (needed when
     * br_netfilter sends bridged traffic through iptables).
     */
    hairpin?: boolean;
    peer: { name: string; ns: NsName; mac?: string; mtu?: number; master?: string };
  }
  | {
    kind: "vxlan";
    name: string;
    vni: number;
    /** Local VTEP address. */
    local: string;
    /** UDP destination port. */
    port: number;
    /** Underlay device the tunnel rides on. */
    dev: string;
    learning: false;
    /** Answer ARP for known peers from the device's neighbour table (Docker's overlay does). */
    proxy: boolean;
    mtu: number;
    master?: string;
  }
  | {
    /** Created on `parent` (in this namespace) and moved at creation into `targetNs`. */
    kind: "macvlan";
    name: string;
    parent: string;
    mode: "bridge" | "private" | "vepa" | "passthru";
    targetNs: NsName;
    mac?: string;
    mtu?: number;
  }
  | {
    kind: "vlan";
    name: string;
    parent: string;
    id: number;
  };

/** An address to add (`ip addr add ADDRESS/PREFIX dev DEV`). */
export interface AddrPlan {
  dev: string;
  address: string;
  prefix: number;
  /** IPv6: no duplicate address detection (`nodad`), so the address works at once. */
  nodad?: true;
}

/** A route (`ip route replace DST [via GW] dev DEV`). `dst` is `default` or a CIDR. */
export interface RoutePlan {
  dst: string;
  via?: string;
  dev: string;
  /** Preferred source address (`src`), e.g. for routes through a macvlan shim. */
  src?: string;
}

/** A permanent neighbour entry (`ip neigh replace IP lladdr MAC dev DEV nud permanent`). */
export interface NeighPlan {
  dev: string;
  address: string;
  mac: string;
}

/** A bridge FDB entry on a VXLAN device (`bridge fdb append MAC dev DEV dst DST self permanent`). */
export interface FdbPlan {
  dev: string;
  mac: string;
  dst: string;
}

/** Desired state of one namespace. */
export interface NamespacePlan {
  name: NsName;
  role: "underlay" | "host" | "container";
  /** Owner: host name for hosts, container name for containers, "" for the underlay. */
  owner: string;
  /** sysctls relative to /proc/sys, e.g. `net/ipv4/ip_forward` → `1`. Set right after creation. */
  sysctls: Record<string, string>;
  links: LinkPlan[];
  /** Links brought up after creation (always includes `lo`). */
  up: string[];
  addrs: AddrPlan[];
  routes: RoutePlan[];
  neighs: NeighPlan[];
  fdb: FdbPlan[];
}

/** One host's firewall, applied with one `iptables-restore --noflush`. */
export interface FirewallPlan {
  netns: NsName;
  /** iptables-restore input (all tables), Docker's chain layout. */
  rules: string;
  /** Set for the IPv6 ruleset (ip6tables-restore); absent for IPv4. */
  family?: "ipv6";
}

/** An IPsec ESP transport-mode SA/policy pair between two VTEPs (generated, never applied here). */
export interface XfrmPlan {
  netns: NsName;
  network: string;
  src: string;
  dst: string;
  spi: number;
  proto: "esp";
  mode: "transport";
  aead: "rfc4106(gcm(aes))";
  /** Selector: the VXLAN UDP port. */
  port: number;
}

/** What the supervisor must listen on / run for one container. */
export interface ProcessPlan {
  container: string;
  netns: NsName;
  /** Null: nslab's responder answers on `listen`. */
  command: string[] | null;
  environment: Record<string, string>;
  hostname: string;
  restart: "no" | "always" | "on-failure" | "unless-stopped";
  /** Ports the responder (or the command) listens on. */
  listen: { port: number; protocol: Protocol }[];
  /** Where DNS must be served (127.0.0.11:53 in this namespace); false for none/host. */
  dns: boolean;
  /** Files for `/etc/netns/<netns>/` (resolv.conf, hosts). */
  files: Record<string, string>;
}

/** The full plan of a lab. */
export interface Plan {
  lab: string;
  /** Objects in the root namespace (only the uplink veth, whose peer goes to the underlay). */
  root: { links: LinkPlan[]; addrs: AddrPlan[]; routes: RoutePlan[]; up: string[] };
  /** In creation order: underlay, hosts, containers (a container's namespace after its host's). */
  namespaces: NamespacePlan[];
  firewall: FirewallPlan[];
  xfrm: XfrmPlan[];
  processes: ProcessPlan[];
  /** Impairments (core/plan/impair.ts); absent when nothing is impaired. */
  impair?: ImpairPlan;
}

/** One end of an impaired link. */
export interface LinkEnd {
  ns: NsName;
  dev: string;
}

/** One impaired link (an endpoint's veth pair, or a host's cable to the underlay). */
export interface ImpairLinkPlan {
  /** `CONTAINER:NETWORK` for an endpoint, the host name for a host's underlay link. */
  name: string;
  kind: "endpoint" | "host";
  /** The end inside the container (or host) namespace. */
  inner: LinkEnd;
  /** The end on the bridge: `bridge` is its master there, `hairpin` its port setting. */
  outer: LinkEnd & { bridge: string; hairpin: boolean; mtu: number };
  spec: ImpairSpec;
  /** The relay veth pair (both ends in `outer.ns`) when the spec delays; `peer` joins the bridge. */
  relay: { dev: string; peer: string } | null;
}

/** The impairment rules of one namespace (iptables `mangle`, chains NSLAB-IMPAIR-IN/OUT). */
export interface ImpairRulesPlan {
  netns: NsName;
  /** Rule bodies of `-A NSLAB-IMPAIR-IN …` (incoming, from PREROUTING). */
  in: string[];
  /** Rule bodies of `-A NSLAB-IMPAIR-OUT …` (outgoing, from POSTROUTING). */
  out: string[];
  /** The same chains in ip6tables, present only when the namespace has IPv6 (a container on a network with `enable_ipv6`). */
  in6?: string[];
  /** Outgoing ip6tables rules; present exactly when `in6` is. */
  out6?: string[];
}

/** The whole section. */
export interface ImpairPlan {
  links: ImpairLinkPlan[];
  rules: ImpairRulesPlan[];
}
