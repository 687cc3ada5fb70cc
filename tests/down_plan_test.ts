/**
 * `down` through the plan (root): teardown given the lab's plan removes what the plan names
 * through the applier's removal sections, only where the journal and the lab's tag show it is the
 * lab's — a namespace under a planned name that another lab made and tagged stays — and leaves
 * nothing of the lab behind.
 */
import assert from "node:assert/strict";
import { applyNetwork } from "../core/kernel/apply.ts";
import { teardown } from "../core/kernel/teardown.ts";
import { labTag } from "../core/kernel/discover.ts";
import { createNetns, deleteNetns, listNetns } from "../core/kernel/netns/netns.ts";
import { buildTestPlan, leftovers, run } from "./_nlt_support.ts";

Deno.test("down with the plan removes the lab's objects and not another lab's namespace under a planned name", async () => {
  const lab = `lyd-${crypto.randomUUID().slice(0, 6)}`;
  const plan = buildTestPlan(lab, { hosts: 1, containers: 2, uplinkOctet: 250 });
  const rootIf = plan.root.links[0].name;
  const foreign = `${lab}-other`;
  try {
    await applyNetwork(plan);
    createNetns(foreign);
    const tagged = run("ip", [
      "-n",
      foreign,
      "link",
      "set",
      "lo",
      "alias",
      labTag(`lyo-${lab.slice(4)}`),
    ]);
    assert.equal(tagged.code, 0, tagged.err);
    const withForeign = {
      ...plan,
      namespaces: [...plan.namespaces, { ...plan.namespaces[0], name: foreign }],
    };
    const report = await teardown(lab, { plan: withForeign });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.namespaces, plan.namespaces.map((n) => n.name).sort());
    assert.deepEqual(report.rootLinks, [rootIf]);
    assert.ok(listNetns().includes(foreign), "another lab's namespace is not the plan's to delete");
    assert.deepEqual(leftovers(lab, [rootIf]).filter((l) => !l.includes(foreign)), []);
  } finally {
    try {
      deleteNetns(foreign);
    } catch { /* not made */ }
    await teardown(lab);
  }
});
