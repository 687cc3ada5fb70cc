/**
 * The soak's worker, run in its own process so that a full GC can be forced between samples:
 * `deno run -A --v8-flags=--expose-gc tests/_reliability/soak_child.ts CYCLES [MODE]`. Runs CYCLES
 * `Lab.up` / `check` / `down` cycles of `small.yaml` through the library API (MODE `check`, the
 * default; `nocheck` leaves out `check`) and prints one JSON line per sample (before the first
 * cycle, after every 10th, after the last): {@link Sample}. MODE `hold` runs no lab: each cycle
 * keeps 2 MiB, to show that the measure sees memory that is really held. Failed checks are printed
 * on stderr.
 *
 * Each sample is taken twice. First after an ordinary full GC: what the process holds as the
 * runtime leaves it — V8 keeps its young generation at the size it grew to (up to ~58 MiB on a
 * 24 GiB machine, whatever the program) and glibc keeps freed memory for reuse. Then after handing
 * both back: a memory-reducing GC (V8's "last-resort" GC, what V8 runs by itself under memory
 * pressure; it also shrinks the young generation and frees swept array buffers) and glibc's
 * `malloc_trim(0)`. What is resident then is what the process really uses.
 *
 * @module
 */
import v8 from "node:v8";
import { Lab } from "../../mod.ts";
import { fdCount, rlName, rssKiB } from "./support.ts";

/** One sample line. */
export interface Sample {
  cycle: number;
  fds: number;
  /** After an ordinary full GC. */
  rssKiB: number;
  heapUsedKiB: number;
  heapTotalKiB: number;
  externalKiB: number;
  /** V8's young generation (new space), after an ordinary full GC. */
  youngKiB: number;
  /** After a memory-reducing GC and malloc_trim. */
  reclaimed: { rssKiB: number; heapUsedKiB: number; heapTotalKiB: number; externalKiB: number };
  checks: number;
  failed: number;
}

type Gc = (opts?: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

const cycles = Number(Deno.args[0] ?? "20");
const mode = Deno.args[1] ?? "check";
const small = new URL("./small.yaml", import.meta.url).pathname;
const gc = (globalThis as unknown as { gc?: Gc }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const libc = Deno.dlopen("libc.so.6", {
  malloc_trim: { parameters: ["usize"], result: "i32" },
});

const KiB = (bytes: number) => Math.round(bytes / 1024);

function heap() {
  const m = Deno.memoryUsage();
  return {
    rssKiB: rssKiB(),
    heapUsedKiB: KiB(m.heapUsed),
    heapTotalKiB: KiB(m.heapTotal),
    externalKiB: KiB(m.external),
  };
}

let checks = 0;
let failed = 0;
function sample(cycle: number): void {
  gc!();
  const plain = heap();
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  gc!({ type: "major", execution: "sync", flavor: "last-resort" });
  libc.symbols.malloc_trim(0n);
  const line: Sample = {
    cycle,
    fds: fdCount(),
    ...plain,
    youngKiB: KiB(young?.space_size ?? 0),
    reclaimed: heap(),
    checks,
    failed,
  };
  console.log(JSON.stringify(line));
}

const held: Uint8Array[] = [];
sample(0);
for (let i = 1; i <= cycles; i++) {
  if (mode === "hold") held.push(new Uint8Array(2 << 20).fill(1));
  else {
    await using lab = await Lab.up(small, { name: rlName("o") });
    if (mode === "check") {
      const report = await lab.check();
      checks += report.results.length;
      for (const r of report.results.filter((r) => !r.pass)) {
        failed++;
        console.error(`cycle ${i}: failed ${JSON.stringify(r)}`);
      }
    }
  }
  if (i % 10 === 0 || i === cycles) sample(i);
}
