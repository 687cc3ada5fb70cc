import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { Model } from "../model/types.ts";
import { buildPlan } from "./plan.ts";
import { diffPlans } from "./diff.ts";
import { connectNetwork, createNetwork, disconnectNetwork } from "../model/network_ops.ts";
import { reloadRuleset } from "./firewall/reload.ts";
import { hostRuleset } from "./firewall/rules.ts";

function lab(name = "nwdiff"): Model {
  return loadTopologyObject({
    name,
    hosts: { h1: {}, h2: {} },
    networks: { front: {}, back: {}, mesh: { driver: "overlay" } },
    containers: {
      web: { host: "h1", networks: ["front"], ports: ["8080:80"] },
      db: { host: "h1", networks: ["back"] },
      p1: { host: "h1", networks: ["mesh"] },
      p2: { host: "h2", networks: ["mesh"] },
      p3: { host: "h2", networks: ["default"] },
    },
  }, { reserved: [], uplink: false }).model;
}

Deno.test("the same plan gives an empty delta", () => {
  const d = diffPlans(buildPlan(lab()), buildPlan(lab()));
  assert(d.empty);
  assertEquals(d.namespaces, []);
});

Deno.test("connect adds one veth, its address and up, and reloads only that host's firewall", () => {
  const m = lab();
  const d = diffPlans(buildPlan(m), buildPlan(connectNetwork(m, "back", "web")));
  assertEquals(d.namespaces.map((n) => n.name), ["nwdiff-h1", "nwdiff-web"]);
  const [h1, web] = d.namespaces;
  assertEquals(h1.addLinks.map((l) => [l.kind, l.name]), [[
    "veth",
    "veth" + h1.addLinks[0].name.slice(4),
  ]]);
  const veth = h1.addLinks[0];
  assert(veth.kind === "veth" && veth.master === "br-back" && veth.peer.name === "eth1");
  assertEquals(h1.removeLinks, []);
  assertEquals(web.addAddrs, [{ dev: "eth1", address: "172.19.0.3", prefix: 16 }]);
  assertEquals(web.up, ["eth1"]);
  assertEquals(web.routes, []); // the default route stays on eth0
  // /etc/hosts of web lists the new address.
  assertEquals(d.files.map((f) => f.container), ["web"]);
  // The firewall of h1 does not change (same networks on the host); h2 untouched.
  assertEquals(d.firewall, []);
});

Deno.test("connecting to a network new on the host creates its bridge first and reloads the firewall", () => {
  const m = lab();
  const d = diffPlans(buildPlan(m), buildPlan(connectNetwork(m, "front", "p3")));
  const h2 = d.namespaces.find((n) => n.name === "nwdiff-h2")!;
  assertEquals(h2.addLinks.map((l) => l.kind), ["bridge", "veth"]);
  assertEquals(h2.addAddrs, [{ dev: "br-front", address: "172.18.0.1", prefix: 16 }]);
  assertEquals(d.firewall.map((f) => f.netns), ["nwdiff-h2"]);
});

Deno.test("an overlay endpoint on one host programs FDB and neighbour entries on the others", () => {
  const m = lab();
  const next = connectNetwork(m, "mesh", "p3");
  const d = diffPlans(buildPlan(m), buildPlan(next));
  const h1 = d.namespaces.find((n) => n.name === "nwdiff-h1")!;
  const mac = next.containers.find((c) => c.name === "p3")!.endpoints[1].mac;
  assert(h1.fdb.some((f) => f.mac === mac), JSON.stringify(h1));
  assert(h1.neighs.some((n) => n.mac === mac));
  // And disconnecting removes them again (on a device that stays).
  const back = diffPlans(buildPlan(next), buildPlan(disconnectNetwork(next, "mesh", "p3")));
  const h1b = back.namespaces.find((n) => n.name === "nwdiff-h1")!;
  assert(h1b.removeFdb.some((f) => f.mac === mac));
  assert(h1b.removeNeighs.some((n) => n.mac === mac));
});

Deno.test("disconnect removes the veth only; what dies with it is not removed twice", () => {
  const m = lab();
  const d = diffPlans(buildPlan(m), buildPlan(disconnectNetwork(m, "front", "web")));
  const h1 = d.namespaces.find((n) => n.name === "nwdiff-h1")!;
  // front had only web on h1: its veth and bridge go (veth first).
  assertEquals(h1.removeLinks.map((l) => l.kind), ["veth", "bridge"]);
  assertEquals(h1.removeAddrs, []); // the gateway address goes with the bridge
  // web's eth0, address and default route went with the veth: nothing to do inside web.
  assert(!d.namespaces.some((n) => n.name === "nwdiff-web"));
  assertEquals(d.firewall.map((f) => f.netns), ["nwdiff-h1"]);
});

Deno.test("the default route moves by replacement when the default endpoint goes", () => {
  let m = connectNetwork(lab(), "front", "db"); // db: eth0 back (default), eth1 front
  const before = buildPlan(m);
  m = disconnectNetwork(m, "back", "db");
  const d = diffPlans(before, buildPlan(m));
  const db = d.namespaces.find((n) => n.name === "nwdiff-db")!;
  assertEquals(db.routes, [{ dst: "default", via: "172.18.0.1", dev: "eth1" }]);
  assertEquals(db.removeRoutes, []);
});

Deno.test("a network created without members changes nothing in the kernel", () => {
  const m = lab();
  assert(diffPlans(buildPlan(m), buildPlan(createNetwork(m, "extra"))).empty);
});

Deno.test("plans of different labs or namespaces are refused", () => {
  throws(() => diffPlans(buildPlan(lab("a1")), buildPlan(lab("a2"))), /different labs/);
  const other = loadTopologyObject({ name: "nwdiff", containers: { x: {} } }, {
    reserved: [],
    uplink: false,
  }).model;
  throws(() => diffPlans(buildPlan(lab()), buildPlan(other)), /other namespaces/);
});

Deno.test("reloadRuleset flushes each built-in chain it appends to and leaves DOCKER-USER alone", () => {
  const rules = hostRuleset(lab(), "h1");
  const text = reloadRuleset(rules);
  const lines = text.split("\n");
  assert(!lines.some((l) => l.startsWith(":DOCKER-USER") || l.startsWith("-A DOCKER-USER")));
  assert(lines.includes("-A FORWARD -j DOCKER-USER"));
  const nat = lines.slice(lines.indexOf("*nat"), lines.indexOf("COMMIT"));
  const filter = lines.slice(lines.indexOf("*filter"));
  assertEquals(nat.filter((l) => l.startsWith("-F")), [
    "-F PREROUTING",
    "-F OUTPUT",
    "-F POSTROUTING",
  ]);
  assertEquals(filter.filter((l) => l.startsWith("-F")), ["-F FORWARD"]);
  // Flushes come after the declarations and before the first rule.
  const firstRule = nat.findIndex((l) => l.startsWith("-A"));
  assert(nat.indexOf("-F PREROUTING") < firstRule);
  assert(nat.indexOf("-F PREROUTING") > nat.findIndex((l) => l.startsWith(":")));
  // Every other line survives in order.
  const kept = rules.split("\n").filter((l) =>
    !l.includes("DOCKER-USER -") && !l.startsWith(":DOCKER-USER")
  );
  assertEquals(
    lines.filter((l) => !l.startsWith("-F ")),
    kept.filter((l) => l !== "-A DOCKER-USER -j RETURN"),
  );
});
