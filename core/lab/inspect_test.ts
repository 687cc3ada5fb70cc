import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { TopologyInput } from "../model/input.ts";
import { formatNetworkTable, inspectNetwork, listNetworks, networkId } from "./inspect.ts";
import { createNetwork } from "../model/network_ops.ts";

const model = loadTopologyObject({
  name: "nwinsp",
  networks: {
    front: { ipam: { config: [{ subnet: "172.20.0.0/24", ip_range: "172.20.0.128/25" }] } },
    mesh: { driver: "overlay" },
  },
  containers: { web: { networks: ["front"] }, app: { networks: { front: { aliases: ["a"] } } } },
}, { reserved: [], uplink: false }).model;
const T = "2025-01-02T03:04:05.000Z";

/** The field names and JSON types `docker network inspect` prints, in its order. */
const DOCKER_SHAPE: [string, string][] = [
  ["Name", "string"],
  ["Id", "string"],
  ["Created", "string"],
  ["Scope", "string"],
  ["Driver", "string"],
  ["EnableIPv4", "boolean"],
  ["EnableIPv6", "boolean"],
  ["IPAM", "object"],
  ["Internal", "boolean"],
  ["Attachable", "boolean"],
  ["Ingress", "boolean"],
  ["ConfigFrom", "object"],
  ["ConfigOnly", "boolean"],
  ["Containers", "object"],
  ["Options", "object"],
  ["Labels", "object"],
];

Deno.test("inspect has Docker's fields, types and order, and survives a JSON round trip", () => {
  const j = JSON.parse(JSON.stringify(inspectNetwork(model, "front", T)));
  assertEquals(Object.entries(j).map(([k, v]) => [k, typeof v]), DOCKER_SHAPE);
  assertEquals(j.IPAM, {
    Driver: "default",
    Options: {},
    Config: [{ Subnet: "172.20.0.0/24", IPRange: "172.20.0.128/25", Gateway: "172.20.0.1" }],
  });
  assert(/^[0-9a-f]{64}$/.test(j.Id));
  assertEquals(j.Created, T);
  assertEquals(j.Options["com.docker.network.bridge.name"], "br-front");
});

Deno.test("inspect lists members by container id with Docker's endpoint fields", () => {
  const j = inspectNetwork(model, "front", T);
  const eps = Object.entries(j.Containers);
  assertEquals(eps.length, 2);
  for (const [id, ep] of eps) {
    assert(/^[0-9a-f]{64}$/.test(id));
    assertEquals(Object.keys(ep), [
      "Name",
      "EndpointID",
      "MacAddress",
      "IPv4Address",
      "IPv6Address",
    ]);
  }
  const web = eps.find(([, e]) => e.Name === "web")![1];
  assertEquals([web.IPv4Address, web.MacAddress], ["172.20.0.128/24", "02:42:ac:14:00:80"]);
});

Deno.test("overlay networks are swarm-scoped and attachable, with their VNI as an option", () => {
  const j = inspectNetwork(model, "mesh", T);
  assertEquals([j.Scope, j.Attachable, j.Driver], ["swarm", true, "overlay"]);
  assertEquals(j.Options["com.docker.network.driver.overlay.vxlanid_list"], "4096");
});

Deno.test("ids are stable for a network's life and new when it is made again", () => {
  assertEquals(networkId(model, "front", T), networkId(model, "front", T));
  assert(networkId(model, "front", T) !== networkId(model, "front", "2025-01-02T03:04:06.000Z"));
});

Deno.test("ls rows are sorted by name with 12-character ids", () => {
  const m = createNetwork(model, "aaa");
  const rows = listNetworks(m, () => T);
  assertEquals(rows.map((r) => r.name), ["aaa", "bridge", "front", "mesh"]);
  assert(rows.every((r) => r.id.length === 12));
  const table = formatNetworkTable(rows).split("\n");
  assert(table[0].startsWith("NETWORK ID"));
  assert(/^[0-9a-f]{12}\s+aaa\s+bridge\s+local$/.test(table[1]), table[1]);
});

Deno.test("a dual-stack network shows EnableIPv6, its IPv6 IPAM entry and each IPv6Address", () => {
  const dual = loadTopologyObject({
    name: "v6insp",
    networks: {
      front: {
        enable_ipv6: true,
        ipam: { config: [{ subnet: "172.20.0.0/24" }, { subnet: "fd00:1::/64" }] },
      },
    },
    containers: { web: { networks: ["front"] } },
  } as unknown as TopologyInput, { reserved: [] }).model;
  const j = inspectNetwork(dual, "front", T);
  assertEquals(j.EnableIPv6, true);
  assertEquals(j.IPAM.Config, [
    { Subnet: "172.20.0.0/24", Gateway: "172.20.0.1" },
    { Subnet: "fd00:1::/64", Gateway: "fd00:1::1" },
  ]);
  assertEquals(Object.values(j.Containers)[0].IPv6Address, "fd00:1::2/64");
});
