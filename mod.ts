/**
 * nslab: Compose-like network labs built on the Linux kernel for real — namespaces, veth pairs,
 * bridges, VXLAN, macvlan, iptables NAT and an embedded DNS at 127.0.0.11 — and checked from
 * inside the namespaces. Building a lab needs root.
 *
 * @example
 * ```ts
 * import { Lab } from "./mod.ts";
 * await using lab = await Lab.up("topologies/bridge.yaml", { name: "usdoc-mod", uplink: false });
 * await lab.expect("web").reaches("app", 8000);
 * await lab.assertChecks(); // throws the table of failing rows, if any
 * ```
 *
 * @module
 */

export { type ExecResult, Lab, type LabUpOptions } from "./core/lab/fixture.ts";
export { LabExpect } from "./core/lab/expect.ts";
export type { AttachOptions, ContainerRef } from "./core/lab/attach.ts";
export {
  assertReport,
  type CheckOutcome,
  ChecksFailedError,
  failureMessage,
  withVerdict,
} from "./core/checks/verdict.ts";
export {
  formatJson,
  formatJunit,
  formatTable,
  reportPassed,
  type TableOptions,
} from "./core/checks/report.ts";
export { formatGithub, formatTap } from "./core/checks/ci_formats.ts";
export type * from "./core/checks/types.ts";
export { loadTopology, loadTopologyObject, type TopologyInput } from "./core/model/load.ts";
export { buildPlan } from "./core/plan/plan.ts";
export type * from "./core/model/types.ts";
export type * from "./core/plan/types.ts";
export { NslabError, TopologyError } from "./core/errors.ts";
export { type Bundle, makeBundle, parseBundle } from "./core/lab/bundle.ts";
export { modelDigest } from "./core/model/digest.ts";
