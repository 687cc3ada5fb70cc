/**
 * DNS benchmark: dnsperf against the embedded DNS at 127.0.0.11 in one container namespace,
 * against dnsmasq serving the same names from a hosts file in its own namespace (127.0.0.1), and
 * (when an engine runs) against Docker's embedded DNS inside a container on an internal user
 * network. Everything runs inside throwaway `bnd-…` namespaces or `--internal` Docker networks;
 * nothing reaches the real network.
 *
 * Run directly: `deno run -A bench/dns.ts [seconds]`.
 *
 * @module
 */

import { buildRecords } from "../core/dns/records.ts";
import { DnsServer } from "../core/dns/server.ts";
import { testModel } from "../core/dns/_testmodel.ts";
import { nsRun, run, TestNamespaces, waitFor } from "../core/dns/_testns.ts";
import type { DockerRun } from "./docker.ts";

/** One measured number. */
export interface BenchRow {
  /** What was measured, e.g. `dns qps (dnsperf, 1 container)`. */
  case: string;
  /** The implementation measured: `nslab`, `dnsmasq`, … */
  subject: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

/** The names both servers answer: 20 containers, a service of 4 replicas, a miss. */
function benchModel() {
  const containers = [];
  for (let i = 1; i <= 20; i++) {
    containers.push({
      name: `c${i}`,
      endpoints: [{ network: "net", address: `172.30.0.${10 + i}` }],
    });
  }
  for (let i = 1; i <= 4; i++) {
    containers.push({
      name: `api-${i}`,
      service: "api",
      replica: i,
      endpoints: [{ network: "net", address: `172.30.0.${100 + i}` }],
    });
  }
  return testModel([{ name: "net", subnet: "172.30.0.0/24" }], containers);
}

/**
 * dnsperf's query file: every name once, A records, the service name four times. No unknown
 * name: Docker's DNS on an `--internal` network never answers one (dnsperf counts it lost and
 * its client stalls for the timeout), which would measure the timeout, not the server.
 */
function queryFile(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 20; i++) lines.push(`c${i} A`);
  for (let i = 1; i <= 4; i++) lines.push(`api-${i} A`);
  lines.push("api A", "api A", "api A", "api A");
  return lines.join("\n") + "\n";
}

/** The same names as a hosts file for dnsmasq (`api` lists every replica). */
function hostsFile(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 20; i++) lines.push(`172.30.0.${10 + i} c${i}`);
  for (let i = 1; i <= 4; i++) lines.push(`172.30.0.${100 + i} api-${i} api`);
  return lines.join("\n") + "\n";
}

interface PerfResult {
  qps: number;
  avgMs: number;
  stddevMs: number;
  maxMs: number;
  lost: number;
  completed: number;
}

/**
 * Where dnsperf runs: a command prefix that enters the namespace, e.g.
 * `["ip", "netns", "exec", NS]` or `["nsenter", "--net=/proc/PID/ns/net"]`.
 */
type Where = string[];

function inNs(where: Where, cmd: string, ...args: string[]) {
  return run(where[0], ...where.slice(1), cmd, ...args);
}

function netnsExec(ns: string): Where {
  return ["ip", "netns", "exec", ns];
}

/** Runs dnsperf `where` against `server` for `seconds`; parses its summary. */
async function dnsperf(where: Where, server: string, file: string, seconds: number) {
  const r = await inNs(
    where,
    "dnsperf",
    "-s",
    server,
    "-d",
    file,
    "-l",
    String(seconds),
    "-c",
    "8",
    "-q",
    "200",
    "-t",
    "2",
  );
  if (r.code !== 0) {
    throw new Error(`dnsperf against ${server} in ${where.at(-1)} failed: ${r.stderr}`);
  }
  const num = (re: RegExp) => Number(re.exec(r.stdout)?.[1] ?? NaN);
  const result: PerfResult = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    maxMs: num(/Average Latency \(s\):.*max ([\d.]+)/) * 1000,
    stddevMs: num(/Latency StdDev \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
  };
  return result;
}

/** p50/p99 latency from `dnsperf -v` over a short, rate-limited run (per-query lines). */
async function percentiles(where: Where, server: string, file: string) {
  const r = await inNs(
    where,
    "dnsperf",
    "-s",
    server,
    "-d",
    file,
    "-l",
    "2",
    "-c",
    "4",
    "-q",
    "50",
    "-Q",
    "20000",
    "-v",
  );
  const lat = r.stdout.split("\n").map((l) => /^> \w+ .* ([\d.]+)$/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined).map((x) => Number(x) * 1000)
    .sort((a, b) => a - b);
  const at = (p: number) =>
    lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { p50: at(0.5), p99: at(0.99), n: lat.length };
}

function rows(subject: string, p: PerfResult, pct: { p50: number; p99: number; n: number }) {
  const c = "dns, dnsperf, 1 container, 28 names";
  const note = `${p.completed} completed, ${p.lost} lost`;
  return [
    { case: c, subject, metric: "qps", value: Math.round(p.qps), unit: "queries/s", note },
    { case: c, subject, metric: "avg latency", value: round(p.avgMs), unit: "ms" },
    { case: c, subject, metric: "max latency", value: round(p.maxMs), unit: "ms" },
    {
      case: c,
      subject,
      metric: "p50 latency @20k qps",
      value: round(pct.p50),
      unit: "ms",
      note: `${pct.n} samples`,
    },
    { case: c, subject, metric: "p99 latency @20k qps", value: round(pct.p99), unit: "ms" },
  ];
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Measures the embedded DNS and dnsmasq with dnsperf (about `seconds` each, default 5).
 * Throws with a hint when dnsperf is missing (`apt-get install -y dnsperf`).
 */
export async function benchDns(seconds = 5): Promise<BenchRow[]> {
  const found = await run("dnsperf", "-h").then(() => true, () => false);
  if (!found) {
    throw new Error("Cannot benchmark DNS: dnsperf is not installed; apt-get install -y dnsperf");
  }
  const out: BenchRow[] = [];
  await using nss = new TestNamespaces("bnd");
  const dir = await Deno.makeTempDir({ prefix: "bnd-bench-" });
  try {
    const queries = `${dir}/queries.txt`;
    await Deno.writeTextFile(queries, queryFile());

    // nslab's embedded DNS: the container's own namespace, 127.0.0.11.
    const web = await nss.add("c1");
    {
      await using dns = new DnsServer(buildRecords(benchModel()));
      await dns.listen(web, "c1");
      const perf = await dnsperf(netnsExec(web), "127.0.0.11", queries, seconds);
      out.push(
        ...rows("nslab", perf, await percentiles(netnsExec(web), "127.0.0.11", queries)),
      );
      if (dns.stats.internalErrors > 0) throw new Error("DNS server reported internal errors");
    }

    // dnsmasq with the same names, in its own namespace on 127.0.0.1.
    const mq = await nss.add("dnsmasq");
    const hosts = `${dir}/hosts`;
    await Deno.writeTextFile(hosts, hostsFile());
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        mq,
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        `--addn-hosts=${hosts}`,
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--pid-file=",
        "--user=root",
        "--local-ttl=600",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      await waitFor("dnsmasq to answer", async () => {
        const r = await nsRun(mq, "dig", "@127.0.0.1", "+short", "+time=1", "+tries=1", "c1");
        return r.stdout.trim() === "172.30.0.11";
      });
      const perf = await dnsperf(netnsExec(mq), "127.0.0.1", queries, seconds);
      out.push(
        ...rows("dnsmasq", perf, await percentiles(netnsExec(mq), "127.0.0.1", queries)),
      );
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}

/**
 * Measures Docker's embedded DNS the same way: 24 containers on an internal user network with the
 * same names as network aliases (`c1`…`c20`, `api-1`…`api-4`, `api` on every replica), and dnsperf
 * in the network namespace of `c1` (`nsenter --net=/proc/<pid>/ns/net`) against 127.0.0.11.
 */
export async function benchDockerDns(
  docker: DockerRun,
  image: string,
  seconds = 5,
): Promise<BenchRow[]> {
  const net = await docker.network(`dns${crypto.randomUUID().slice(0, 4)}`);
  const names: string[] = [];
  // Container names of their own (the names asked are the network aliases).
  for (let i = 1; i <= 20; i++) names.push(await docker.run(image, net, `dns-c${i}`, [`c${i}`]));
  for (let i = 1; i <= 4; i++) {
    names.push(await docker.run(image, net, `dns-api-${i}`, [`api-${i}`, "api"]));
  }
  const dir = await Deno.makeTempDir({ prefix: "bnd-bench-" });
  try {
    const queries = `${dir}/queries.txt`;
    await Deno.writeTextFile(queries, queryFile());
    const where = ["nsenter", `--net=/proc/${await docker.pid(names[0])}/ns/net`];
    await waitFor("Docker's DNS to answer", async () => {
      const r = await inNs(where, "dig", "@127.0.0.11", "+short", "+time=1", "+tries=1", "api-4");
      return /^\d+\.\d+\.\d+\.\d+$/.test(r.stdout.trim());
    });
    const perf = await dnsperf(where, "127.0.0.11", queries, seconds);
    return rows("docker", perf, await percentiles(where, "127.0.0.11", queries));
  } finally {
    await docker.remove(names).catch(() => docker.removeAll());
    await docker.removeNetwork(net).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const rows = await benchDns(Number(Deno.args[0] ?? 5));
  console.table(rows);
}
