/**
 * `deno task bench`: every benchmark case of SPEC §8 against the baselines this machine has, each
 * several runs (medians), printed as a table with ratios to each case's reference, the baselines
 * that were missing and why, and the machine; a full run also writes `docs/bench/results.json`,
 * `docs/bench/RESULTS.md` and `docs/bench/chart.svg`.
 *
 * ```
 * deno task bench [--runs N] [--quick] [--only kernel|up100|up500|checks|dns|memory …] [--write]
 * ```
 * `--quick` is a smoke run (1 run, small labs, nothing written unless `--write`). `--only` runs
 * the named cases (repeatable or comma-separated) and writes nothing unless `--write`.
 *
 * Everything the bench makes is named `bn…` (labs, namespaces, Docker objects) and removed in
 * `finally`, also on Ctrl-C; a dockerd it started is stopped at the end.
 *
 * @module
 */

import { multiHost, singleBridge } from "./_topologies.ts";
import { benchKernel, kernelOnce, type Method } from "./kernel.ts";
import { benchDns, benchDockerDns, type BenchRow as DnsRow } from "./dns.ts";
import { mininetPingall, mininetSkipReason, mininetUpDown } from "./mininet.ts";
import { DockerEngine, DockerRun, dockerUpDown } from "./docker.ts";
import { cliUpDown, inProcessRssMB, libraryUp, libraryUpDown } from "./lab.ts";
import { type ChartCase, renderChart } from "./chart.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import {
  formatMissing,
  formatTable,
  median,
  type Missing,
  type Row,
  row,
  withRatios,
} from "./result.ts";
import { runChecks } from "../core/checks/run.ts";
import { listLabs, teardown } from "../core/kernel/teardown.ts";
import { deleteNetns, listNetns } from "../core/kernel/netns/netns.ts";
import process from "node:process";

/** Parsed command line. */
export interface BenchArgs {
  runs: number;
  quick: boolean;
  only: string[];
  write: boolean;
}

const ALL = ["kernel", "up100", "up500", "checks", "dns", "memory"];

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
    } else {throw new Error(
        `unknown argument "${a}"; usage: bench [--runs N] [--quick] [--only CASE] [--write]`,
      );}
  }
  if (out.quick && !runsGiven) out.runs = 1;
  if (!out.quick && out.only.length === 0) out.write = true;
  return out;
}

/** Sizes of the labs: the SPEC's, or small ones for `--quick`. */
function sizes(quick: boolean) {
  return quick
    ? { kernel: [20], small: 20, big: 40, hosts: 4, dnsSeconds: 1, docker: 5 }
    : { kernel: [100, 500], small: 100, big: 500, hosts: 4, dnsSeconds: 5, docker: 100 };
}

function cases(s: ReturnType<typeof sizes>): ChartCase[] {
  return [
    ...s.kernel.map((n) => ({
      id: `kernel${n}`,
      title: `Kernel apply: ${n} namespaces + veths + addresses, create and delete`,
      reference: "ip -batch script",
      target: "≤ 1.0× ip -batch",
    })),
    {
      id: "up100",
      title: `up+down, ${s.small} containers on one bridge, DNS on`,
      reference: "ip -batch script",
      target: "≤ 1.0× ip -batch",
    },
    {
      id: "up500",
      title: `up+down, ${s.big} containers over ${s.hosts} hosts, overlay + bridge`,
      target: "≤ 4 s",
      targetValue: 4000,
    },
    {
      id: "checks",
      title: `Implied check matrix, ${s.small} containers (${s.small * (s.small - 1)} probes)`,
      reference: `Mininet pingall (${s.small} hosts)`,
      target: "≤ 1 s",
      targetValue: 1000,
    },
    {
      id: "dns",
      title: "DNS queries/s at 127.0.0.11 (dnsperf, 1 container)",
      reference: "Docker embedded DNS",
      target: "≥ 1.0× Docker",
    },
    {
      id: "memory",
      title: `Supervisor memory after up, ${s.big} containers over ${s.hosts} hosts`,
      target: "≤ 150 MB RSS",
      targetValue: 150,
    },
  ];
}

/** Removes everything named `bn…` this bench may have left (labs, namespaces). */
async function sweep(): Promise<void> {
  for (const l of listLabs()) if (l.lab.startsWith("bn")) await teardown(l.lab).catch(() => {});
  for (const ns of listNetns()) {
    if (/^bn(k|mn-|d-)/.test(ns)) {
      try {
        deleteNetns(ns);
      } catch { /* gone */ }
    }
  }
}

const KERNEL_SUBJECT: Record<Method, string> = {
  "nslab (netlink shim)": "nslab (netlink shim)",
  "ip per object (bash)": "ip per object script",
  "ip -batch (bash)": "ip -batch script",
};

/** Everything measured, plus what could not be. */
export interface BenchResults {
  rows: Row[];
  missing: Missing[];
  dnsDetail: DnsRow[];
}

/** Measures every wanted case into `out` (filled as it goes, so a failure keeps what ran). */
async function measure(a: BenchArgs, log: (s: string) => void, out: BenchResults): Promise<void> {
  const s = sizes(a.quick);
  const want = (c: string) => a.only.length === 0 || a.only.includes(c);
  const { rows, missing, dnsDetail } = out;
  const mnSkip = await mininetSkipReason();
  let engine: DockerEngine | null = null;
  const dockerRun = new DockerRun();
  const needDocker = want("up100") || want("dns");
  try {
    if (needDocker) {
      log("Docker engine …");
      engine = await DockerEngine.open();
      if (engine.skipReason) log(`  Docker: ${engine.skipReason}`);
      else {log(
          `  Docker: ${
            engine.started ? "started dockerd for the bench" : "engine already running"
          }`,
        );}
    }
    const image = engine && !engine.skipReason ? await dockerRun.image() : null;

    // 1. Kernel apply.
    if (want("kernel")) {
      for (const n of s.kernel) {
        log(`kernel apply, ${n} namespaces × ${a.runs} runs …`);
        for (const k of await benchKernel(n, a.runs)) {
          rows.push(
            row(`kernel${n}`, KERNEL_SUBJECT[k.method], k.samples, "ms", {
              note: `create ${k.createMs.toFixed(0)} ms, delete ${k.deleteMs.toFixed(0)} ms; ` +
                `${k.processes} processes`,
            }),
          );
        }
      }
    }

    // 2. up+down of the small lab, interleaved with its baselines.
    if (want("up100")) {
      const n = s.small;
      const t: Record<string, number[]> = {};
      const push = (k: string, v: number) => (t[k] ??= []).push(v);
      const lib: { up: number[]; down: number[] } = { up: [], down: [] };
      let dockerError = "";
      for (let r = 0; r < a.runs; r++) {
        log(`up+down ${n} containers, run ${r + 1}/${a.runs} …`);
        const l = await libraryUpDown((name) => singleBridge(n, name));
        push("nslab up+down (library)", l.totalMs);
        lib.up.push(l.upMs);
        lib.down.push(l.downMs);
        const b = await kernelOnce("ip -batch (bash)", n);
        push("ip -batch script", b.create + b.del);
        const p = await kernelOnce("ip per object (bash)", n);
        push("ip per object script", p.create + p.del);
        if (!mnSkip) push("Mininet (mn lxbr, --test none)", await mininetUpDown(n));
        if (image && !dockerError) {
          try {
            push(`Docker (docker run ×${n})`, await dockerUpDown(dockerRun, image, n));
          } catch (e) {
            dockerError = (e as Error).message;
          }
        }
      }
      log(`up+down ${n} containers through the CLI (once) …`);
      const c = await cliUpDown((name) => singleBridge(n, name));
      for (const [k, v] of Object.entries(t)) {
        const note = k.startsWith("nslab")
          ? `up ${median(lib.up).toFixed(0)} ms, down ${
            median(lib.down).toFixed(0)
          } ms; in-process supervisor`
          : k.startsWith("Docker")
          ? "sequential docker run -d on an --internal user network, then one docker rm -f"
          : k.startsWith("Mininet")
          ? "inside a throwaway namespace; includes Python start-up"
          : "namespaces, veths into one bridge, addresses; no DNS, no supervisor";
        rows.push(row("up100", k, v, "ms", { note }));
      }
      rows.push(
        row("up100", "nslab up + down (CLI)", [c.totalMs], "ms", {
          note: `up ${c.upMs.toFixed(0)} ms, down ${c.downMs.toFixed(0)} ms; two deno start-ups, ` +
            `detached supervisor`,
        }),
      );
      if (mnSkip) missing.push({ case: "up100", subject: "Mininet", why: mnSkip });
      if (!image || dockerError) {
        missing.push({
          case: "up100",
          subject: "Docker",
          why: dockerError || (engine?.skipReason ?? "not measured"),
        });
      }
    }

    // 3. up+down of the big multi-host lab.
    if (want("up500") || want("memory")) {
      const n = s.big;
      const up: number[] = [];
      const down: number[] = [];
      const total: number[] = [];
      if (want("up500")) {
        for (let r = 0; r < a.runs; r++) {
          log(`up+down ${n} containers over ${s.hosts} hosts, run ${r + 1}/${a.runs} …`);
          const l = await libraryUpDown((name) => multiHost(n, s.hosts, name));
          up.push(l.upMs);
          down.push(l.downMs);
          total.push(l.totalMs);
        }
        rows.push(
          row("up500", "nslab up+down (library)", total, "ms", {
            note: `up ${median(up).toFixed(0)} ms, down ${median(down).toFixed(0)} ms`,
          }),
        );
      }
      log(`up+down ${n} containers over ${s.hosts} hosts through the CLI (once) …`);
      const c = await cliUpDown((name) => multiHost(n, s.hosts, name));
      if (want("up500")) {
        rows.push(
          row("up500", "nslab up + down (CLI)", [c.totalMs], "ms", {
            note: `up ${c.upMs.toFixed(0)} ms, down ${c.downMs.toFixed(0)} ms`,
          }),
        );
      }
      if (want("memory")) {
        rows.push(
          row("memory", "nslab supervisor (CLI, detached)", [c.supervisorRssMB], "MB", {
            note: "VmRSS of the detached supervisor after up",
          }),
        );
        const rss: number[] = [];
        for (let r = 0; r < a.runs; r++) {
          log(`memory: in-process up of ${n} containers, run ${r + 1}/${a.runs} …`);
          rss.push(await inProcessRssMB(n, s.hosts));
        }
        rows.push(
          row("memory", "nslab library process (in-process)", rss, "MB", {
            note:
              "VmRSS of a process that ran plan + kernel apply + supervisor (/proc/self/status)",
          }),
        );
      }
    }

    // 4. Implied check matrix.
    if (want("checks")) {
      const n = s.small;
      log(`checks on ${n} containers × ${a.runs} runs …`);
      const lab = await libraryUp((name) => singleBridge(n, name));
      try {
        for (const only of [["reach"], []]) {
          const ms: number[] = [];
          let probes = 0;
          let failed = 0;
          for (let r = 0; r < a.runs; r++) {
            const rep = await runChecks(lab.model, { only });
            ms.push(rep.elapsedMs);
            probes = rep.probes;
            failed = Math.max(failed, rep.results.filter((x) => !x.pass).length);
          }
          const rate = Math.round(probes / (median(ms) / 1000));
          rows.push(
            row(
              "checks",
              only.length ? "nslab check: reach matrix" : "nslab check: all implied",
              ms,
              "ms",
              {
                note: `${probes} probes, ${
                  rate.toLocaleString("en-US")
                } probes/s, ${failed} failed; first run ${
                  Math.round(ms[0])
                } ms (ARP cold: the lab was just brought up)`,
              },
            ),
          );
        }
      } finally {
        await lab.down();
      }
      if (mnSkip) missing.push({ case: "checks", subject: "Mininet pingall", why: mnSkip });
      else {
        const ms: number[] = [];
        let probes = 0;
        let dropped = 0;
        for (let r = 0; r < a.runs; r++) {
          log(`Mininet pingall on ${n} hosts, run ${r + 1}/${a.runs} …`);
          const p = await mininetPingall(n);
          ms.push(p.pingallMs);
          probes = p.probes;
          dropped = Math.max(dropped, p.droppedPct);
        }
        rows.push(
          row("checks", `Mininet pingall (${n} hosts)`, ms, "ms", {
            note:
              `${probes} probes, ${(median(ms) / probes).toFixed(2)} ms per probe, sequential; ` +
              `${dropped}% dropped`,
          }),
        );
      }
    }

    // 5. DNS.
    if (want("dns")) {
      const qps: Record<string, number[]> = {};
      let dockerDnsError = "";
      const p99: Record<string, number[]> = {};
      for (let r = 0; r < a.runs; r++) {
        log(`DNS: dnsperf ${s.dnsSeconds} s per server, run ${r + 1}/${a.runs} …`);
        const got = await benchDns(s.dnsSeconds);
        if (image) {
          try {
            got.push(...await benchDockerDns(dockerRun, image, s.dnsSeconds));
          } catch (e) {
            dockerDnsError = (e as Error).message;
          }
        }
        dnsDetail.push(...got);
        for (const g of got) {
          if (g.metric === "qps") (qps[g.subject] ??= []).push(g.value);
          if (g.metric.startsWith("p99")) (p99[g.subject] ??= []).push(g.value);
        }
      }
      const names: Record<string, string> = {
        nslab: "nslab embedded DNS",
        docker: "Docker embedded DNS",
        dnsmasq: "dnsmasq",
      };
      for (const subject of ["nslab", "docker", "dnsmasq"]) {
        if (!qps[subject]) continue;
        rows.push(
          row("dns", names[subject], qps[subject], "queries/s", {
            better: "higher",
            note: `p99 ${median(p99[subject] ?? [NaN]).toFixed(2)} ms at 20k qps`,
          }),
        );
      }
      if (!image || dockerDnsError) {
        missing.push({
          case: "dns",
          subject: "Docker embedded DNS",
          why: dockerDnsError || (engine?.skipReason ?? "not measured"),
        });
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

/** Sets each case's verdict on the nslab row SPEC §8 judges. */
function judge(rows: Row[], cs: ChartCase[]): Row[] {
  const out = rows.map((r) => ({ ...r }));
  const find = (c: string, subject: string) =>
    out.find((r) => r.case === c && r.subject === subject);
  const set = (r: Row | undefined, ok: boolean) => r && (r.verdict = ok ? "met" : "missed");
  for (const c of cs) {
    if (c.id.startsWith("kernel")) {
      const r = find(c.id, "nslab (netlink shim)");
      if (r?.ratio != null) set(r, r.ratio <= 1.0);
    }
  }
  const up = find("up100", "nslab up+down (library)");
  if (up?.ratio != null) set(up, up.ratio <= 1.0);
  const big = find("up500", "nslab up+down (library)");
  if (big) set(big, big.value <= 4000);
  const reach = find("checks", "nslab check: reach matrix");
  if (reach) set(reach, reach.value <= 1000);
  const dns = find("dns", "nslab embedded DNS");
  if (dns?.ratio != null) set(dns, dns.ratio >= 1.0);
  const mem = find("memory", "nslab supervisor (CLI, detached)");
  if (mem) set(mem, mem.value <= 150);
  return out;
}

function resultsMarkdown(
  table: string,
  missing: string,
  machine: string,
  a: BenchArgs,
): string {
  return `# nslab benchmark results

Produced by \`deno task bench\` (bench/main.ts) on ${machine}, ${a.runs} run(s) per subject
(median; Docker and the CLI path as noted). Ratios divide by the case's reference subject; where
a case has no baseline, its SPEC §8 target is given instead.

![chart](chart.svg)

${table}

## Baselines that were missing

${missing}

## How to reproduce

\`\`\`sh
sudo apt-get install -y mininet bridge-utils dnsperf dnsmasq docker.io busybox-static
deno task bench                 # every case, 3 runs, writes docs/bench/
deno task bench --quick         # a smoke run (small labs, 1 run, writes nothing)
deno task bench --only dns --runs 5
\`\`\`

Notes on method:
- Labs are made without an uplink (\`--no-uplink\`) and named \`bn…\`; everything is removed after
  each run, and runs of the subjects are interleaved so the kernel's deferred namespace cleanup
  weighs on each alike.
- The \`ip\` scripts are bench/baselines/ip_batch.sh and ip_per_object.sh (the same objects
  as nslab's kernel part: namespaces, a veth per namespace into one bridge, an address).
- Mininet runs inside a throwaway network namespace so the machine's firewall (a FORWARD policy
  DROP left by Docker applies to bridged frames through br_netfilter) does not drop its pings;
  \`pingall\` is timed alone by bench/baselines/mininet_pingall.py. We never run \`mn -c\`, which
  kills every \`ping\` on the machine.
- Docker containers run on an \`--internal\` user network (nothing leaves the machine; its DNS then
  answers NXDOMAIN for unknown names instead of forwarding), from a \`docker import\`ed busybox.
- Docker's DNS is queried from inside a container's namespace
  (\`nsenter --net=/proc/<pid>/ns/net dnsperf -s 127.0.0.11\`) with the same 28-name query file (hits only).
`;
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
  const s = sizes(a.quick);
  const cs = cases(s);
  const results: BenchResults = { rows: [], missing: [], dnsDetail: [] };
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
  const rows = judge(withRatios(raw, cs), cs);
  const shown = cs.filter((c) => rows.some((r) => r.case === c.id));
  const table = formatTable(rows, shown);
  const desc = describeMachine(machine);
  console.log(`\n${table}\n\nMissing baselines:\n${formatMissing(missing)}\n\nMachine: ${desc}`);
  if (a.write) {
    const dir = new URL("../docs/bench/", import.meta.url).pathname;
    Deno.mkdirSync(dir, { recursive: true });
    const json = { machine, args: a, cases: shown, rows, missing, dnsDetail };
    Deno.writeTextFileSync(`${dir}results.json`, JSON.stringify(json, null, 2) + "\n");
    Deno.writeTextFileSync(
      `${dir}RESULTS.md`,
      resultsMarkdown(table, formatMissing(missing), desc, a),
    );
    Deno.writeTextFileSync(
      `${dir}chart.svg`,
      renderChart(
        rows,
        shown,
        `${desc} · ${machine.date.slice(0, 10)} · median of ${a.runs} run(s)`,
      ),
    );
    console.log(`\nwrote ${dir}results.json, RESULTS.md, chart.svg`);
  }
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

if (import.meta.main) await main();
