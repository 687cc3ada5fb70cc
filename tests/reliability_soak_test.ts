/**
 * SPEC §9 / issue 9 "soak": `Lab.up` / `check` / `down` of a small lab (two networks, a published
 * port through the uplink, DNS, responders, a command), cycle after cycle in ONE process through
 * the library API (`_reliability/soak_child.ts`, run with `--expose-gc` so that samples are taken
 * after a full GC). Samples: before the first cycle, after the warm-up (10 cycles), every 10
 * cycles, and at the end.
 *
 * Asserted: every cycle's checks pass; open descriptors at the end equal the warm-up level
 * exactly (the first cycle opens a fixed dozen that stay: the cached root-namespace fd, the root
 * netlink socket, the runtime's signal and child-process socket pairs); the JS heap in use after
 * GC stays within `HEAP_TOLERANCE_KIB` of the warm-up level (one leaked model + plan of this lab
 * per cycle would exceed it within 100 cycles). RSS does NOT return to its warm-up level: it
 * grows ~0.7 MiB per cycle over 200 cycles while the heap in use stays flat (V8's heap total
 * grows 21 → 70 MiB; see docs/reliability.md); it is reported, and bounded only against a gross
 * leak (`RSS_KIB_PER_CYCLE` per cycle).
 *
 * Counts: `NSLAB_SOAK_CYCLES` (CI 20, `NSLAB_LONG=1` 200).
 */
import assert from "node:assert/strict";
import { count, labNamespaces, ROOT } from "./_reliability/support.ts";

const CYCLES = Math.max(count("NSLAB_SOAK_CYCLES", 20, 200), 20);
const WARMUP = 10;
const HEAP_TOLERANCE_KIB = 2048;
const RSS_KIB_PER_CYCLE = 2048;

interface Sample {
  cycle: number;
  fds: number;
  rssKiB: number;
  heapUsedKiB: number;
  heapTotalKiB: number;
  externalKiB: number;
  checks: number;
  failed: number;
}

Deno.test(`${CYCLES} Lab.up/check/down cycles in one process: fds and memory return to their level`, async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `${ROOT}tests/_reliability/soak_child.ts`,
      String(CYCLES),
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `the soak child ran all cycles: ${stderr.slice(-2000)}`);
  const samples = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
    JSON.parse(l) as Sample
  );
  const start = samples[0];
  const warm = samples.find((s) => s.cycle === WARMUP)!;
  const end = samples[samples.length - 1];
  assert.equal(end.cycle, CYCLES);
  const rssSlope = (end.rssKiB - warm.rssKiB) / (CYCLES - WARMUP);
  const heapSlope = (end.heapUsedKiB - warm.heapUsedKiB) / (CYCLES - WARMUP);
  console.log(
    `soak ${CYCLES} cycles, ${end.checks} checks, ${end.failed} failed\n` +
      `  fds: start ${start.fds}, after ${WARMUP} ${warm.fds}, end ${end.fds}\n` +
      `  RSS KiB: start ${start.rssKiB}, after ${WARMUP} ${warm.rssKiB}, end ${end.rssKiB} ` +
      `(${rssSlope.toFixed(0)} KiB/cycle)\n` +
      `  JS heap used KiB: start ${start.heapUsedKiB}, after ${WARMUP} ${warm.heapUsedKiB}, end ` +
      `${end.heapUsedKiB} (${heapSlope.toFixed(1)} KiB/cycle); heap total ${warm.heapTotalKiB} → ` +
      `${end.heapTotalKiB} KiB\n` +
      `  samples (cycle:fds/rss/heap): ${
        samples.map((s) => `${s.cycle}:${s.fds}/${s.rssKiB}/${s.heapUsedKiB}`).join(" ")
      }`,
  );
  assert.equal(end.failed, 0, "every cycle's checks passed");
  assert.ok(end.checks >= CYCLES * 40, `${end.checks} checks ran`);
  assert.equal(end.fds, warm.fds, "file descriptors back to their warm-up level");
  assert.ok(
    end.heapUsedKiB <= warm.heapUsedKiB + HEAP_TOLERANCE_KIB,
    `JS heap ${warm.heapUsedKiB} KiB after warm-up → ${end.heapUsedKiB} KiB at the end`,
  );
  assert.ok(
    end.rssKiB <= warm.rssKiB + RSS_KIB_PER_CYCLE * (CYCLES - WARMUP),
    `RSS ${warm.rssKiB} KiB after warm-up → ${end.rssKiB} KiB at the end`,
  );
  assert.deepEqual(labNamespaces("rlo"), [], "no soak namespace left");
});

Deno.test("the soak's measures can fail: a lab left up holds descriptors and heap", async () => {
  // The same child with 0 cycles would be flat; a lab kept up in this process is not.
  const { Lab } = await import("../mod.ts");
  const { fdCount, rlName, leftovers } = await import("./_reliability/support.ts");
  const before = fdCount();
  const name = rlName("o");
  const lab = await Lab.up(`${ROOT}tests/_reliability/small.yaml`, { name });
  try {
    assert.ok(fdCount() > before, `a running lab holds descriptors (${before} → ${fdCount()})`);
  } finally {
    await lab.down();
  }
  assert.deepEqual(await leftovers(name), []);
});
