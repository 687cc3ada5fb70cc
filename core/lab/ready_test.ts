import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { buildModel } from "../checks/_model_testkit.ts";
import { warmPaths } from "./ready.ts";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";

Deno.test("warm paths: the underlay between hosts, each host's overlay peers, each bridge's gateway and a peer", () => {
  const model = buildModel({
    hosts: ["h1", "h2"],
    networks: [
      { name: "mesh", driver: "overlay", subnet: "10.10.0.0/24" },
      { name: "front", subnet: "172.20.0.0/24" },
      { name: "back", subnet: "172.21.0.0/24", internal: true },
    ],
    containers: [
      { name: "a", host: "h1", nets: [["mesh", "10.10.0.2"], ["front", "172.20.0.2"]] },
      { name: "b", host: "h2", nets: [["mesh", "10.10.0.3"]] },
      { name: "c", host: "h1", nets: [["front", "172.20.0.3"], ["back", "172.21.0.2"]] },
    ],
  });
  assertEquals(warmPaths(model).map((p) => p.label), [
    "h1 → h2 (underlay)",
    "h2 → h1 (underlay)",
    "a → b (mesh)",
    "b → a (mesh)",
    "a → gateway (front)",
    "a → c (front)",
  ]);
  assertEquals(warmPaths(model)[2].probe, { kind: "icmp", netns: "t-a", address: "10.10.0.3" });
});

Deno.test("warm paths of a dual-stack lab: each IPv4 path has its IPv6 twin, the underlay too, and publishers greet their IPv6 gateway", () => {
  const { model } = loadTopologyObject({
    name: "t6",
    hosts: { h1: {}, h2: {} },
    networks: { mesh: { driver: "overlay", enable_ipv6: true }, front: { enable_ipv6: true } },
    containers: {
      a: { host: "h1", networks: ["mesh", "front"] },
      b: { host: "h2", networks: ["mesh"] },
      c: { host: "h1", networks: ["front"], ports: ["8080:80"] },
    },
  } as unknown as TopologyInput);
  const paths = warmPaths(model);
  assertEquals(paths.map((p) => p.label), [
    "h1 → h2 (underlay)",
    "h1 → h2 (underlay, IPv6)",
    "h2 → h1 (underlay)",
    "h2 → h1 (underlay, IPv6)",
    "a → b (mesh)",
    "b → a (mesh)",
    "a → b (mesh, IPv6)",
    "b → a (mesh, IPv6)",
    "a → gateway (front)",
    "a → c (front)",
    "a → gateway (front, IPv6)",
    "c → gateway (front, IPv6)", // c publishes a port: its host learns it before a DNAT needs it
    "a → c (front, IPv6)",
    "a → gateway (docker_gwbridge)",
    "b → gateway (docker_gwbridge)",
  ]);
  const b6 = model.containers.find((c) => c.name === "b")!.endpoints[0].ipv6!.address;
  assertEquals(paths[6].probe, { kind: "icmp", netns: "t6-a", address: b6 });
});
