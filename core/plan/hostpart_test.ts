import assert, { deepEqual } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { buildPlan, hostPartPlan, underlaySegmentPlan } from "./plan.ts";

const { model } = loadTopologyObject({
  name: "hp",
  hosts: { h1: {}, h2: {}, h3: {} },
  networks: { mesh: { driver: "overlay" }, side: { driver: "bridge" } },
  containers: {
    a: { host: "h1", expose: [80], networks: ["mesh"] },
    b: { host: "h2", networks: ["mesh", "side"] },
    c: { host: "h3", networks: ["mesh"] },
    tool: { host: "h1", network_mode: "host" },
  },
} as TopologyInput, { reserved: [], uplink: true });
const full = buildPlan(model);

Deno.test("a host's part holds its host, its containers, its firewall and processes, nothing else", () => {
  const part = hostPartPlan(full, model, "h1");
  deepEqual(part.namespaces.map((n) => n.name), ["hp-underlay", "hp-h1", "hp-a"]);
  deepEqual(part.firewall.map((f) => f.netns), ["hp-h1"]);
  deepEqual(part.processes.map((p) => p.container).sort(), ["a", "tool"]);
  deepEqual(part.root, { links: [], addrs: [], routes: [], up: [] });
  // the host and container namespaces are exactly those of the whole plan
  for (const ns of part.namespaces.slice(1)) {
    deepEqual(ns, full.namespaces.find((n) => n.name === ns.name));
  }
});

Deno.test("a host's part only plugs its own cable into the underlay, and makes nothing there", () => {
  const h2 = model.hosts.find((h) => h.name === "h2")!;
  const plug = hostPartPlan(full, model, "h2").namespaces[0];
  deepEqual([plug.role, plug.links, plug.up, plug.addrs], [
    "underlay",
    [],
    [h2.underlayIfname],
    [],
  ]);
});

Deno.test("a host's part keeps its VXLAN peers pointing at the other hosts' addresses", () => {
  const addr = (h: string) => model.hosts.find((x) => x.name === h)!.address;
  const h3 = hostPartPlan(full, model, "h3").namespaces.find((n) => n.name === "hp-h3")!;
  deepEqual(h3.fdb.map((f) => f.dst).sort(), [addr("h1"), addr("h2")].sort());
});

Deno.test("the underlay segment is the bridge and the uplink, without any host's cable", () => {
  const seg = underlaySegmentPlan(full, model);
  deepEqual(seg.namespaces.map((n) => n.name), ["hp-underlay"]);
  deepEqual(seg.root, full.root);
  const cables = model.hosts.map((h) => h.underlayIfname);
  assert(!seg.namespaces[0].up.some((l) => cables.includes(l)));
  deepEqual(seg.namespaces[0].links, full.namespaces[0].links);
  deepEqual([seg.firewall, seg.processes, seg.xfrm], [[], [], []]);
});

Deno.test("the parts of all hosts plus the segment cover the whole plan's namespaces once", () => {
  const names = [
    ...underlaySegmentPlan(full, model).namespaces,
    ...model.hosts.flatMap((h) => hostPartPlan(full, model, h.name).namespaces.slice(1)),
  ].map((n) => n.name).sort();
  deepEqual(names, full.namespaces.map((n) => n.name).sort());
});
