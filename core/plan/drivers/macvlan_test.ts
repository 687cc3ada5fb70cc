import assert, { deepEqual } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../../model/load.ts";
import { buildPlan } from "../plan.ts";

Deno.test("macvlan on eth0.<vid>: each member host creates the 802.1Q link on eth0 and the endpoints on it", () => {
  const { model } = loadTopologyObject({
    name: "vl",
    hosts: { h1: {}, h2: {}, h3: {} },
    networks: {
      v50: {
        driver: "macvlan",
        driver_opts: { parent: "eth0.50", macvlan_mode: "private" },
        ipam: { config: [{ subnet: "192.168.50.0/24" }] },
      },
    },
    containers: { a: { host: "h1", networks: ["v50"] }, b: { host: "h2", networks: ["v50"] } },
  } as TopologyInput, { reserved: [], uplink: false });
  const plan = buildPlan(model);
  for (const h of ["h1", "h2"]) {
    const ns = plan.namespaces.find((n) => n.name === `vl-${h}`)!;
    const vlans = ns.links.filter((l) => l.kind === "vlan");
    deepEqual(vlans, [{ kind: "vlan", name: "eth0.50", parent: "eth0", id: 50 }]);
    assert(ns.up.includes("eth0.50"));
    const vlanAt = ns.links.findIndex((l) => l.kind === "vlan");
    const mvAt = ns.links.findIndex((l) => l.kind === "macvlan");
    assert(vlanAt >= 0 && mvAt > vlanAt, "the VLAN link exists before its macvlan children");
    const mv = ns.links[mvAt];
    assert(mv.kind === "macvlan" && mv.parent === "eth0.50" && mv.mode === "private");
  }
  const h3 = plan.namespaces.find((n) => n.name === "vl-h3")!;
  assert(!h3.links.some((l) => l.kind === "vlan"), "a host without members gets no VLAN link");
});
