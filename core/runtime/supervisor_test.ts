import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import { buildPlan } from "../plan/plan.ts";
import { supervisorDescriptors } from "./supervisor.ts";

function descriptors(doc: Record<string, unknown>): number {
  const { model } = loadTopologyObject({ name: "pfsup", ...doc }, { uplink: false });
  return supervisorDescriptors(model.containers, buildPlan(model));
}

Deno.test("a responder costs one wildcard socket per port, beside the DNS's three", () => {
  const web = (expose: number[]) =>
    descriptors({
      networks: { a: {}, b: {} },
      containers: { web: { networks: ["a", "b"], expose } },
    });
  assertEquals(web([80]), 3 + 1);
  assertEquals(web([80, 443]), 3 + 2);
});

Deno.test("a container serving port 53 binds each of its addresses and 127.0.0.1 instead", () => {
  // 127.0.0.1 + one address on each of two networks, for 53/tcp and 53/udp.
  assertEquals(
    descriptors({
      networks: { a: {}, b: {} },
      containers: { ns: { networks: ["a", "b"], expose: ["53/tcp", "53/udp"] } },
    }),
    3 + 2 * 3,
  );
});

Deno.test("a command costs its log and pipes instead of a responder", () => {
  assertEquals(
    descriptors({
      networks: { a: {} },
      containers: { web: { networks: ["a"], expose: [80], command: ["sleep", "1"] } },
    }),
    3 + 4,
  );
});

Deno.test("descriptors grow with the containers: four each on two networks, 16,000 for 4,000", () => {
  const containers: Record<string, unknown> = {};
  for (let i = 1; i <= 50; i++) containers[`c${i}`] = { networks: ["a", "b"], expose: [80] };
  assertEquals(descriptors({ networks: { a: {}, b: {} }, containers }), 50 * 4);
});
