import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { buildModel } from "../checks/_model_testkit.ts";
import { warmPaths } from "./ready.ts";

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
