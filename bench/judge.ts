/**
 * The verdicts of a run: each goal of issue #19 judged on the row it names (the CLI rows where
 * there is one), as met or missed, for the table's notes and the targets table of RESULTS.md.
 * Pure: no I/O.
 *
 * @module
 */

import type { ChartCase } from "./chart.ts";
import { type Row, type Target, targetOf } from "./result.ts";

/** What each judged row must be, by case id: the subject and the test of its row. */
const GOALS: { case: string; subject: string; ok: (r: Row) => boolean | null }[] = [
  { case: "up100", subject: "nslab up + down (CLI)", ok: (r) => ratio(r, (x) => x <= 1.0) },
  { case: "up500", subject: "nslab up + down (CLI)", ok: (r) => ratio(r, (x) => x <= 0.6) },
  { case: "up4000", subject: "nslab up + down (CLI)", ok: (r) => r.value <= 12_000 },
  {
    case: "memory4000",
    subject: "nslab supervisor (CLI, detached)",
    ok: (r) => r.value <= 300,
  },
  {
    case: "checks",
    subject: "nslab check --only reach, first run after up (CLI)",
    ok: (r) => r.value <= 1000,
  },
  { case: "dns", subject: "nslab embedded DNS", ok: (r) => ratio(r, (x) => x >= 2.0) },
  { case: "memory", subject: "nslab supervisor (CLI, detached)", ok: (r) => r.value <= 150 },
];

function ratio(r: Row, test: (x: number) => boolean): boolean | null {
  return r.ratio == null ? null : test(r.ratio);
}

/**
 * Sets each judged row's verdict (a copy of `rows`) and lists every goal's outcome: the rows'
 * targets, then the two goals that compare figures across rows (DNS p99, probe throughput).
 */
export function judge(rows: Row[], cs: ChartCase[]): { rows: Row[]; targets: Target[] } {
  const out = rows.map((r) => ({ ...r }));
  const find = (c: string, subject: string) =>
    out.find((r) => r.case === c && r.subject === subject);
  const targets: Target[] = [];
  const goals = [
    ...GOALS,
    ...cs.filter((c) => c.id.startsWith("kernel")).map((c) => ({
      case: c.id,
      subject: "nslab (netlink shim)",
      ok: (r: Row) => ratio(r, (x) => x <= 1.0),
    })),
  ];
  for (const g of goals) {
    const r = find(g.case, g.subject);
    const c = cs.find((x) => x.id === g.case);
    const ok = r ? g.ok(r) : null;
    if (!r || !c || ok === null) continue;
    r.verdict = ok ? "met" : "missed";
    targets.push(targetOf(r, c));
  }
  targets.push(...dnsLatency(out), ...probeThroughput(out));
  return { rows: out, targets };
}

/** DNS at 127.0.0.11: p99 ≤ 0.3 ms (dnsperf at a fixed 20k queries/s). */
function dnsLatency(rows: Row[]): Target[] {
  const r = rows.find((x) => x.case === "dns" && x.subject === "nslab embedded DNS");
  const p99 = r?.parts?.["p99 ms at 20k qps"];
  if (p99 === undefined) return [];
  return [{
    case: "DNS at 127.0.0.11",
    target: "p99 ≤ 0.3 ms (at 20k queries/s)",
    measured: `p99 ${p99.toFixed(2)} ms`,
    verdict: p99 <= 0.3 ? "met" : "missed",
  }];
}

/**
 * Probe throughput: probes/s of the warm reach matrix at each size, and per probe against
 * Mininet's `pingall` (its time over its probes): ≥ 10× faster. Not judged without Mininet.
 */
function probeThroughput(rows: Row[]): Target[] {
  const mn = rows.find((x) => x.case === "checks" && x.subject.startsWith("Mininet pingall"));
  const mnProbes = mn?.parts?.probes;
  const mnPerSecond = mn && mnProbes ? mnProbes / (mn.value / 1000) : null;
  const out: Target[] = [];
  for (const r of rows) {
    const perSecond = r.parts?.["probes/s"];
    if (r.case !== "checks" || !r.subject.startsWith("nslab check: reach matrix, warm")) continue;
    if (perSecond === undefined || !mnPerSecond) continue;
    const times = perSecond / mnPerSecond;
    out.push({
      case: `Probe throughput (${/\(library, (\d+)\)/.exec(r.subject)?.[1] ?? "?"} containers)`,
      target: "≥ 10× Mininet pingall per probe",
      measured: `${Math.round(perSecond).toLocaleString("en-US")} probes/s (${
        times.toFixed(1)
      }× Mininet's ${Math.round(mnPerSecond)})`,
      verdict: times >= 10 ? "met" : "missed",
    });
  }
  return out;
}
