/**
 * The resolved lab model: a topology file after parsing, validation and IPAM.
 *
 * Everything downstream (plan, DNS records, checks) reads this shape and nothing else. It is pure
 * data: JSON-serialisable, deterministic for a given file, and free of kernel state.
 *
 * @module
 */

/** Where a value came from in the topology file; defined beside the errors that carry it. */
export type { SourcePos } from "../errors.ts";
import type { SourcePos } from "../errors.ts";

/** Network drivers nslab builds. */
export type Driver = "bridge" | "host" | "none" | "overlay" | "macvlan";

/** Transport protocols a port can be published on. */
export type Protocol = "tcp" | "udp" | "sctp";

/** A simulated machine: a namespace `<lab>-<host>` with `eth0` on the underlay. */
export interface Host {
  name: string;
  /** Namespace name, `<lab>-<host>`. */
  netns: string;
  /** Underlay address, e.g. `10.77.0.11`. */
  address: string;
  /** MAC of the host's `eth0` on the underlay (deterministic). */
  mac: string;
  /** Interface name of the host's cable end inside the underlay namespace. */
  underlayIfname: string;
  /** Impairments of the host's underlay link (`nslab impair H`); absent: none. */
  impair?: ImpairSpec;
  /**
   * On real machines, the interface this host's part binds to (`up --only-host`; the flag
   * `--underlay-dev` wins). Absent when the file does not say; a whole-lab `up` ignores it.
   */
  underlayDev?: string;
  /** The Kubernetes node that runs this host's part (`nslab k8s`; `--node` wins). */
  node?: string;
}

/** The L2 segment joining the hosts ("the physical network"), in namespace `<lab>-underlay`. */
export interface Underlay {
  netns: string;
  /** e.g. `10.77.0.0/24`. */
  subnet: string;
  prefix: number;
  /** Bridge inside the underlay namespace. */
  bridge: string;
  /** The optional uplink from the machine's root namespace; null with `--no-uplink`. */
  uplink: Uplink | null;
}

/** One veth from the root namespace into the underlay bridge, carrying the lab name. */
export interface Uplink {
  /** Root-namespace side, e.g. `nsl-shop` (≤ 15 bytes). */
  rootIfname: string;
  /** Underlay-namespace side. */
  underlayIfname: string;
  /** Address of the root side on the underlay subnet, e.g. `10.77.0.254`. */
  address: string;
}

/** One network, as declared plus IPAM results. */
export interface Network {
  name: string;
  driver: Driver;
  /** bridge/macvlan: each host has its own L2 domain; overlay: one across hosts. */
  scope: "local" | "global";
  internal: boolean;
  /** false for host/none. */
  hasSubnet: boolean;
  /**
   * `false` for an IPv6-only network (Docker's `EnableIPv4: false`): `subnet`, `gateway` and
   * `ipRange` are empty, `prefix` 0, its endpoints have no `address`. Absent: IPv4 is on.
   */
  enableIpv4?: false;
  /** e.g. `172.20.0.0/24`; empty for host/none and IPv6-only networks. */
  subnet: string;
  prefix: number;
  /** Gateway address (bridge: on the host's bridge; overlay: none is used, still reserved). */
  gateway: string;
  /** Allocation range inside the subnet (defaults to the subnet). */
  ipRange: string;
  /** true for Docker's default bridge network `bridge` (docker0). */
  isDefault: boolean;
  /**
   * The name Docker gives the network: `<project>_<key>` (`shop_default` for the project
   * network `default`), the `name:` of the file, or the key for predefined ones.
   */
  dockerName?: string;
  /**
   * Set for an `external: true` network that another lab on the machine owns: its bridge lives in
   * that lab's host namespace, and this lab's endpoints are veths whose host end sits there.
   */
  external?: ExternalNetwork;
  /** Bridge device name on each host (bridge and overlay drivers), e.g. `docker0`, `br-front`. */
  bridge: string;
  mtu: number;
  enableIpv6: boolean;
  /** The IPv6 side when `enableIpv6` (Docker's `EnableIPv6`); absent otherwise. */
  ipv6?: Ipv6Network;
  encrypted: boolean;
  /** Verbatim driver_opts from the file. */
  driverOpts: Record<string, string>;
  /** Overlay: VXLAN id, UDP port, device name. */
  vxlan: { vni: number; port: number; device: string } | null;
  /** macvlan: parent link (on each host), 802.1Q id when the parent is `eth0.<vid>`, mode. */
  macvlan:
    | {
      parent: string;
      vlan: number | null;
      mode: "bridge" | "private" | "vepa" | "passthru";
      hostShim: boolean;
    }
    | null;
  /** Hosts on which this network exists (has members, or is `default`). */
  hosts: string[];
  pos: SourcePos;
}

/** A network's IPv6 subnet, gateway and allocation range. */
export interface Ipv6Network {
  /** e.g. `fd3c:51a2:9e07::/64`. */
  subnet: string;
  prefix: number;
  /** Gateway on the bridge ("" for macvlan without one). */
  gateway: string;
  /** Allocation range inside the subnet (defaults to the subnet). */
  ipRange: string;
  /** true when the subnet is a /64 of the lab's ULA /48 (`Model.ula`), not from the file. */
  fromUla: boolean;
}

/** An endpoint's IPv6 address on a network with IPv6. */
export interface Ipv6Endpoint {
  address: string;
  prefix: number;
  /** Gateway this endpoint may route through ("" when none, or the network is internal). */
  gateway: string;
}

/** A published port after syntax expansion (one entry per port of a range). */
export interface PublishedPort {
  /** `0.0.0.0` when not bound to an address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  /** Long-form `name`, used for SRV records. */
  name: string | null;
  /** true when the file gave no host port and nslab chose one from Docker's range. */
  random: boolean;
}

/** An exposed (not published) container port. */
export interface ExposedPort {
  port: number;
  protocol: Protocol;
}

/** A container's attachment to one network. */
export interface Endpoint {
  network: string;
  /** Interface name inside the container, `eth0`, `eth1`, … in network order. */
  ifname: string;
  /** Host-side name of the veth (bridge/overlay) — empty for macvlan. */
  hostIfname: string;
  /** The IPv4 address; absent on an IPv6-only network (then `ipv6` is set). */
  address?: string;
  /** Prefix length of `address`; absent with it. */
  prefix?: number;
  mac: string;
  /** Gateway this endpoint may route through ("" when the network has none, or is internal). */
  gateway: string;
  aliases: string[];
  mtu: number;
  /** `gw_priority` when not 0: the highest carries the default route. */
  gwPriority?: number;
  /** The IPv6 address when the network has IPv6 (Docker's `IPv6Address`). */
  ipv6?: Ipv6Endpoint;
  /** Impairments of this endpoint (`delay`, `loss`, … on the attachment); absent: none. */
  impair?: ImpairSpec;
}

/** How a container gets its network stack. */
export type NetworkMode =
  | { kind: "own" }
  | { kind: "host" }
  | { kind: "none" }
  | { kind: "container"; of: string };

/** One line of a container's `/etc/hosts` from `extra_hosts` or `links`. */
export interface ExtraHost {
  name: string;
  /** An IPv4/IPv6 address (`host-gateway` is resolved to docker0's address, as Docker does). */
  address: string;
}

/** A container's `dns`, `dns_search` and `dns_opt` (Compose). */
export interface ContainerDns {
  /** Servers names outside the lab go to (Docker's embedded DNS forwards to these). */
  servers: string[];
  search: string[];
  options: string[];
}

/** A container (one replica of a service, or a single container). */
export interface Container {
  /** Unique name: `web`, or `api-1`, `api-2` for replicas. */
  name: string;
  /** Service name from the file (equals `name` when not replicated). */
  service: string;
  /** 1-based replica number, or null when the service has one container and no `deploy`. */
  replica: number | null;
  host: string;
  /** Namespace holding this container's network stack (host's for `host`, X's for `container:X`). */
  netns: string;
  mode: NetworkMode;
  hostname: string;
  endpoints: Endpoint[];
  ports: PublishedPort[];
  expose: ExposedPort[];
  command: string[] | null;
  environment: Record<string, string>;
  runtime: "netns" | "docker";
  image: string | null;
  restart: "no" | "always" | "on-failure" | "unless-stopped";
  /** Index of the endpoint carrying the default route, or -1. */
  defaultEndpoint: number;
  /**
   * Index of the endpoint carrying the IPv6 default route when it is not `defaultEndpoint`: an
   * IPv6-only network chosen for IPv6 while IPv4 goes out elsewhere (Docker 28 chooses each
   * family's gateway on its own). Absent: `defaultEndpoint` carries both.
   */
  defaultEndpoint6?: number;
  pos: SourcePos;
  /**
   * The name Docker Compose gives this container: `<project>-<service>-<n>`, or its
   * `container_name`. A DNS name on its user networks, like `name`.
   */
  composeName?: string;
  /** `domainname` (Compose). */
  domainname?: string;
  /** Extra `/etc/hosts` lines: `extra_hosts`, then `links` entries over docker0 (legacy links). */
  extraHosts?: ExtraHost[];
  /**
   * `links` over a user network: names only this container's embedded DNS answers (Docker's
   * rule), with the linked container's address on the first network they share.
   */
  links?: ExtraHost[];
  /** `dns`, `dns_search`, `dns_opt`. */
  dns?: ContainerDns;
}

/** Expected outcome of an explicit check. */
export type CheckExpect =
  | { kind: "open" }
  | { kind: "closed" }
  | { kind: "unreachable" }
  | { kind: "answeredBy"; container: string }
  | { kind: "addresses"; addresses: string[] }
  | { kind: "nxdomain" };

/** An explicit check from the file's `checks:`. */
export type CheckSpec =
  | {
    kind: "reach";
    from: string; // container name, host name, or "outside"
    /** `name:port`, `ip:port`, `name` (ICMP) */
    to: string;
    protocol: Protocol | "icmp";
    expect: CheckExpect;
    pos: SourcePos;
  }
  | {
    kind: "dns";
    from: string;
    name: string;
    type: "A" | "AAAA" | "PTR" | "SRV";
    expect: CheckExpect;
    pos: SourcePos;
  };

/** A non-fatal finding, reported once (ignored Compose keys, discarded ports, …). */
export interface Warning {
  pos: SourcePos;
  message: string;
}

/** The whole resolved lab. */
export interface Model {
  /** Lab name: namespaces are `<lab>-…`. */
  lab: string;
  file: string;
  underlay: Underlay;
  hosts: Host[];
  networks: Network[];
  containers: Container[];
  checks: CheckSpec[];
  dns: { upstream: string[]; ttl: number };
  /** The lab's ULA /48 (from the lab name) when a network took an IPv6 /64 of it. */
  ula?: string;
  warnings: Warning[];
  /**
   * Set when automatic choices (the underlay /24) were made against a snapshot of the machine
   * (`LoadOptions.machine`), so `up` may make them again against the machine as it is then;
   * absent when the caller fixed `reserved`.
   */
  chosenOnMachine?: true;
  /** Measured checks (`expect: { rtt, loss, rate }`); absent: none. */
  measures?: MeasureSpec[];
  /** Partitions in force (`nslab partition`); absent or empty: none. */
  partitions?: Partition[];
  /**
   * Set when the file is a Compose file (its containers under `services:`): names Docker gives
   * (PTR answers `<compose name>.<Docker network name>`) apply where nslab's own format keeps its own.
   */
  compose?: true;
}

/** Where an external network lives: the lab that owns it, its key there, its bridge's namespace. */
export interface ExternalNetwork {
  lab: string;
  /** The network's key in the owning lab's model. */
  network: string;
  /** The owning lab's host namespace holding the bridge. */
  netns: string;
  bridge: string;
}

/**
 * A network of a lab on the machine that another lab may join as `external: true` (read from
 * `/run/nslab` by `core/lab/shared.ts`, passed to the loader as part of the machine).
 */
export interface SharedNetwork extends ExternalNetwork {
  /** Its Docker name (what `external:` names). */
  name: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  mtu: number;
  /** Addresses in use on it: the owner's endpoints and other labs' (IPAM skips them). */
  taken: string[];
}

/** Traffic between any two of `groups` is dropped; inside a group it is untouched. */
export interface Partition {
  /** Numbered from 1 in the order they were made; `heal` of one partition names it. */
  id: number;
  /** Container, service, network or host names, one list per group. */
  groups: string[][];
}

/**
 * What is wrong with one link, applied to both directions of its traffic. Absent fields: not
 * impaired. Every value is normalised (milliseconds, percent, bits per second).
 */
export interface ImpairSpec {
  /** Added one-way delay in each direction, ms. */
  delayMs?: number;
  /** ± this many ms of uniform random variation around `delayMs` (order is kept). */
  jitterMs?: number;
  /** Share of packets dropped in each direction, percent (0–100). */
  lossPct?: number;
  /** Rate limit in each direction, bits per second. */
  rateBit?: number;
  /** The link is down (no carrier on the container's side). */
  down?: boolean;
}

/** What a measured check measures. */
export type Metric = "rtt" | "loss" | "rate";

/** One measured expectation: the value seen must lie in `[min, max]`. */
export interface MeasureSpec {
  from: string;
  /** A container, a host, or an IPv4 address. */
  to: string;
  metric: Metric;
  /** ms (rtt), percent (loss), bit/s (rate). */
  min: number;
  max: number;
  /** As written, e.g. `>= 50ms`. */
  text: string;
  pos: SourcePos;
}
