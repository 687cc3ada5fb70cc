import assert, { deepEqual, equal } from "node:assert/strict";
import { loadTopology, loadTopologyObject, type TopologyInput } from "../model/load.ts";
import type { Model } from "../model/types.ts";
import { buildPlan, hostsFile, resolvConf } from "./plan.ts";
import { formatPlan } from "./format.ts";
import type { LinkPlan, NamespacePlan, Plan } from "./types.ts";

const topologies = new URL("../../topologies/", import.meta.url);
const snapshots = new URL("testdata/", import.meta.url);

function loadFile(name: string): Model {
  const text = Deno.readTextFileSync(new URL(name, topologies));
  return loadTopology({ file: `topologies/${name}`, text }, { reserved: [] }).model;
}

function load(obj: TopologyInput): Model {
  return loadTopologyObject(obj, { reserved: [] }).model;
}

function ns(plan: Plan, name: string): NamespacePlan {
  const found = plan.namespaces.find((n) => n.name === name);
  assert(found, `no namespace ${name} in the plan`);
  return found;
}

const topologyFiles = [...Deno.readDirSync(topologies)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".yaml"))
  .sort();

for (const file of topologyFiles) {
  Deno.test(`the plan of topologies/${file} matches its snapshot and is deterministic`, () => {
    const plan = buildPlan(loadFile(file));
    const actual = JSON.stringify(plan, null, 2) + "\n";
    equal(JSON.stringify(buildPlan(loadFile(file)), null, 2) + "\n", actual);
    const snap = new URL(file.replace(/\.yaml$/, ".plan.json"), snapshots);
    if (Deno.env.get("NSLAB_UPDATE_SNAPSHOTS") === "1") {
      Deno.mkdirSync(snapshots, { recursive: true });
      Deno.writeTextFileSync(snap, actual);
    }
    equal(
      actual,
      Deno.readTextFileSync(snap),
      `the plan of ${file} changed: if intended, rerun with NSLAB_UPDATE_SNAPSHOTS=1 and commit`,
    );
    assert(formatPlan(plan).includes(`Plan for lab "${plan.lab}"`));
  });
}

Deno.test("namespaces come in creation order: underlay, hosts, then containers", () => {
  const plan = buildPlan(loadFile("seed.yaml"));
  const roles = plan.namespaces.map((n) => n.role);
  equal(roles[0], "underlay");
  const firstContainer = roles.indexOf("container");
  assert(roles.slice(1, firstContainer).every((r) => r === "host"));
  assert(roles.slice(firstContainer).every((r) => r === "container"));
});

Deno.test("host and container:X containers get no namespace of their own; none gets only lo", () => {
  const m = load({
    name: "modes",
    containers: {
      web: { expose: [80] },
      side: { network_mode: "container:web" },
      tool: { network_mode: "host" },
      vault: { network_mode: "none" },
    },
  } as TopologyInput);
  const plan = buildPlan(m);
  const names = plan.namespaces.map((n) => n.name);
  assert(names.includes("modes-web") && names.includes("modes-vault"));
  assert(!names.includes("modes-side") && !names.includes("modes-tool"));
  const vault = ns(plan, "modes-vault");
  deepEqual([vault.up, vault.addrs, vault.routes], [["lo"], [], []]);
  const tool = plan.processes.find((p) => p.container === "tool")!;
  equal(tool.netns, "modes-host");
  equal(tool.dns, false);
});

Deno.test("a bridge endpoint is a veth from the host bridge, in hairpin mode, into the sandbox", () => {
  const m = load(
    {
      name: "br",
      networks: { front: {} },
      containers: { web: { networks: ["front"] } },
    } as TopologyInput,
  );
  const plan = buildPlan(m);
  const ep = m.containers[0].endpoints[0];
  const host = ns(plan, "br-host");
  const veth = host.links.find((l) => l.kind === "veth" && l.name === ep.hostIfname) as Extract<
    LinkPlan,
    { kind: "veth" }
  >;
  deepEqual(veth, {
    kind: "veth",
    name: ep.hostIfname,
    mtu: 1500,
    master: "br-front",
    hairpin: true,
    peer: { name: "eth0", ns: "br-web", mac: ep.mac, mtu: 1500 },
  });
  assert(
    host.addrs.some((a) =>
      a.dev === "br-front" && a.address === m.networks.find((n) => n.name === "front")!.gateway
    ),
  );
  const web = ns(plan, "br-web");
  deepEqual(web.addrs, [{ dev: "eth0", address: ep.address, prefix: ep.prefix }]);
  deepEqual(web.routes, [{ dst: "default", via: ep.gateway, dev: "eth0" }]);
});

Deno.test("an internal network gives its containers no default route", () => {
  const m = load(
    {
      name: "in",
      networks: { back: { internal: true } },
      containers: { db: { networks: ["back"] } },
    } as TopologyInput,
  );
  deepEqual(ns(buildPlan(m), "in-db").routes, []);
});

Deno.test("overlay: each host programs FDB and neighbour entries for exactly its remote peers", () => {
  const m = load({
    name: "ov",
    hosts: { h1: {}, h2: {}, h3: {} },
    networks: { mesh: { driver: "overlay" } },
    containers: {
      a: { host: "h1", networks: ["mesh"] },
      b: { host: "h2", networks: ["mesh"] },
      c: { host: "h3", networks: ["mesh"] },
    },
  } as TopologyInput);
  const plan = buildPlan(m);
  const ep = (c: string) => m.containers.find((x) => x.name === c)!.endpoints[0];
  const addr = (h: string) => m.hosts.find((x) => x.name === h)!.address;
  for (const [host, local] of [["h1", "a"], ["h2", "b"], ["h3", "c"]]) {
    const n = ns(plan, `ov-${host}`);
    const remote = ["a", "b", "c"].filter((x) => x !== local);
    deepEqual(
      n.fdb.map((f) => f.mac).sort(),
      remote.map((r) => ep(r).mac).sort(),
      `${host} must know exactly the remote MACs`,
    );
    for (const r of remote) {
      const c = m.containers.find((x) => x.name === r)!;
      assert(n.fdb.some((f) => f.mac === ep(r).mac && f.dst === addr(c.host)));
      assert(n.neighs.some((x) => x.address === ep(r).address && x.mac === ep(r).mac));
    }
    const vx = n.links.find((l) => l.kind === "vxlan") as Extract<LinkPlan, { kind: "vxlan" }>;
    deepEqual([vx.vni, vx.port, vx.local, vx.learning, vx.proxy, vx.mtu], [
      4096,
      4789,
      addr(host),
      false,
      true,
      1450,
    ]);
  }
});

Deno.test("an encrypted overlay plans ESP transport SAs in both directions between member hosts", () => {
  const m = load({
    name: "enc",
    hosts: { h1: {}, h2: {} },
    networks: { mesh: { driver: "overlay", encrypted: true } },
    containers: { a: { host: "h1", networks: ["mesh"] }, b: { host: "h2", networks: ["mesh"] } },
  } as TopologyInput);
  const x = buildPlan(m).xfrm;
  equal(x.length, 4);
  const [h1, h2] = m.hosts.map((h) => h.address);
  for (const n of ["enc-h1", "enc-h2"]) {
    const mine = x.filter((s) => s.netns === n).map((s) => `${s.src}>${s.dst}`).sort();
    deepEqual(mine, [`${h1}>${h2}`, `${h2}>${h1}`].sort());
  }
  assert(x.every((s) => s.proto === "esp" && s.mode === "transport" && s.port === 4789));
  equal(new Set(x.map((s) => s.spi)).size, 2, "one SPI per direction, the same on both ends");
});

Deno.test("macvlan: endpoints are created on the host's parent into the sandbox; the shim routes local ones", () => {
  const m = load({
    name: "mv",
    hosts: { h1: {}, h2: {} },
    networks: { lan: { driver: "macvlan", driver_opts: { host_shim: "true" } } },
    containers: { cam: { host: "h1", networks: ["lan"] }, tv: { host: "h2", networks: ["lan"] } },
  } as TopologyInput);
  const plan = buildPlan(m);
  const h1 = ns(plan, "mv-h1");
  const cam = m.containers.find((c) => c.name === "cam")!.endpoints[0];
  assert(
    h1.links.some((l) =>
      l.kind === "macvlan" && l.name === "eth0" && l.parent === "eth0" && l.targetNs === "mv-cam" &&
      l.mac === cam.mac
    ),
  );
  const shim = h1.links.find((l) => l.kind === "macvlan" && l.targetNs === "mv-h1");
  assert(shim, "host shim on h1");
  deepEqual(h1.routes, [{ dst: `${cam.address}/32`, dev: shim.name, src: m.hosts[0].address }]);
});

Deno.test("resolv.conf points at the embedded DNS with ndots:0; /etc/hosts names the container", () => {
  assert(resolvConf().includes("nameserver 127.0.0.11\noptions ndots:0\n"));
  const m = load(
    {
      name: "f",
      networks: { a: {} },
      containers: { web: { hostname: "w1", networks: ["a"] } },
    } as TopologyInput,
  );
  const hosts = hostsFile(m.containers[0]);
  assert(hosts.includes(`${m.containers[0].endpoints[0].address}\tw1 web`));
  const p = buildPlan(m).processes[0];
  deepEqual(Object.keys(p.files).sort(), ["hosts", "resolv.conf"]);
});
