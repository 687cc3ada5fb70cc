/**
 * A host's part bound to a machine interface (`up --underlay-dev`), applied to a RecordingKernel:
 * the host's eth0 is made from the root namespace as a macvlan of the machine's NIC, before the
 * host namespace's links that ride on it; a missing NIC is refused by name.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import { buildPlan, hostPartPlan } from "../plan/plan.ts";
import { onMachineDevice } from "../plan/machine.ts";
import { diffPlans, emptyPlan } from "../plan/diff.ts";
import { applyDelta } from "./apply.ts";
import { RecordingKernel } from "./target.ts";
import { NslabError } from "../errors.ts";

const { model } = loadTopologyObject({
  name: "mltest",
  hosts: { h1: { address: "198.51.100.11" }, h2: { address: "198.51.100.12" } },
  networks: { mesh: { driver: "overlay" } },
  containers: { p1: { host: "h1", networks: ["mesh"] }, p2: { host: "h2", networks: ["mesh"] } },
}, { reserved: [] });
const part = onMachineDevice(hostPartPlan(buildPlan(model), model, "h1"), model, "h1", "ens4");
const delta = diffPlans(emptyPlan(part.lab), part);
const machine = {
  "": [{ name: "lo", index: 1, kind: "", mac: "" }, {
    name: "ens4",
    index: 2,
    kind: "",
    mac: "52:54:00:00:00:01",
  }],
};

Deno.test("the host's eth0 is created from the root namespace, before the VXLAN that rides on it", async () => {
  const k = new RecordingKernel(machine);
  await applyDelta(delta, k, {});
  const made = k.messages.filter((m) => m.info.op === "add" && m.info.object === "link")
    .map((m) => `${m.ns}:${m.info.target}`);
  const eth0 = made.findIndex((x) => x.startsWith(":") && x.includes("eth0"));
  const vxlan = made.findIndex((x) => x.startsWith("mltest-h1:") && x.includes("vx-mesh"));
  assert(eth0 >= 0 && vxlan > eth0, made.join("\n"));
  assertEquals(made.filter((x) => x.startsWith(":")).length, 1);
});

Deno.test("a machine without that interface is refused by name", async () => {
  await rejects(
    applyDelta(delta, new RecordingKernel({ "": machine[""].slice(0, 1) }), {}),
    (e) => {
      assert(e instanceof NslabError);
      assert(/to "ens4": this machine has no such interface/.test(e.message), e.message);
      return true;
    },
  );
});
