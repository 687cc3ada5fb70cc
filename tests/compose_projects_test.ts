/**
 * The real-world-shaped Compose projects of core/model/testdata/compose/ (whose models the unit
 * tests check) are working labs: each comes up from its own folder's file, as a user would run it
 * (with `--profile debug`), passes every implied and explicit check, and comes down leaving no
 * namespace. Lab names carry this test's prefix (`cpx…`) so they never meet another test's.
 */

import assert, { deepEqual } from "node:assert/strict";
import { Lab } from "../mod.ts";
import { listNetns } from "../core/kernel/netns/netns.ts";

const dir = new URL("../core/model/testdata/compose/", import.meta.url).pathname;
const projects = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();

for (const [i, project] of projects.entries()) {
  Deno.test({
    name: `compose project ${project} comes up and passes all of its checks`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const name = `cpx${i}${crypto.randomUUID().slice(0, 4)}`;
      const previous = Deno.env.get("COMPOSE_PROFILES");
      Deno.env.set("COMPOSE_PROFILES", "debug");
      try {
        await using lab = await Lab.up(`${dir}${project}/compose.yaml`, { name, uplink: false });
        const report = await lab.check();
        const failed = report.results.filter((r) => !r.pass)
          .map((r) => `${r.expectation.id}: ${r.hint}`);
        deepEqual(failed, []);
        assert(report.results.length > 0);
      } finally {
        if (previous === undefined) Deno.env.delete("COMPOSE_PROFILES");
        else Deno.env.set("COMPOSE_PROFILES", previous);
      }
      deepEqual(listNetns().filter((n) => n.startsWith(`${name}-`)), []);
    },
  });
}
