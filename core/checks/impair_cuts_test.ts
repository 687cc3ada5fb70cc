import { deepStrictEqual, equal } from "node:assert/strict";
import { loadTopology } from "../model/load.ts";
import { withImpair, withPartition } from "../model/impair_edit.ts";
import { deriveWithNotes } from "./expectations.ts";
import { applyCuts, cutReason, impairedTimeoutMs } from "./impair_cuts.ts";

const model = loadTopology({
  file: "t.yaml",
  text: `name: t
hosts: { h1: {}, h2: {} }
networks: { lan: {}, mesh: { driver: overlay } }
containers:
  a: { host: h1, networks: [lan, mesh] }
  b: { host: h1, networks: [lan] }
  c: { host: h2, networks: [mesh] }
`,
}, { reserved: [] }).model;
const c = (name: string, m = model) => m.containers.find((x) => x.name === name)!;
const addr = (name: string, net: string) =>
  c(name).endpoints.find((e) => e.network === net)!.address!;

Deno.test("nothing impaired: expectations untouched, default deadline", () => {
  const exps = deriveWithNotes(model).expectations;
  deepStrictEqual(applyCuts(model, exps).expectations, exps);
  equal(impairedTimeoutMs(model), 1000);
  equal(impairedTimeoutMs(withImpair(model, "a:lan", { delayMs: 50, jitterMs: 5 })), 1440);
});

Deno.test("a down endpoint cuts its own pairs on that network only", () => {
  const m = withImpair(model, "a:lan", { down: true });
  equal(cutReason(m, { container: c("a", m), host: "h1" }, addr("b", "lan")), "a:lan is down");
  equal(cutReason(m, { container: c("b", m), host: "h1" }, addr("a", "lan")), "a:lan is down");
  equal(cutReason(m, { container: c("a", m), host: "h1" }, addr("c", "mesh")), null);
});

Deno.test("partition h1 | h2 cuts cross-host pairs (endpoints and underlay), not pairs within a host", () => {
  const m = withPartition(model, [["h1"], ["h2"]]).model;
  equal(cutReason(m, { container: c("a"), host: "h1" }, addr("c", "mesh")), "partition 1");
  equal(cutReason(m, { container: c("a"), host: "h1" }, addr("b", "lan")), null);
  const h2 = m.hosts.find((h) => h.name === "h2")!.address;
  equal(cutReason(m, { container: c("b"), host: "h1" }, h2), "partition 1 (hosts)");
  const out = applyCuts(m, deriveWithNotes(m).expectations);
  const flipped = out.expectations.filter((e) => e.description.includes("— cut:")).map((e) => e.id);
  deepStrictEqual(flipped.sort(), [
    "reach:a->c@mesh:icmp",
    "reach:a->underlay:h2:icmp",
    "reach:b->underlay:h2:icmp",
    "reach:c->a@mesh:icmp",
    "reach:c->underlay:h1:icmp",
  ]);
  equal(out.expectations.find((e) => e.id === "reach:a->c@mesh:icmp")!.expect.kind, "unreachable");
});
