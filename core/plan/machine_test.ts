import { deepEqual, equal } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { buildPlan, hostPartPlan } from "./plan.ts";
import { onMachineDevice } from "./machine.ts";

const { model } = loadTopologyObject({
  name: "md",
  hosts: { h1: { address: "192.0.2.11" }, h2: { address: "192.0.2.12" } },
  networks: { mesh: { driver: "overlay" } },
  containers: { a: { host: "h1", networks: ["mesh"] }, b: { host: "h2", networks: ["mesh"] } },
} as TopologyInput, { reserved: [] });
const part = hostPartPlan(buildPlan(model), model, "h1");
const bound = onMachineDevice(part, model, "h1", "ens4");
const hostNs = (p: typeof part) => p.namespaces.find((n) => n.name === "md-h1")!;

Deno.test("bound to a NIC, the host's eth0 is a macvlan of it with the host's MAC, not a veth", () => {
  deepEqual(bound.root.links, [{
    kind: "macvlan",
    name: "eth0",
    parent: "ens4",
    mode: "bridge",
    targetNs: "md-h1",
    mac: model.hosts[0].mac,
  }]);
  deepEqual(hostNs(bound).links.filter((l) => l.name === "eth0"), []);
  deepEqual(hostNs(part).links.filter((l) => l.kind === "veth" && l.name === "eth0").length, 1);
});

Deno.test("bound to a NIC, the part has no underlay namespace and keeps everything else", () => {
  deepEqual(bound.namespaces.map((n) => n.name), ["md-h1", "md-a"]);
  deepEqual(hostNs(bound).addrs, hostNs(part).addrs);
  const vxlan = hostNs(bound).links.find((l) => l.kind === "vxlan");
  equal(vxlan?.kind === "vxlan" && vxlan.dev, "eth0");
  deepEqual(hostNs(bound).fdb, hostNs(part).fdb);
  deepEqual(bound.firewall, part.firewall);
  deepEqual(bound.processes, part.processes);
});
