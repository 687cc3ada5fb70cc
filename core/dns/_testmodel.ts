/**
 * A small hand-made {@link Model} for DNS tests (the topology parser is not needed to test DNS).
 *
 * @module
 */

import type { Container, Model, Network, NetworkMode } from "../model/types.ts";
import {
  testContainer,
  testEndpoint,
  testHost,
  testModel as baseModel,
  testNetwork,
  testPort,
} from "../model/_testkit.ts";

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

/** Builds a valid-enough {@link Model} from a compact description. */
export function testModel(
  networks: TestNetwork[],
  containers: TestContainer[],
  dns: { upstream?: string[]; ttl?: number } = {},
): Model {
  const nets: Network[] = networks.map((n) =>
    testNetwork(n.name, "bridge", {
      internal: n.internal ?? false,
      subnet: n.subnet,
      prefix: Number(n.subnet.split("/")[1]),
      gateway: n.subnet.replace(/\.0\/\d+$/, ".1"),
      ipRange: n.subnet,
      isDefault: n.isDefault ?? false,
      bridge: `br-${n.name}`,
      hosts: ["h1"],
    })
  );
  const ctrs: Container[] = containers.map((c) =>
    testContainer(c.name, {
      service: c.service ?? c.name,
      replica: c.replica ?? null,
      netns: c.netns ?? `lab-${c.name}`,
      mode: c.mode ?? { kind: "own" },
      hostname: c.hostname ?? c.name,
      endpoints: (c.endpoints ?? []).map((e, i) => {
        const net = nets.find((n) => n.name === e.network);
        return testEndpoint(e.network, e.address, {
          ifname: `eth${i}`,
          hostIfname: `veth${c.name}${i}`,
          prefix: net?.prefix ?? 24,
          gateway: net?.internal ? "" : (net?.gateway ?? ""),
          aliases: e.aliases ?? [],
        });
      }),
      ports: (c.ports ?? []).map((p, i) =>
        testPort(30000 + i, p.containerPort, { protocol: p.protocol ?? "tcp", name: p.name })
      ),
    })
  );
  return baseModel("lab", {
    hosts: [testHost("lab", "h1", 0, { mac: "02:00:00:00:00:11" })],
    networks: nets,
    containers: ctrs,
    dns: { upstream: dns.upstream ?? [], ttl: dns.ttl ?? 600 },
  });
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
