import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { buildModel } from "./_model_testkit.ts";
import { deriveExpectations } from "./expectations.ts";
import { isNegative, planControls } from "./controls.ts";

// Two networks: a, b on n1; c, d on n2; every container answers on port 80 (responders).
const model = buildModel({
  networks: [{ name: "n1", subnet: "172.20.0.0/24" }, { name: "n2", subnet: "172.21.0.0/24" }],
  containers: [
    { name: "a", nets: [["n1", "172.20.0.2"]], expose: [{ port: 80, protocol: "tcp" }] },
    { name: "b", nets: [["n1", "172.20.0.3"]], expose: [{ port: 80, protocol: "tcp" }] },
    { name: "c", nets: [["n2", "172.21.0.2"]], expose: [{ port: 80, protocol: "tcp" }] },
    { name: "d", nets: [["n2", "172.21.0.3"]], expose: [{ port: 80, protocol: "tcp" }] },
  ],
});
const all = deriveExpectations(model);
const plan = planControls(model, all, all);

Deno.test("every negative row gets controls; positive rows get none", () => {
  for (const e of all) assertEquals(plan.has(e.id), isNegative(e), e.id);
  assert([...plan.values()].every((c) => c.missing.length === 0));
});

Deno.test("an isolation row: the source reaches a peer or its gateway; the target answers the same port", () => {
  const c = plan.get("isolation:a->c@n2:tcp/80")!;
  const ids = (role: string) =>
    c.controls.find((x) => x.role === role)!.alternatives.map((x) => x.id);
  assertEquals(ids("source"), [
    "reach:a->b@n1:tcp/80",
    "reach:a->underlay:host:icmp",
    "control:a->172.20.0.1:icmp",
  ]);
  // d reaches c on port 80 (the listener the isolation probe would hit), and so does c's host.
  assertEquals(ids("target"), ["reach:d->c@n2:tcp/80", "control:host->c:tcp"]);
  const fromHost = c.controls[1].alternatives[1];
  assertEquals(fromHost.probe, {
    kind: "tcp",
    netns: "t-host",
    address: "172.21.0.2",
    port: 80,
    responder: true,
  });
  assertEquals(fromHost.expect, { kind: "answeredBy", container: "c" });
});

Deno.test("a DNS row's source control is a DNS answer; a DNS answer never proves a reach row", () => {
  const nx = plan.get("dns:a:A:c")!;
  assertEquals(nx.controls.length, 1);
  assert(nx.controls[0].alternatives.every((x) => x.probe.kind === "dns"), "dns for dns");
  const iso = plan.get("isolation:a->c@n2:tcp/80")!;
  assert(iso.controls.every((c) => c.alternatives.every((x) => x.probe.kind !== "dns")));
});

Deno.test("a container alone on its network still proves itself through its gateway", () => {
  const lone = buildModel({
    networks: [{ name: "n1" }, { name: "n2" }],
    containers: [{ name: "x", nets: [["n1", "172.20.0.2"]] }, {
      name: "y",
      nets: [["n2", "172.21.0.2"]],
    }],
  });
  const exps = deriveExpectations(lone);
  const c = planControls(lone, exps, exps).get("isolation:x->y@n2:icmp")!;
  assertEquals(c.missing, []);
  const src = c.controls.find((x) => x.role === "source")!.alternatives.map((x) => x.id);
  assert(src.includes("control:x->172.20.0.1:icmp"), src.join(" "));
  const tgt = c.controls.find((x) => x.role === "target")!.alternatives.map((x) => x.id);
  assertEquals(tgt, ["control:host->172.21.0.2:icmp"]);
});
