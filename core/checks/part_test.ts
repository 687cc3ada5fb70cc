import assert, { deepEqual, throws } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { UsageError } from "../errors.ts";
import { deriveWithNotes } from "./expectations.ts";
import { forPart } from "./part.ts";

const { model } = loadTopologyObject({
  name: "pt",
  hosts: { h1: { address: "198.51.100.11" }, h3: { address: "198.51.100.13" } },
  networks: { mesh: { driver: "overlay" }, side: { driver: "bridge" } },
  containers: {
    peer1: { host: "h1", expose: [80], networks: ["mesh"] },
    peer3: { host: "h3", expose: [80], networks: ["mesh", "side"] },
    lonely: { host: "h3", expose: [80], networks: ["side"] },
  },
} as TopologyInput, { reserved: [] });
const all = deriveWithNotes(model, new Set()).expectations;

Deno.test("a part checks what starts on it, towards every machine", () => {
  const { exps } = forPart(model, all, all, "h1");
  deepEqual([...new Set(exps.map((e) => e.source))], ["peer1"]);
  assert(exps.some((e) => e.id.startsWith("reach:peer1->peer3@mesh")));
});

Deno.test("a negative row whose target only another machine can show alive is left out, noted", () => {
  const { exps, controls, notes } = forPart(model, all, all, "h1");
  const row = "isolation:peer1->lonely@side:tcp/80";
  assert(all.some((e) => e.id === row));
  assert(!exps.some((e) => e.id === row));
  assert(notes.some((n) => n.startsWith(`${row}: not checked from host "h1"`)), notes.join("\n"));
  // every control kept runs here: its alternatives start on h1
  for (const c of controls.values()) {
    for (const x of c.controls) for (const a of x.alternatives) assert(a.source === "peer1");
  }
  // on h3 the same pair is checked from the other side, its control local there
  const h3 = forPart(model, all, all, "h3");
  assert(h3.exps.some((e) => e.id.startsWith("isolation:lonely->peer1")), h3.notes.join("\n"));
});

Deno.test("an unknown host is a usage error naming the hosts", () => {
  throws(
    () => forPart(model, all, all, "h9"),
    (e: Error) => e instanceof UsageError && e.message.includes('"h1", "h3"'),
  );
});
