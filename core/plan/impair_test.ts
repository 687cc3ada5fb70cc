import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { loadTopology } from "../model/load.ts";
import { withImpair, withPartition } from "../model/impair_edit.ts";
import { buildPlan } from "./plan.ts";
import { lossProbability, relayNames, sharedImpairments } from "./impair.ts";
import { impairRuleset } from "../kernel/impair.ts";

const model = loadTopology({
  file: "t.yaml",
  text: `name: t
hosts: { h1: {}, h2: { delay: 20ms } }
networks: { lan: {}, mesh: { driver: overlay } }
containers:
  web: { host: h1, networks: { lan: { loss: 10%, rate: 1mbit }, mesh: {} } }
  db: { host: h1, networks: [lan] }
  api: { host: h2, networks: [mesh] }
`,
}, { reserved: [] }).model;

Deno.test("an unimpaired lab's plan has no impairment section (plans of other labs unchanged)", () => {
  const plain = loadTopology({ file: "t.yaml", text: "name: t\ncontainers: { web: {} }\n" }, {
    reserved: [],
  }).model;
  equal(buildPlan(plain).impair, undefined);
});

Deno.test("declared impairments become links (relay only for delay) and loss rules on the inner end", () => {
  const impair = buildPlan(model).impair!;
  deepStrictEqual(impair.links.map((l) => [l.name, l.relay !== null]), [["h2", true], [
    "web:lan",
    false,
  ]]);
  const h2 = impair.links[0];
  deepStrictEqual(h2.inner, { ns: "t-h2", dev: "eth0" });
  equal(h2.outer.ns, "t-underlay");
  equal(h2.outer.bridge, "br0");
  deepStrictEqual(h2.relay, relayNames("t-underlay", h2.outer.dev));
  ok(h2.relay!.peer.length <= 15);
  const web = impair.rules.find((r) => r.netns === "t-web")!;
  deepStrictEqual(web.in, [
    '-i eth0 -m statistic --mode random --probability 0.1 -m comment --comment "nslab loss web:lan" -j DROP',
  ]);
  equal(lossProbability(2.5), "0.025");
});

Deno.test("a partition h1 | h2 drops the other side's reachable addresses and the other host", () => {
  const cut = buildPlan(withPartition(model, [["h1"], ["h2"]]).model).impair!;
  const api = model.containers.find((c) => c.name === "api")!;
  const webMesh = model.containers.find((c) => c.name === "web")!.endpoints.find((e) =>
    e.network === "mesh"
  )!;
  const apiRules = cut.rules.find((r) => r.netns === "t-api")!;
  ok(
    apiRules.out.some((r) => r.startsWith(`-d ${webMesh.address}/32 -o eth0`)),
    apiRules.out.join("\n"),
  );
  // docker_gwbridge is host-scoped: api's gateway-bridge address on h2 is never cut on h1.
  const gw = api.endpoints.find((e) => e.network === "docker_gwbridge")!;
  const h1Side = cut.rules.filter((r) => ["t-web", "t-db"].includes(r.netns)).flatMap((r) => r.out);
  ok(!h1Side.some((r) => r.startsWith(`-d ${gw.address}/32`)), h1Side.join("\n"));
  const h1 = cut.rules.find((r) => r.netns === "t-h1")!;
  const h2 = model.hosts.find((h) => h.name === "h2")!;
  deepStrictEqual(h1.out, [
    `-d ${h2.address}/32 -o eth0 -m comment --comment "nslab partition 1" -j DROP`,
  ]);
});

Deno.test("sharedImpairments keeps links whose veth stays, lifts the others", () => {
  const a = buildPlan(model).impair;
  const slower = buildPlan(withImpair(model, "h2", { delayMs: 40 })).impair;
  deepStrictEqual(sharedImpairments(a, slower).links.map((l) => l.name), ["h2", "web:lan"]);
  deepStrictEqual(sharedImpairments(a, undefined), { links: [], rules: [] });
});

Deno.test("the mangle ruleset hooks its chains once and flushes them on every apply", () => {
  const r = { netns: "t-web", in: ["-i eth0 -j DROP"], out: [] };
  equal(
    impairRuleset(r, false),
    "*mangle\n:NSLAB-IMPAIR-IN - [0:0]\n:NSLAB-IMPAIR-OUT - [0:0]\n" +
      "-A PREROUTING -j NSLAB-IMPAIR-IN\n-A POSTROUTING -j NSLAB-IMPAIR-OUT\n" +
      "-A NSLAB-IMPAIR-IN -i eth0 -j DROP\nCOMMIT\n",
  );
  ok(!impairRuleset(r, true).includes("PREROUTING"));
});
