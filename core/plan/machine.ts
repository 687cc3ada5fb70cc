/**
 * A host's part on a real machine: instead of a veth into the simulated underlay segment, the
 * host namespace's `eth0` is a macvlan of one of the machine's interfaces (`--underlay-dev DEV`),
 * carrying the host's underlay address and MAC; VXLAN then runs over the machine's real network.
 * The machine's own addresses and routes are not touched: the macvlan is created on DEV and moved
 * into the host namespace at creation, and dies with it.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { NamespacePlan, Plan } from "./types.ts";

/**
 * The part plan of `hostName` bound to the machine's interface `dev`: no underlay namespace, the
 * host's `eth0` a macvlan (bridge mode) on `dev` with the host's MAC, everything else as planned.
 *
 * @example
 * ```ts
 * const part = onMachineDevice(hostPartPlan(buildPlan(model), model, "h1"), model, "h1", "ens4");
 * part.root.links; // [{ kind: "macvlan", name: "eth0", parent: "ens4", targetNs: "lab-h1", … }]
 * ```
 */
export function onMachineDevice(part: Plan, model: Model, hostName: string, dev: string): Plan {
  const host = model.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`Model of lab "${model.lab}" has no host "${hostName}"`);
  const cable = (ns: NamespacePlan): NamespacePlan =>
    ns.name !== host.netns ? ns : {
      ...ns,
      links: ns.links.filter((l) => !(l.kind === "veth" && l.name === "eth0")),
    };
  return {
    ...part,
    root: {
      links: [{
        kind: "macvlan",
        name: "eth0",
        parent: dev,
        mode: "bridge",
        targetNs: host.netns,
        mac: host.mac,
      }],
      addrs: [],
      routes: [],
      up: [],
    },
    namespaces: part.namespaces.filter((n) => n.role !== "underlay").map(cable),
  };
}
