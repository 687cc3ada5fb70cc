/**
 * Check benchmark (issue 7, SPEC §8): time `runChecks` on a running lab — the implied check matrix
 * of 100 containers is 9,900 reachability probes plus DNS. Target: ≤ 1 s for the reach matrix.
 *
 * `benchChecks(model)` measures any running lab (the lead passes a real one). Run directly, this
 * file builds a lab by hand (namespaces `prt-<rand>-…`, one bridge, a responder and the embedded
 * DNS in every container), measures, and removes it:
 *
 * `deno run -A bench/checks.ts [N] [--runs R]` (default N = 100, R = 3).
 *
 * @module
 */

import type { Model } from "../core/model/types.ts";
import { runChecks } from "../core/checks/run.ts";
import { buildModel } from "../core/checks/_model_testkit.ts";
import { run, TestNets } from "../core/checks/_netns_testkit.ts";
import { type Responder, startResponder } from "../core/runtime/responder.ts";
import { DnsServer } from "../core/dns/server.ts";
import { buildRecords } from "../core/dns/records.ts";

/** One line of the result table (same shape as the DNS benchmark's rows). */
export interface BenchRow {
  case: string;
  subject: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Times `runChecks` on a running lab: the reach matrix alone, then every implied check. Each
 * row is the median of `runs`.
 */
export async function benchChecks(
  model: Model,
  opts: { runs?: number; timeoutMs?: number } = {},
): Promise<BenchRow[]> {
  const runs = opts.runs ?? 3;
  const n = model.containers.length;
  const rows: BenchRow[] = [];
  for (const only of [["reach"], [] as string[]]) {
    const times: number[] = [];
    let probes = 0;
    let failed = 0;
    for (let i = 0; i < runs; i++) {
      const r = await runChecks(model, { only, timeoutMs: opts.timeoutMs });
      times.push(r.elapsedMs);
      probes = r.probes;
      failed = r.results.filter((x) => !x.pass).length;
    }
    const ms = median(times);
    const what = only.length ? "reach matrix" : "all implied checks";
    rows.push({
      case: `${what}, ${n} containers`,
      subject: "nslab check",
      metric: "elapsed",
      value: Math.round(ms),
      unit: "ms",
      note: `${probes} probes, ${Math.round(probes / (ms / 1000))} probes/s, ${failed} failed`,
    });
  }
  return rows;
}

/** A lab of `n` containers on one bridge, built by hand; `close()` removes it. */
export async function buildBenchLab(
  n: number,
): Promise<{ model: Model; close: () => Promise<void> }> {
  const nets = new TestNets("prt");
  const responders: Responder[] = [];
  const containers = Array.from({ length: n }, (_, i) => ({
    name: `c${i + 1}`,
    nets: [["net", `10.251.${(i + 2) >> 8}.${(i + 2) & 255}`]] as [string, string][],
    expose: [{ port: 80, protocol: "tcp" as const }],
  }));
  const model = buildModel({
    lab: `prt-${nets.id}`,
    uplink: false,
    networks: [{ name: "net", subnet: "10.251.0.0/16" }],
    containers,
  });
  const dns = new DnsServer(buildRecords(model));
  const close = async () => {
    for (const r of responders) r.close();
    await dns.close();
    nets.cleanup();
  };
  try {
    const host = await nets.add("host");
    await run("ip", ["-n", host, "addr", "add", "10.77.0.11/32", "dev", "lo"]);
    const batch = ["link add br-net type bridge", "addr add 10.251.0.1/16 dev br-net"];
    batch.push("link set br-net up");
    const boxes: string[] = [];
    for (const c of model.containers) boxes.push(await nets.add(c.name));
    for (const [i, c] of model.containers.entries()) {
      batch.push(`link add v${i} type veth peer name eth0 netns ${boxes[i]}`);
      batch.push(`link set v${i} master br-net`, `link set v${i} up`);
      void c;
    }
    await run("ip", ["-n", host, "-batch", "-"], batch.join("\n") + "\n");
    for (const [i, c] of model.containers.entries()) {
      const ep = c.endpoints[0];
      await run(
        "ip",
        ["-n", boxes[i], "-batch", "-"],
        `addr add ${ep.address}/16 dev eth0\nlink set eth0 up\nroute add default via ${ep.gateway}\n`,
      );
      responders.push(await startResponder(boxes[i], c.name, [{ port: 80, protocol: "tcp" }]));
      await dns.listen(boxes[i], c.name);
    }
    return { model, close };
  } catch (e) {
    await close();
    throw e;
  }
}

if (import.meta.main) {
  const n = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 100);
  const runsIdx = Deno.args.indexOf("--runs");
  const runs = runsIdx >= 0 ? Number(Deno.args[runsIdx + 1]) : 3;
  const t0 = performance.now();
  const lab = await buildBenchLab(n);
  console.log(`lab of ${n} containers built by hand in ${Math.round(performance.now() - t0)} ms`);
  try {
    for (const r of await benchChecks(lab.model, { runs })) {
      console.log(`${r.case}: ${r.value} ${r.unit} (${r.note})`);
    }
  } finally {
    await lab.close();
  }
}
