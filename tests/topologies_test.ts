/**
 * Every bundled topology is a working lab: brought up for real, every implied and explicit check
 * passes, and it comes down leaving nothing. A topology that needs a kernel feature this machine
 * lacks must be refused up front with that feature's name, touching nothing.
 */

import assert, { deepEqual } from "node:assert/strict";
import { Lab } from "../mod.ts";
import { UnsupportedError } from "../core/errors.ts";

const dir = new URL("../topologies/", import.meta.url);
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".yaml"))
  .sort();

function namespaces(prefix: string): string[] {
  const out = new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith(prefix));
}

for (const [i, file] of files.entries()) {
  Deno.test({
    name: `topologies/${file} comes up and passes all of its checks`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const name = `tp${i}${crypto.randomUUID().slice(0, 5)}`;
      try {
        await using lab = await Lab.up(new URL(file, dir).pathname, { name });
        const report = await lab.check();
        const failed = report.results.filter((r) => !r.pass)
          .map((r) => `${r.expectation.id}: ${r.hint}`);
        deepEqual(failed, []);
        assert(report.results.length > 0);
      } catch (e) {
        if (!(e instanceof UnsupportedError)) throw e;
        // Refused for a missing kernel feature: the message names it, and nothing was built.
        assert.match(e.message, /kernel/);
        assert.match(e.message, new RegExp(`${file}:\\d+:\\d+`));
      }
      deepEqual(namespaces(`${name}-`), []);
    },
  });
}
