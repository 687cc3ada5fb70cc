/**
 * `deno task bench`: every benchmark case against every baseline this machine has, in rounds:
 * each round measures every subject once, in an order rotated by one place per round, and before
 * each subject waits until the kernel has freed the namespaces the previous one deleted
 * (bench/settle.ts). Rows are medians over the rounds, with ratios to each case's reference; the
 * CLI rows (as a user runs nslab: a fresh `deno` per verb, a detached supervisor) come first.
 * A full run also writes `docs/bench/results.json`, `docs/bench/RESULTS.md` and
 * `docs/bench/chart.svg`.
 *
 * ```
 * deno task bench [--runs N] [--quick] [--only kernel|up100|up500|up4000|checks|dns|memory|relay …]
 *                 [--write]
 * ```
 * `--quick` is a smoke run (1 round, small labs, nothing written unless `--write`). `--only` runs
 * the named cases (repeatable or comma-separated) and writes nothing unless `--write`.
 *
 * Everything the bench makes is named `bn…` (labs, namespaces, Docker objects) and removed in
 * `finally`, also on Ctrl-C; a dockerd it started is stopped at the end.
 *
 * @module
 */

import { mininetSkipReason } from "./mininet.ts";
import { BENCH_LABEL, DockerEngine, DockerRun, removeLeftovers } from "./docker.ts";
import { type ChartCase, renderChart } from "./chart.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { judge } from "./judge.ts";
import {
  formatMissing,
  formatTable,
  formatTargets,
  median,
  type Missing,
  type Row,
  row,
  withRatios,
} from "./result.ts";
import {
  allSubjects,
  type Environment,
  rotated,
  type Sample,
  type Sizes,
  sizes,
} from "./subjects.ts";
import { describeSettings, kernelSettings, settle } from "./settle.ts";
import { commitOf, headerLines, resultsMarkdown } from "./report.ts";
import type { BenchRow as DnsRow } from "./dns.ts";
import { listLabs } from "../core/kernel/discover.ts";
import { teardown } from "../core/kernel/teardown.ts";
import { deleteNetns, listNetns } from "../core/kernel/netns/netns.ts";
import { openFileLimit } from "../core/kernel/sys/limits.ts";
import process from "node:process";

/** Parsed command line. */
export interface BenchArgs {
  runs: number;
  quick: boolean;
  only: string[];
  write: boolean;
}

const ALL = ["kernel", "up100", "up500", "up4000", "checks", "dns", "memory", "relay"];

/** Parses `--runs N`, `--quick`, `--only CASE[,CASE]` (repeatable), `--write`. */
export function parseArgs(args: string[]): BenchArgs {
  const out: BenchArgs = { runs: 3, quick: false, only: [], write: false };
  let runsGiven = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quick") out.quick = true;
    else if (a === "--write") out.write = true;
    else if (a === "--runs") {
      out.runs = Number(args[++i]);
      runsGiven = true;
      if (!Number.isInteger(out.runs) || out.runs < 1) {
        throw new Error(`--runs wants a whole number ≥ 1, got "${args[i]}"`);
      }
    } else if (a === "--only") {
      for (const c of (args[++i] ?? "").split(",").filter(Boolean)) {
        if (!ALL.includes(c)) {
          throw new Error(`--only: unknown case "${c}"; cases: ${ALL.join(", ")}`);
        }
        out.only.push(c);
      }
    } else {
      throw new Error(
        `unknown argument "${a}"; usage: bench [--runs N] [--quick] [--only CASE] [--write]`,
      );
    }
  }
  if (out.quick && !runsGiven) out.runs = 1;
  if (!out.quick && out.only.length === 0) out.write = true;
  return out;
}

function cases(s: Sizes): ChartCase[] {
  return [
    {
      id: "up100",
      title: `up+down, ${s.small} containers on one bridge, DNS on`,
      reference: "ip -batch script",
      target: "CLI ≤ 1.0× ip -batch",
    },
    {
      id: "up500",
      title: `up+down, ${s.big} containers over ${s.hosts} hosts, overlay + bridge`,
      reference: "ip -batch, same objects",
      target: "CLI ≤ 0.6× ip -batch of the same objects",
    },
    {
      id: "up4000",
      title: `up+down, ${s.huge} containers over ${s.hugeHosts} hosts, overlay + bridges`,
      reference: "ip -batch, same objects",
      target: "CLI ≤ 12 s",
      targetValue: 12_000,
    },
    {
      id: "memory4000",
      title: `Supervisor memory after up, ${s.huge} containers over ${s.hugeHosts} hosts`,
      target: "≤ 300 MB RSS",
      targetValue: 300,
    },
    ...s.kernel.map((n) => ({
      id: `kernel${n}`,
      title: `Kernel apply: ${n} namespaces + veths + addresses, create and delete`,
      reference: "ip -batch script",
      target: "≤ 1.0× ip -batch",
    })),
    {
      id: "checks",
      // No time ratio: Mininet's pingall runs on fewer hosts; the targets table compares per probe.
      title: `Implied reach matrix, ${s.small} containers (${s.small * (s.small - 1)} probes)`,
      target: "first run through the CLI ≤ 1 s",
      targetValue: 1000,
    },
    {
      id: "dns",
      title: "DNS queries/s at 127.0.0.11 (dnsperf, 1 container)",
      reference: "Docker embedded DNS",
      target: "≥ 2.0× Docker",
    },
    {
      id: "memory",
      title: `Supervisor memory after up, ${s.big} containers over ${s.hosts} hosts`,
      target: "≤ 150 MB RSS",
      targetValue: 150,
    },
    {
      id: "relay",
      title: "Delay relay at 0 ms: round-trip time (ping, median)",
      reference: "veth + bridge, no relay",
    },
    {
      id: "relaypps",
      title: "Delay relay at 0 ms: UDP packets/s carried (iperf3, 64 B)",
      reference: "veth + bridge, no relay",
    },
  ];
}

/** Removes everything named `bn…` this bench may have left (labs, namespaces). */
async function sweep(): Promise<void> {
  for (const l of listLabs()) if (l.lab.startsWith("bn")) await teardown(l.lab).catch(() => {});
  for (const ns of listNetns()) {
    if (/^bn/.test(ns)) {
      try {
        deleteNetns(ns);
      } catch { /* gone */ }
    }
  }
}

/** Everything measured, plus what could not be. */
export interface BenchResults {
  rows: Row[];
  missing: Missing[];
  dnsDetail: DnsRow[];
  /** Milliseconds waited for the kernel before each subject. */
  settleMs: number[];
}

const UNITS: Record<string, { unit: string; better?: "higher" }> = {
  dns: { unit: "queries/s", better: "higher" },
  memory: { unit: "MB" },
  memory4000: { unit: "MB" },
  relay: { unit: "ms RTT" },
  relaypps: { unit: "packets/s", better: "higher" },
};

/** The rows of all rounds' samples: median value, and the median of each part as the note. */
function rowsOf(samples: Sample[]): Row[] {
  const groups = new Map<string, Sample[]>();
  for (const x of samples) {
    const k = `${x.case}\u0000${x.subject}`;
    groups.set(k, [...(groups.get(k) ?? []), x]);
  }
  return [...groups.values()].map((g) => {
    const keys = [...new Set(g.flatMap((x) => Object.keys(x.parts ?? {})))];
    const parts: Record<string, number> = Object.fromEntries(keys.map((k) => [
      k,
      median(g.map((x) => x.parts?.[k]).filter((v): v is number => v !== undefined)),
    ]));
    const note = Object.entries(parts).map(([k, v]) =>
      `${k} ${Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(v < 10 ? 2 : 0)}`
    ).join(", ");
    const u = UNITS[g[0].case] ?? { unit: "ms" };
    return row(g[0].case, g[0].subject, g.map((x) => x.value), u.unit, {
      better: u.better,
      note: note || undefined,
      parts: keys.length ? parts : undefined,
    });
  });
}

/** Runs `a.runs` rounds of every wanted subject into `out` (filled as it goes). */
async function measure(a: BenchArgs, log: (s: string) => void, out: BenchResults): Promise<void> {
  const s = sizes(a.quick);
  const want = (c: string) =>
    a.only.length === 0 || a.only.includes(c) ||
    (c.startsWith("kernel") && a.only.includes("kernel"));
  const dockerRun = new DockerRun();
  let engine: DockerEngine | null = null;
  const samples: Sample[] = [];
  try {
    if (want("up100") || want("dns")) {
      log("Docker engine …");
      engine = await DockerEngine.open();
      log(`  Docker: ${engine.skipReason ?? (engine.started ? "started dockerd" : "running")}`);
      if (!engine.skipReason) {
        const left = await removeLeftovers();
        log(
          `  removed leftovers labelled ${BENCH_LABEL} (a killed earlier run): ${left.containers} containers, ${left.networks} networks`,
        );
      }
    }
    const env: Environment = {
      dockerRun,
      image: engine && !engine.skipReason ? await dockerRun.image() : null,
      mininetSkip: await mininetSkipReason(),
      dnsDetail: out.dnsDetail,
    };
    if (env.mininetSkip) {
      out.missing.push({ case: "up100", subject: "Mininet", why: env.mininetSkip });
    }
    if (!env.image) {
      out.missing.push({
        case: "up100, dns",
        subject: "Docker",
        why: engine?.skipReason ?? "not measured",
      });
    }
    const subjects = allSubjects(s, env, want);
    const failed = new Set<string>();
    for (let r = 0; r < a.runs; r++) {
      for (const subject of rotated(subjects, r)) {
        const key = `${subject.case} / ${subject.name}`;
        if (failed.has(key) || (subject.once && r > 0)) continue;
        log(`round ${r + 1}/${a.runs}: ${key} …`);
        const began = performance.now();
        try {
          samples.push(...await subject.run());
        } catch (e) {
          failed.add(key);
          out.missing.push({
            case: subject.case,
            subject: subject.name,
            why: (e as Error).message.slice(0, 300),
          });
        }
        out.rows = rowsOf(samples);
        const took = (performance.now() - began) / 1000;
        // The next subject starts once the kernel has freed this one's namespaces.
        const waited = await settle(a.quick ? 10_000 : 60_000);
        out.settleMs.push(waited.waitedMs);
        log(
          `  took ${took.toFixed(1)} s; kernel ${
            waited.settled ? "settled" : "still freeing namespaces"
          } after ${waited.waitedMs.toFixed(0)} ms (${
            waited.busyMs.toFixed(0)
          } ms of it freeing namespaces)`,
        );
      }
    }
  } finally {
    await dockerRun.cleanup();
    if (engine?.started) {
      log("stopping the dockerd the bench started …");
      await engine.stop();
    }
    await sweep();
  }
}

async function main(): Promise<void> {
  let a: BenchArgs;
  try {
    a = parseArgs(Deno.args);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  const log = (s: string) => console.error(s);
  const onSignal = () => {
    console.error("interrupted: removing everything named bn… and exiting");
    sweep().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const machine = await machineInfo();
  const limit = openFileLimit();
  const settings = describeSettings(kernelSettings(`${limit.soft}/${limit.hard}`));
  const header = headerLines(describeMachine(machine), await commitOf(), settings, a);
  for (const l of header) log(l);
  const cs = cases(sizes(a.quick));
  const results: BenchResults = { rows: [], missing: [], dnsDetail: [], settleMs: [] };
  try {
    await measure(a, log, results);
  } catch (e) {
    console.error(`bench stopped early: ${(e as Error).message}`);
    results.missing.push({ case: "bench", subject: "remaining cases", why: (e as Error).message });
    process.exitCode = 1;
  }
  const { rows: raw, missing, dnsDetail } = results;
  if (!raw.some((r) => r.case === "dns" && r.subject === "Docker embedded DNS")) {
    const dns = cs.find((c) => c.id === "dns")!;
    dns.reference = "dnsmasq";
  }
  const { rows, targets } = judge(withRatios(raw, cs), cs);
  const shown = cs.filter((c) => rows.some((r) => r.case === c.id));
  const table = formatTable(rows, shown);
  const waits = results.settleMs;
  const settleNote = waits.length
    ? `median wait ${median(waits).toFixed(0)} ms, longest ${Math.max(...waits).toFixed(0)} ms`
    : "no waits";
  console.log(
    `\n${header.join("\n")}\n\n${formatTargets(targets)}\n\n${table}\n\nMissing baselines:\n${
      formatMissing(missing)
    }\nKernel settled before each subject: ${settleNote}`,
  );
  if (a.write) {
    const dir = new URL("../docs/bench/", import.meta.url).pathname;
    Deno.mkdirSync(dir, { recursive: true });
    const json = { machine, header, args: a, cases: shown, targets, rows, missing, dnsDetail };
    Deno.writeTextFileSync(`${dir}results.json`, JSON.stringify(json, null, 2) + "\n");
    Deno.writeTextFileSync(
      `${dir}RESULTS.md`,
      resultsMarkdown(formatTargets(targets), table, formatMissing(missing), header, settleNote),
    );
    Deno.writeTextFileSync(
      `${dir}chart.svg`,
      renderChart(
        rows,
        shown,
        `${describeMachine(machine)} · ${machine.date.slice(0, 10)} · median of ${a.runs} round(s)`,
      ),
    );
    console.log(`\nwrote ${dir}results.json, RESULTS.md, chart.svg`);
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

if (import.meta.main) await main();
