/**
 * A small hand-made {@link Model} for DNS tests (the topology parser is not needed to test DNS).
 *
 * @module
 */

import type { Container, Model, Network, NetworkMode, PublishedPort } from "../model/types.ts";

/** A network in the compact test description. */
export interface TestNetwork {
  name: string;
  subnet: string;
  internal?: boolean;
  isDefault?: boolean;
}

/** A container in the compact test description. */
export interface TestContainer {
  name: string;
  service?: string;
  replica?: number;
  hostname?: string;
  mode?: NetworkMode;
  /** Network name → address, plus optional aliases. */
  endpoints?: { network: string; address: string; aliases?: string[] }[];
  ports?: { name: string | null; containerPort: number; protocol?: "tcp" | "udp" }[];
  netns?: string;
}

const pos = { file: "test.yaml", line: 1, col: 1 };

/** Builds a valid-enough {@link Model} from a compact description. */
export function testModel(
  networks: TestNetwork[],
  containers: TestContainer[],
  dns: { upstream?: string[]; ttl?: number } = {},
): Model {
  const nets: Network[] = networks.map((n) => ({
    name: n.name,
    driver: "bridge",
    scope: "local",
    internal: n.internal ?? false,
    hasSubnet: true,
    subnet: n.subnet,
    prefix: Number(n.subnet.split("/")[1]),
    gateway: n.subnet.replace(/\.0\/\d+$/, ".1"),
    ipRange: n.subnet,
    isDefault: n.isDefault ?? false,
    bridge: `br-${n.name}`,
    mtu: 1500,
    enableIpv6: false,
    encrypted: false,
    driverOpts: {},
    vxlan: null,
    macvlan: null,
    hosts: ["h1"],
    pos,
  }));
  const ctrs: Container[] = containers.map((c) => {
    const ports: PublishedPort[] = (c.ports ?? []).map((p, i) => ({
      hostIp: "0.0.0.0",
      hostPort: 30000 + i,
      containerPort: p.containerPort,
      protocol: p.protocol ?? "tcp",
      name: p.name,
      random: false,
    }));
    return {
      name: c.name,
      service: c.service ?? c.name,
      replica: c.replica ?? null,
      host: "h1",
      netns: c.netns ?? `lab-${c.name}`,
      mode: c.mode ?? { kind: "own" },
      hostname: c.hostname ?? c.name,
      endpoints: (c.endpoints ?? []).map((e, i) => {
        const net = nets.find((n) => n.name === e.network);
        return {
          network: e.network,
          ifname: `eth${i}`,
          hostIfname: `veth${c.name}${i}`,
          address: e.address,
          prefix: net?.prefix ?? 24,
          mac: "02:42:00:00:00:00",
          gateway: net?.internal ? "" : (net?.gateway ?? ""),
          aliases: e.aliases ?? [],
          mtu: 1500,
        };
      }),
      ports,
      expose: [],
      command: null,
      environment: {},
      runtime: "netns",
      image: null,
      restart: "no",
      defaultEndpoint: (c.endpoints ?? []).length > 0 ? 0 : -1,
      pos,
    };
  });
  return {
    lab: "lab",
    file: "test.yaml",
    underlay: {
      netns: "lab-underlay",
      subnet: "10.77.0.0/24",
      prefix: 24,
      bridge: "br0",
      uplink: null,
    },
    hosts: [{
      name: "h1",
      netns: "lab-h1",
      address: "10.77.0.11",
      mac: "02:00:00:00:00:11",
      underlayIfname: "h1",
    }],
    networks: nets,
    containers: ctrs,
    checks: [],
    dns: { upstream: dns.upstream ?? [], ttl: dns.ttl ?? 600 },
    warnings: [],
  };
}

/**
 * The standard DNS test lab:
 * - `front` 172.20.0.0/24: web (alias `www`, hostname `webhost`), api-1, api-2, proxy
 * - `back` 172.21.0.0/24: api-1, api-2 (alias `backend`), db (port `pg` 5432/tcp)
 * - `secret` 172.22.0.0/24, internal: vault
 * - `default` 172.17.0.0/16 (Docker's default network): legacy
 * - side (`container:web`), sealed (`none`), tool (`host`)
 */
export function shopModel(dns: { upstream?: string[]; ttl?: number } = {}): Model {
  return testModel(
    [
      { name: "front", subnet: "172.20.0.0/24" },
      { name: "back", subnet: "172.21.0.0/24" },
      { name: "secret", subnet: "172.22.0.0/24", internal: true },
      { name: "default", subnet: "172.17.0.0/16", isDefault: true },
    ],
    [
      {
        name: "web",
        hostname: "webhost",
        endpoints: [{ network: "front", address: "172.20.0.10", aliases: ["www"] }],
        ports: [{ name: "http", containerPort: 80 }],
      },
      {
        name: "api-1",
        service: "api",
        replica: 1,
        endpoints: [
          { network: "front", address: "172.20.0.11" },
          { network: "back", address: "172.21.0.11", aliases: ["backend"] },
        ],
        ports: [{ name: "rest", containerPort: 8000 }, { name: null, containerPort: 9000 }],
      },
      {
        name: "api-2",
        service: "api",
        replica: 2,
        endpoints: [
          { network: "front", address: "172.20.0.12" },
          { network: "back", address: "172.21.0.12", aliases: ["backend"] },
        ],
        ports: [{ name: "rest", containerPort: 8000 }],
      },
      {
        name: "db",
        endpoints: [{ network: "back", address: "172.21.0.20" }],
        ports: [{ name: "pg", containerPort: 5432 }, {
          name: "stats",
          containerPort: 5433,
          protocol: "udp",
        }],
      },
      { name: "proxy", endpoints: [{ network: "front", address: "172.20.0.30" }] },
      {
        name: "vault",
        endpoints: [{ network: "secret", address: "172.22.0.5" }],
      },
      { name: "legacy", endpoints: [{ network: "default", address: "172.17.0.2" }] },
      { name: "side", mode: { kind: "container", of: "web" } },
      { name: "sealed", mode: { kind: "none" } },
      { name: "tool", mode: { kind: "host" } },
    ],
    dns,
  );
}
