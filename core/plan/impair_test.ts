import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { loadTopology } from "../model/load.ts";
import { withImpair, withPartition } from "../model/impair_edit.ts";
import { buildPlan } from "./plan.ts";
import { impairLines, lossProbability, relayNames, sharedImpairments } from "./impair.ts";
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

const dual = loadTopology({
  file: "d.yaml",
  text: `name: d
networks: { v6: { enable_ipv6: true }, v4: {} }
containers:
  a: { networks: { v6: { loss: 5% } } }
  b: { networks: [v6] }
  c: { networks: [v4] }
`,
}, { reserved: [] }).model;
const v6Of = (name: string) =>
  dual.containers.find((c) => c.name === name)!.endpoints[0].ipv6!.address;
const v4Of = (name: string) => dual.containers.find((c) => c.name === name)!.endpoints[0].address;

Deno.test("on a dual-stack network loss drops in ip6tables too, with the same rule text", () => {
  const a = buildPlan(dual).impair!.rules.find((r) => r.netns === "d-a")!;
  const loss =
    '-m statistic --mode random --probability 0.05 -m comment --comment "nslab loss a:v6"';
  deepStrictEqual(a.in6, [`-i eth0 ${loss} -j DROP`]);
  deepStrictEqual(a.out6, [`-o eth0 ${loss} -j DROP`]);
  deepStrictEqual(a.in, a.in6);
  equal(
    impairRuleset(a, true, "ipv6"),
    `*mangle\n:NSLAB-IMPAIR-IN - [0:0]\n:NSLAB-IMPAIR-OUT - [0:0]\n-A NSLAB-IMPAIR-IN -i eth0 ${loss} -j DROP\n-A NSLAB-IMPAIR-OUT -o eth0 ${loss} -j DROP\nCOMMIT\n`,
  );
});

Deno.test("a partition a | b on a dual-stack network drops b's IPv6 /128 in ip6tables, both ways", () => {
  const cut = buildPlan(withPartition(dual, [["a"], ["b"]]).model).impair!;
  const tag = '-m comment --comment "nslab partition 1" -j DROP';
  const b = cut.rules.find((r) => r.netns === "d-b")!;
  deepStrictEqual(b.in6, [`-s ${v6Of("a")}/128 -i eth0 ${tag}`]);
  deepStrictEqual(b.out6, [`-d ${v6Of("a")}/128 -o eth0 ${tag}`]);
  deepStrictEqual(b.out, [`-d ${v4Of("a")}/32 -o eth0 ${tag}`]);
  const a = cut.rules.find((r) => r.netns === "d-a")!;
  ok(a.out6!.includes(`-d ${v6Of("b")}/128 -o eth0 ${tag}`), a.out6!.join("\n"));
  const printed = impairLines(cut).join("\n");
  ok(
    printed.includes(`ip6tables -t mangle in d-b:\n  -A NSLAB-IMPAIR-IN -s ${v6Of("a")}/128`),
    printed,
  );
  // c has no IPv6: its rules stay IPv4 only, and a's IPv6 address is never written as /32.
  const c = buildPlan(withPartition(dual, [["a"], ["c"]]).model).impair!.rules.find((r) =>
    r.netns === "d-c"
  )!;
  deepStrictEqual(Object.keys(c), ["netns", "in", "out"]);
  ok(!c.out.some((r) => r.includes(":")), c.out.join("\n"));
});

Deno.test("an IPv4-only lab's impairment rules are exactly what they were before IPv6 (pinned)", () => {
  const cut = buildPlan(withPartition(model, [["web"], ["db"]]).model).impair!;
  const tag = '-m comment --comment "nslab partition 1" -j DROP';
  const web = ["172.18.0.2", "10.0.0.2", "172.19.0.2"]; // lan, mesh, docker_gwbridge
  deepStrictEqual(cut.rules.find((r) => r.netns === "t-db"), {
    netns: "t-db",
    in: web.map((a) => `-s ${a}/32 -i eth0 ${tag}`),
    out: web.map((a) => `-d ${a}/32 -o eth0 ${tag}`),
  });
  ok(cut.rules.every((r) => r.in6 === undefined && r.out6 === undefined));
  ok(!impairLines(cut).some((l) => l.startsWith("ip6tables")));
});
