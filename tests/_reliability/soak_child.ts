/**
 * The soak's worker, run in its own process so that a full GC can be forced between samples:
 * `deno run -A --v8-flags=--expose-gc tests/_reliability/soak_child.ts CYCLES [check|nocheck]`.
 * Runs CYCLES `Lab.up` / `check` / `down` cycles of `small.yaml` through the library API and
 * prints one JSON line per sample (before the first cycle, after every 10th, after the last):
 * `{ cycle, fds, rssKiB, heapUsedKiB, heapTotalKiB, externalKiB, checks, failed }`.
 *
 * @module
 */
import { Lab } from "../../mod.ts";
import { fdCount, rlName, rssKiB } from "./support.ts";

const cycles = Number(Deno.args[0] ?? "20");
const withChecks = Deno.args[1] !== "nocheck";
const small = new URL("./small.yaml", import.meta.url).pathname;
const gc = (globalThis as unknown as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

let checks = 0;
let failed = 0;
function sample(cycle: number): void {
  gc!();
  const line = {
    cycle,
    fds: fdCount(),
    rssKiB: rssKiB(),
    heapUsedKiB: Math.round(Deno.memoryUsage().heapUsed / 1024),
    heapTotalKiB: Math.round(Deno.memoryUsage().heapTotal / 1024),
    externalKiB: Math.round(Deno.memoryUsage().external / 1024),
    checks,
    failed,
  };
  console.log(JSON.stringify(line));
}

sample(0);
for (let i = 1; i <= cycles; i++) {
  {
    await using lab = await Lab.up(small, { name: rlName("o") });
    if (withChecks) {
      const report = await lab.check();
      checks += report.results.length;
      failed += report.results.filter((r) => !r.pass).length;
    }
  }
  if (i % 10 === 0 || i === cycles) sample(i);
}
