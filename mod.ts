/**
 * nslab: Compose-like network labs built on the Linux kernel for real — namespaces, veth pairs,
 * bridges, VXLAN, macvlan, iptables NAT and an embedded DNS at 127.0.0.11 — and checked from
 * inside the namespaces.
 *
 * @example
 * ```ts
 * import { formatTable, Lab, reportPassed } from "./mod.ts";
 * await using lab = await Lab.up("topologies/bridge.yaml", { name: "t1" });
 * const report = await lab.check();
 * if (!reportPassed(report)) console.log(formatTable(report, { color: false }));
 * ```
 *
 * @module
 */

export { type ExecResult, Lab, type LabUpOptions } from "./core/lab/fixture.ts";
export { loadTopology, loadTopologyObject, type TopologyInput } from "./core/model/load.ts";
export { buildPlan } from "./core/plan/plan.ts";
export type * from "./core/model/types.ts";
export type * from "./core/plan/types.ts";
export { NslabError, TopologyError } from "./core/errors.ts";
export { formatTable, reportPassed } from "./core/checks/report.ts";
export type { CheckReport, CheckResult } from "./core/checks/types.ts";
export { type Bundle, makeBundle, parseBundle } from "./core/lab/bundle.ts";
export { modelDigest } from "./core/model/digest.ts";
