/**
 * Hand-built {@link Model}s for firewall tests (the topology parser is not needed to test rules).
 *
 * @module
 */

import type {
  Container,
  Driver,
  Model,
  Network,
  NetworkMode,
  Protocol,
  PublishedPort,
} from "../../model/types.ts";

/** A network in the compact test description. */
export interface FwNetwork {
  name: string;
  subnet: string;
  driver?: Driver;
  internal?: boolean;
  bridge?: string;
  /** Hosts it exists on (default `["h1"]`). */
  hosts?: string[];
  driverOpts?: Record<string, string>;
}

/** A published port in the compact test description. */
export interface FwPort {
  hostPort: number;
  containerPort: number;
  protocol?: Protocol;
  hostIp?: string;
}

/** A container in the compact test description. */
export interface FwContainer {
  name: string;
  host?: string;
  mode?: NetworkMode;
  /** Network name → address. */
  endpoints?: { network: string; address: string }[];
  ports?: FwPort[];
  /** Index of the endpoint with the default route (default 0, or -1 without endpoints). */
  defaultEndpoint?: number;
}

const pos = { file: "test.yaml", line: 1, col: 1 };

/** Builds a valid-enough {@link Model} with hosts `h1` (10.77.0.11) and `h2` (10.77.0.12). */
export function fwModel(networks: FwNetwork[], containers: FwContainer[], lab = "lab"): Model {
  const nets: Network[] = networks.map((n) => {
    const driver = n.driver ?? "bridge";
    const hasSubnet = driver !== "host" && driver !== "none";
    return {
      name: n.name,
      driver,
      scope: driver === "overlay" ? "global" : "local",
      internal: n.internal ?? false,
      hasSubnet,
      subnet: hasSubnet ? n.subnet : "",
      prefix: hasSubnet ? Number(n.subnet.split("/")[1]) : 0,
      gateway: hasSubnet ? n.subnet.replace(/\.0\/\d+$/, ".1") : "",
      ipRange: n.subnet,
      isDefault: n.name === "default",
      bridge: n.bridge ?? (driver === "bridge" || driver === "overlay" ? `br-${n.name}` : ""),
      mtu: driver === "overlay" ? 1450 : 1500,
      enableIpv6: false,
      encrypted: false,
      driverOpts: n.driverOpts ?? {},
      vxlan: driver === "overlay" ? { vni: 4096, port: 4789, device: `vx-${n.name}` } : null,
      macvlan: driver === "macvlan"
        ? { parent: "eth0", vlan: null, mode: "bridge", hostShim: false }
        : null,
      hosts: n.hosts ?? ["h1"],
      pos,
    };
  });
  const ctrs: Container[] = containers.map((c) => {
    const endpoints = (c.endpoints ?? []).map((e, i) => {
      const net = nets.find((n) => n.name === e.network)!;
      return {
        network: e.network,
        ifname: `eth${i}`,
        hostIfname: `v${c.name}${i}`,
        address: e.address,
        prefix: net.prefix,
        mac: "02:42:00:00:00:00",
        gateway: net.internal ? "" : net.gateway,
        aliases: [],
        mtu: net.mtu,
      };
    });
    const ports: PublishedPort[] = (c.ports ?? []).map((p) => ({
      hostIp: p.hostIp ?? "0.0.0.0",
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: p.protocol ?? "tcp",
      name: null,
      random: false,
    }));
    return {
      name: c.name,
      service: c.name,
      replica: null,
      host: c.host ?? "h1",
      netns: `${lab}-${c.name}`,
      mode: c.mode ?? { kind: "own" },
      hostname: c.name,
      endpoints,
      ports,
      expose: [],
      command: null,
      environment: {},
      runtime: "netns",
      image: null,
      restart: "no",
      defaultEndpoint: c.defaultEndpoint ?? (endpoints.length > 0 ? 0 : -1),
      pos,
    };
  });
  return {
    lab,
    file: "test.yaml",
    underlay: {
      netns: `${lab}-underlay`,
      subnet: "10.77.0.0/24",
      prefix: 24,
      bridge: "br0",
      uplink: null,
    },
    hosts: ["h1", "h2"].map((name, i) => ({
      name,
      netns: `${lab}-${name}`,
      address: `10.77.0.${11 + i}`,
      mac: `02:00:00:00:00:${11 + i}`,
      underlayIfname: name,
    })),
    networks: nets,
    containers: ctrs,
    checks: [],
    dns: { upstream: [], ttl: 600 },
    warnings: [],
  };
}
