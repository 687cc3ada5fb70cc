/**
 * Test helper: builds a resolved {@link Model} by hand from a compact description, so the pure
 * check code can be tested without the topology parser.
 *
 * @module
 */

import type {
  Container,
  Driver,
  Endpoint,
  ExposedPort,
  Model,
  Network,
  NetworkMode,
  PublishedPort,
} from "../model/types.ts";
import {
  testContainer,
  testEndpoint,
  testHost,
  testModel,
  testNetwork,
  testPort,
} from "../model/_testkit.ts";

/** A network in the compact description. */
export interface NetSpec {
  name: string;
  driver?: Driver;
  subnet?: string;
  internal?: boolean;
  macvlanMode?: "bridge" | "private" | "vepa" | "passthru";
}

/** A container in the compact description. */
export interface CtrSpec {
  name: string;
  service?: string;
  replica?: number;
  host?: string;
  mode?: NetworkMode;
  /** network name → address (and optional aliases), in interface order. */
  nets?: [string, string, string[]?][];
  ports?: Partial<PublishedPort>[];
  expose?: ExposedPort[];
  command?: string[];
  hostname?: string;
}

/** The compact description of a lab. */
export interface LabSpec {
  lab?: string;
  hosts?: string[];
  uplink?: boolean;
  networks?: NetSpec[];
  containers: CtrSpec[];
  checks?: Model["checks"];
}

function prefixOf(subnet: string): number {
  return Number(subnet.split("/")[1] ?? 24);
}

function gatewayOf(subnet: string): string {
  const [base] = subnet.split("/");
  const o = base.split(".").map(Number);
  o[3] += 1;
  return o.join(".");
}

/** Builds a Model: hosts get 10.77.0.11, .12, …; networks default to bridge /24s. */
export function buildModel(spec: LabSpec): Model {
  const lab = spec.lab ?? "t";
  const hostNames = spec.hosts ?? ["host"];
  const hosts = hostNames.map((name, i) =>
    testHost(lab, name, i, {
      mac: `02:4e:0a:4d:00:${(11 + i).toString(16)}`,
      underlayIfname: `u-${name}`,
    })
  );
  const networks: Network[] = (spec.networks ?? []).map((n, i) => {
    const driver = n.driver ?? "bridge";
    const hasSubnet = driver !== "host" && driver !== "none";
    const subnet = hasSubnet ? (n.subnet ?? `172.${20 + i}.0.0/24`) : "";
    return testNetwork(n.name, driver, {
      internal: n.internal ?? false,
      subnet,
      prefix: hasSubnet ? prefixOf(subnet) : 0,
      gateway: hasSubnet && driver !== "macvlan" ? gatewayOf(subnet) : "",
      ipRange: subnet,
      isDefault: n.name === "default",
      bridge: driver === "bridge" ? (n.name === "default" ? "docker0" : `br-${n.name}`) : "",
      mtu: driver === "overlay" ? 1450 : 1500,
      vxlan: driver === "overlay" ? { vni: 4096 + i, port: 4789, device: `vx-${n.name}` } : null,
      macvlan: driver === "macvlan"
        ? { parent: "eth0", vlan: null, mode: n.macvlanMode ?? "bridge", hostShim: false }
        : null,
    });
  });
  const containers: Container[] = spec.containers.map((c) => {
    const host = c.host ?? hostNames[0];
    const mode: NetworkMode = c.mode ?? { kind: "own" };
    const endpoints: Endpoint[] = (c.nets ?? []).map(([net, address, aliases], i) => {
      const network = networks.find((n) => n.name === net);
      if (!network) throw new Error(`test model: unknown network ${net}`);
      if (!network.hosts.includes(host)) network.hosts.push(host);
      return testEndpoint(net, address, {
        ifname: `eth${i}`,
        hostIfname: network.driver === "macvlan" ? "" : `veth${c.name}${i}`.slice(0, 15),
        prefix: network.prefix,
        mac: "02:42:" + address.split(".").map((o) => Number(o).toString(16).padStart(2, "0"))
          .join(":"),
        gateway: network.internal ? "" : network.gateway,
        aliases: aliases ?? [],
        mtu: network.mtu,
      });
    });
    const ports: PublishedPort[] = (c.ports ?? []).map((p) =>
      testPort(p.hostPort ?? p.containerPort ?? 80, p.containerPort ?? 80, {
        hostIp: p.hostIp ?? "0.0.0.0",
        protocol: p.protocol ?? "tcp",
        name: p.name ?? null,
      })
    );
    const hostNs = hosts.find((h) => h.name === host)!.netns;
    const netns = mode.kind === "host"
      ? hostNs
      : mode.kind === "container"
      ? `${lab}-${mode.of}`
      : `${lab}-${c.name}`;
    return testContainer(c.name, {
      service: c.service ?? c.name,
      replica: c.replica ?? null,
      host,
      netns,
      mode,
      hostname: c.hostname ?? c.name,
      endpoints,
      ports,
      expose: c.expose ?? [],
      command: c.command ?? null,
      defaultEndpoint: endpoints.findIndex((e) => e.gateway !== ""),
    });
  });
  return testModel(lab, {
    underlay: {
      netns: `${lab}-underlay`,
      subnet: "10.77.0.0/24",
      prefix: 24,
      bridge: "br0",
      uplink: spec.uplink === false
        ? null
        : { rootIfname: `nsl-${lab}`, underlayIfname: "uplink", address: "10.77.0.254" },
    },
    hosts,
    networks,
    containers,
    checks: spec.checks ?? [],
  });
}
