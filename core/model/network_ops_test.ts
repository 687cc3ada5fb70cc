import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadTopologyObject } from "./load.ts";
import type { Model } from "./types.ts";
import { NslabError, UsageError } from "../errors.ts";
import {
  connectNetwork,
  createNetwork,
  disconnectNetwork,
  pruneNetworks,
  removeNetworks,
} from "./network_ops.ts";
import { buildPlan } from "../plan/plan.ts";

function lab(extra: Record<string, unknown> = {}): Model {
  return loadTopologyObject({
    name: "nwunit",
    networks: {
      front: { ipam: { config: [{ subnet: "172.20.0.0/24" }] } },
      back: { internal: true },
    },
    containers: {
      web: { networks: ["front"] },
      app: { networks: ["front", "back"] },
      db: { networks: ["back"] },
      tool: { network_mode: "host" },
      vault: { network_mode: "none" },
    },
    ...extra,
  }, { reserved: [], uplink: false }).model;
}

function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
): E {
  try {
    fn();
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${e}`);
    return e as E;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}

function throwsText(fn: () => unknown, text: string, code = 1): void {
  const e = assertThrows(fn, NslabError);
  assert(e.message.includes(text), `expected "${text}" in: ${e.message}`);
  assertEquals(e.exitCode, code, e.message);
}

Deno.test("create takes the first free local pool after the lab's subnets and leaves the input alone", () => {
  const m = lab();
  const before = JSON.stringify(m);
  const next = createNetwork(m, "extra");
  assertEquals(JSON.stringify(m), before);
  const n = next.networks.find((x) => x.name === "extra")!;
  assertEquals(n.subnet, "172.19.0.0/16"); // default 172.17, back 172.18, front 172.20/24 → 172.19
  assertEquals(n.gateway, "172.19.0.1");
  assertEquals(n.bridge, "br-extra");
  assertEquals(n.hosts, []);
});

Deno.test("create skips pools the machine routes", () => {
  const next = createNetwork(lab(), "extra", {}, ["172.19.0.0/16"]);
  assertEquals(next.networks.at(-1)!.subnet, "172.21.0.0/16");
});

Deno.test("create honours subnet, gateway, ip-range, internal and driver options", () => {
  const next = createNetwork(lab(), "x", {
    subnet: "10.50.0.0/24",
    gateway: "10.50.0.254",
    ipRange: "10.50.0.128/25",
    internal: true,
    options: { "com.docker.network.driver.mtu": "1400" },
  });
  const n = next.networks.at(-1)!;
  assertEquals(
    [n.subnet, n.gateway, n.ipRange, n.internal, n.mtu],
    ["10.50.0.0/24", "10.50.0.254", "10.50.0.128/25", true, 1400],
  );
});

Deno.test("create of an overlay takes a 10.0.0.0/8 /24 and the next VNI", () => {
  const n = createNetwork(lab(), "ov", { driver: "overlay" }).networks.at(-1)!;
  assertEquals([n.subnet, n.vxlan?.vni, n.mtu, n.scope], ["10.0.0.0/24", 4096, 1450, "global"]);
});

Deno.test("create refuses a taken name with Docker's text, predefined names included", () => {
  throwsText(() => createNetwork(lab(), "front"), "network with name front already exists");
  throwsText(() => createNetwork(lab(), "host"), "network with name host already exists");
  throwsText(() => createNetwork(lab(), "bridge"), "network with name bridge already exists");
});

Deno.test("create refuses an overlapping subnet with Docker's pool text, naming the other network", () => {
  throwsText(
    () => createNetwork(lab(), "x", { subnet: "172.20.0.128/25" }),
    "invalid pool request: Pool overlaps with other one on this address space",
  );
  throwsText(() => createNetwork(lab(), "x", { subnet: "172.17.5.0/24" }), 'network "bridge"');
});

Deno.test("create reports malformed options as usage errors (exit 2)", () => {
  assertThrows(() => createNetwork(lab(), "x", { subnet: "172.30.0.1/24" }), UsageError);
  assertThrows(() => createNetwork(lab(), "x", { gateway: "172.30.0.1" }), UsageError);
  assertThrows(
    () => createNetwork(lab(), "x", { subnet: "172.30.0.0/24", gateway: "172.31.0.1" }),
    UsageError,
  );
  assertThrows(() => createNetwork(lab(), "bad name!"), UsageError);
});

Deno.test("connect gives the next ethN, the first free address, Docker's MAC and aliases", () => {
  const next = connectNetwork(lab(), "front", "db", { aliases: ["d", "d"] });
  const db = next.containers.find((c) => c.name === "db")!;
  const ep = db.endpoints.at(-1)!;
  assertEquals(ep.ifname, "eth1");
  assertEquals(ep.address, "172.20.0.4"); // .1 gateway, .2 web, .3 app
  assertEquals(ep.mac, "02:42:ac:14:00:04");
  assertEquals(ep.aliases, ["d"]);
  assertEquals(ep.gateway, "172.20.0.1");
  assert(ep.hostIfname.startsWith("veth") && ep.hostIfname.length === 11);
  // db had only an internal network: the new one carries its default route now.
  assertEquals(db.defaultEndpoint, 1);
  const plan = buildPlan(next);
  const ns = plan.namespaces.find((n) => n.name === "nwunit-db")!;
  assertEquals(ns.routes, [{ dst: "default", via: "172.20.0.1", dev: "eth1" }]);
});

Deno.test("connect with --ip takes it; refuses outside the subnet and taken addresses with Docker's text", () => {
  const next = connectNetwork(lab(), "front", "db", { ip: "172.20.0.77" });
  assertEquals(next.containers.find((c) => c.name === "db")!.endpoints[1].address, "172.20.0.77");
  throwsText(
    () => connectNetwork(lab(), "front", "db", { ip: "172.21.0.5" }),
    "no configured subnet contains IP address 172.21.0.5",
  );
  throwsText(
    () => connectNetwork(lab(), "front", "db", { ip: "172.20.0.2" }),
    'Address already in use: 172.20.0.2 on network front is "web"',
  );
  throwsText(() => connectNetwork(lab(), "front", "db", { ip: "172.20.0.1" }), "the gateway");
  throwsText(() => connectNetwork(lab(), "front", "db", { ip: "172.20.0.255" }), "broadcast");
  assertThrows(() => connectNetwork(lab(), "front", "db", { ip: "nope" }), UsageError);
});

Deno.test("connect refuses what Docker refuses", () => {
  throwsText(
    () => connectNetwork(lab(), "front", "web"),
    "endpoint with name web already exists in network front",
  );
  throwsText(
    () => connectNetwork(lab(), "frnt", "web"),
    'network frnt not found (did you mean "front"?)',
  );
  throwsText(
    () => connectNetwork(lab(), "front", "wbe"),
    'No such container: wbe (did you mean "web"?)',
  );
  throwsText(() => connectNetwork(lab(), "front", "tool"), "connected to host network");
  throwsText(() => connectNetwork(lab(), "front", "vault"), "private (none) mode");
  throwsText(
    () => connectNetwork(lab(), "bridge", "db", { aliases: ["x"] }),
    "network-scoped aliases are only supported for user-defined networks",
  );
  throwsText(
    () => connectNetwork(lab(), "bridge", "db", { ip: "172.17.0.9" }),
    "user-specified IP address is supported on user-defined networks only",
  );
});

Deno.test("connect after disconnect of a middle interface counts up from the highest", () => {
  let m = connectNetwork(lab(), "bridge", "app"); // app: eth0 front, eth1 back (internal), eth2 bridge
  m = disconnectNetwork(m, "back", "app");
  m = connectNetwork(m, "back", "app");
  assertEquals(
    m.containers.find((c) => c.name === "app")!.endpoints.map((e) => `${e.network}:${e.ifname}`),
    ["front:eth0", "bridge:eth2", "back:eth3"],
  );
});

Deno.test("bridge addresses are per host; overlay addresses are lab-wide and bring docker_gwbridge", () => {
  const m = loadTopologyObject({
    name: "nwunit",
    hosts: { h1: {}, h2: {} },
    networks: { mesh: { driver: "overlay" } },
    containers: {
      a: { host: "h1", networks: ["mesh"] },
      b: { host: "h2", networks: ["mesh"] },
      c: { host: "h2", network_mode: "bridge" },
    },
  }, { reserved: [], uplink: false }).model;
  const next = connectNetwork(m, "mesh", "c");
  const c = next.containers.find((x) => x.name === "c")!;
  assertEquals(c.endpoints.map((e) => [e.network, e.address]), [
    ["bridge", "172.17.0.2"],
    ["mesh", "10.0.0.4"],
    ["docker_gwbridge", "172.18.0.3"],
  ]);
  // Disconnecting the last overlay leaves docker_gwbridge too.
  const back = disconnectNetwork(next, "mesh", "c");
  assertEquals(back.containers.find((x) => x.name === "c")!.endpoints.map((e) => e.network), [
    "bridge",
  ]);
  assertEquals(back.networks.find((n) => n.name === "docker_gwbridge")!.hosts, ["h1", "h2"]);
});

Deno.test("disconnect removes the endpoint, moves the default route, and drops the host when empty", () => {
  const m = disconnectNetwork(lab(), "front", "web");
  const web = m.containers.find((c) => c.name === "web")!;
  assertEquals([web.endpoints.length, web.defaultEndpoint], [0, -1]);
  const app = disconnectNetwork(lab(), "front", "app").containers.find((c) => c.name === "app")!;
  assertEquals(app.endpoints.map((e) => e.ifname), ["eth1"]); // internal back comes after front
  assertEquals(app.defaultEndpoint, -1); // back is internal
  const gone = disconnectNetwork(disconnectNetwork(lab(), "front", "web"), "front", "app");
  assertEquals(gone.networks.find((n) => n.name === "front")!.hosts, []);
  throwsText(
    () => disconnectNetwork(lab(), "front", "db"),
    "container db is not connected to network front",
  );
});

Deno.test("rm refuses pre-defined networks and networks in use with Docker's text", () => {
  throwsText(
    () => removeNetworks(lab(), ["bridge"]),
    "bridge is a pre-defined network and cannot be removed",
  );
  throwsText(() => removeNetworks(lab(), ["host"]), "host is a pre-defined network");
  throwsText(
    () => removeNetworks(lab(), ["back"]),
    'error while removing network: network back has active endpoints (name:"app" id:"',
  );
  throwsText(() => removeNetworks(lab(), ["nope"]), "network nope not found");
  const m = createNetwork(lab(), "extra");
  assertEquals(removeNetworks(m, ["extra"]).networks.map((n) => n.name), [
    "bridge",
    "front",
    "back",
  ]);
});

Deno.test("rm checks every name before removing any", () => {
  const m = createNetwork(lab(), "extra");
  throwsText(() => removeNetworks(m, ["extra", "back"]), "active endpoints");
  assert(m.networks.some((n) => n.name === "extra"));
});

Deno.test("prune removes unused user networks only", () => {
  let m = createNetwork(lab(), "extra");
  m = createNetwork(m, "more");
  m = disconnectNetwork(m, "back", "db");
  const r = pruneNetworks(disconnectNetwork(m, "back", "app"));
  assertEquals(r.removed, ["back", "extra", "more"]);
  assertEquals(r.model.networks.map((n) => n.name), ["bridge", "front"]);
});
