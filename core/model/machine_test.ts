/** The loader is pure: what it avoids on the machine is the MachineView it is given. */
import { deepStrictEqual as assertEquals, notDeepStrictEqual } from "node:assert/strict";
import { loadTopologyObject, type MachineView } from "./load.ts";

const topology = { name: "apm", containers: { web: {} } };
const empty: MachineView = { routes: [], underlays: [] };

Deno.test("the same machine view gives the same model; the loader reads nothing else", () => {
  const a = loadTopologyObject(topology, { machine: empty }).model;
  const b = loadTopologyObject(topology, { machine: empty }).model;
  assertEquals(a, b);
  assertEquals(loadTopologyObject(topology).model, a, "no view: an empty machine");
});

Deno.test("a routed prefix or another lab's recorded underlay moves the automatic underlay", () => {
  const free = loadTopologyObject(topology, { machine: empty }).model.underlay.subnet;
  const routed = loadTopologyObject(topology, {
    machine: { routes: [{ cidr: free, iface: "eth9" }], underlays: [] },
  }).model.underlay.subnet;
  notDeepStrictEqual(routed, free);
  const recorded = loadTopologyObject(topology, {
    machine: { routes: [], underlays: [{ lab: "other", subnet: free }] },
  }).model.underlay.subnet;
  notDeepStrictEqual(recorded, free);
});

Deno.test("the lab's own uplink route and recorded underlay do not count against it", () => {
  const free = loadTopologyObject(topology, { machine: empty }).model.underlay.subnet;
  const own: MachineView = {
    routes: [{ cidr: free, iface: "nsl-apm" }],
    underlays: [{ lab: "apm", subnet: free }],
  };
  assertEquals(loadTopologyObject(topology, { machine: own }).model.underlay.subnet, free);
});
