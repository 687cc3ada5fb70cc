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
import {
  testContainer,
  testEndpoint,
  testHost,
  testModel,
  testNetwork,
  testPort,
} from "../../model/_testkit.ts";

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

/** Builds a valid-enough {@link Model} with hosts `h1` (10.77.0.11) and `h2` (10.77.0.12). */
export function fwModel(networks: FwNetwork[], containers: FwContainer[], lab = "lab"): Model {
  const nets: Network[] = networks.map((n) => {
    const driver = n.driver ?? "bridge";
    const hasSubnet = driver !== "host" && driver !== "none";
    return testNetwork(n.name, driver, {
      internal: n.internal ?? false,
      subnet: hasSubnet ? n.subnet : "",
      prefix: hasSubnet ? Number(n.subnet.split("/")[1]) : 0,
      gateway: hasSubnet ? n.subnet.replace(/\.0\/\d+$/, ".1") : "",
      ipRange: n.subnet,
      isDefault: n.name === "default",
      bridge: n.bridge ?? (driver === "bridge" || driver === "overlay" ? `br-${n.name}` : ""),
      mtu: driver === "overlay" ? 1450 : 1500,
      driverOpts: n.driverOpts ?? {},
      vxlan: driver === "overlay" ? { vni: 4096, port: 4789, device: `vx-${n.name}` } : null,
      macvlan: driver === "macvlan"
        ? { parent: "eth0", vlan: null, mode: "bridge", hostShim: false }
        : null,
      hosts: n.hosts ?? ["h1"],
    });
  });
  const ctrs: Container[] = containers.map((c) => {
    const endpoints = (c.endpoints ?? []).map((e, i) => {
      const net = nets.find((n) => n.name === e.network)!;
      return testEndpoint(e.network, e.address, {
        ifname: `eth${i}`,
        hostIfname: `v${c.name}${i}`,
        prefix: net.prefix,
        gateway: net.internal ? "" : net.gateway,
        mtu: net.mtu,
      });
    });
    const ports: PublishedPort[] = (c.ports ?? []).map((p) =>
      testPort(p.hostPort, p.containerPort, {
        hostIp: p.hostIp ?? "0.0.0.0",
        protocol: p.protocol ?? "tcp",
      })
    );
    return testContainer(c.name, {
      host: c.host ?? "h1",
      netns: `${lab}-${c.name}`,
      mode: c.mode ?? { kind: "own" },
      endpoints,
      ports,
      defaultEndpoint: c.defaultEndpoint ?? (endpoints.length > 0 ? 0 : -1),
    });
  });
  return testModel(lab, {
    hosts: ["h1", "h2"].map((name, i) =>
      testHost(lab, name, i, { mac: `02:00:00:00:00:${11 + i}` })
    ),
    networks: nets,
    containers: ctrs,
  });
}
