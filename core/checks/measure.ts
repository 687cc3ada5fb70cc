/**
 * Measured checks (`expect: { rtt, loss, rate }`): the impairments proven from inside the
 * namespaces with real clients — `ping` for round-trip time and loss, `iperf3` for throughput —
 * run one at a time (they would disturb each other), each inside the source's namespace.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { MeasureSpec, Metric } from "../model/measure.ts";
import { formatDuration, formatRate } from "../model/impair.ts";
import { NETNS_RUN_DIR } from "../kernel/netns/netns.ts";
import type { CheckResult, Expectation, Observed } from "./types.ts";
import { judge } from "./judge.ts";

/** Echo requests of an rtt measurement (the first, which may wait for ARP, is not counted). */
export const RTT_PINGS = 20;
/** Echo requests of a loss measurement, 2 ms apart. */
export const LOSS_PINGS = 1000;
/** Seconds of an iperf3 run. */
export const RATE_SECONDS = 4;
/** The port iperf3 listens on inside the target. */
export const RATE_PORT = 5201;

/** A value for people: `101.3ms`, `2.1%`, `987kbit`. */
export function formatMetric(metric: Metric, v: number): string {
  if (!Number.isFinite(v)) return "∞";
  return metric === "rtt"
    ? formatDuration(+v.toFixed(1))
    : metric === "loss"
    ? `${+v.toFixed(2)}%`
    : formatRate(Math.round(v));
}

function nsOf(model: Model, name: string): string | null {
  const c = model.containers.find((x) => x.name === name);
  if (c) return c.netns;
  return model.hosts.find((h) => h.name === name)?.netns ?? null;
}

/** The address `from` measures `to` at: on a network they share, else `to`'s first address. */
export function measureAddress(model: Model, from: string, to: string): string {
  const host = model.hosts.find((h) => h.name === to);
  if (host) return host.address;
  const target = model.containers.find((c) => c.name === to);
  if (!target) return to; // an IPv4 address
  const mine = new Set(
    model.containers.find((c) => c.name === from)?.endpoints.map((e) => e.network),
  );
  return (target.endpoints.find((e) => mine.has(e.network)) ?? target.endpoints[0])?.address ?? to;
}

/** The expectations of the model's measured checks (the range in `expect`, kind `measure`). */
export function measureExpectations(model: Model): Expectation[] {
  return (model.measures ?? []).map((m: MeasureSpec, i) => {
    const netns = nsOf(model, m.from) ?? "";
    const address = measureAddress(model, m.from, m.to);
    const tcp = m.metric === "rate";
    return {
      id: `measure:${m.from}->${m.to}:${m.metric}#${i}`,
      kind: "reach",
      source: m.from,
      target: `${m.to} (${address}) ${m.metric}`,
      protocol: tcp ? "tcp" : "icmp",
      probe: tcp
        ? { kind: "tcp", netns, address, port: RATE_PORT, responder: false }
        : { kind: "icmp", netns, address },
      expect: { kind: "measure", metric: m.metric, min: m.min, max: m.max, text: m.text },
      description:
        `${m.metric} from ${m.from} to ${m.to} is ${m.text} (${m.pos.file}:${m.pos.line})`,
      containers: [m.from, m.to].filter((n) => model.containers.some((c) => c.name === n)),
      explicit: true,
    };
  });
}

async function run(
  netns: string,
  argv: string[],
): Promise<{ ok: boolean; out: string; err: string }> {
  const args = [`--net=${NETNS_RUN_DIR}/${netns}`, ...argv];
  try {
    const o = await new Deno.Command("nsenter", { args, stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { ok: o.success, out: dec.decode(o.stdout), err: dec.decode(o.stderr).trim() };
  } catch (e) {
    return { ok: false, out: "", err: (e as Error).message };
  }
}

/** Median round-trip time of {@link RTT_PINGS} echoes (the first left out), ms. */
export async function measureRtt(netns: string, address: string): Promise<Observed> {
  const r = await run(netns, [
    "ping",
    "-n",
    "-c",
    String(RTT_PINGS),
    "-i",
    "0.05",
    "-W",
    "3",
    address,
  ]);
  const times = [...r.out.matchAll(/icmp_seq=(\d+) .*time=([\d.]+) ms/g)]
    .filter((m) => m[1] !== "1")
    .map((m) => Number(m[2]))
    .sort((a, b) => a - b);
  if (times.length < 3) return { kind: "timeout" };
  const mid = times.length >> 1;
  const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { kind: "measured", metric: "rtt", value: median, detail: `median of ${times.length}` };
}

/** Round-trip loss of {@link LOSS_PINGS} echoes 2 ms apart, percent. */
export async function measureLoss(
  netns: string,
  address: string,
  count = LOSS_PINGS,
): Promise<Observed> {
  const r = await run(netns, [
    "ping",
    "-n",
    "-q",
    "-c",
    String(count),
    "-i",
    "0.002",
    "-W",
    "3",
    address,
  ]);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.out);
  if (!m) return { kind: "error", message: `ping gave no summary: ${r.err || r.out.trim()}` };
  const sent = Number(m[1]);
  const got = Number(m[2]);
  return {
    kind: "measured",
    metric: "loss",
    value: (100 * (sent - got)) / sent,
    detail: `${got}/${sent} answered`,
  };
}

/** TCP throughput from `netns` to `address` (iperf3, server in `targetNs`), bit/s received. */
export async function measureRate(
  netns: string,
  targetNs: string,
  address: string,
): Promise<Observed> {
  const server = new Deno.Command("nsenter", {
    args: [
      `--net=${NETNS_RUN_DIR}/${targetNs}`,
      "iperf3",
      "-s",
      "-B",
      address,
      "-p",
      String(RATE_PORT),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    // The first packets resolve the neighbour (an ARP that waits on a busy machine would fail
    // the connect); a refused client (the server is not listening yet) is asked again.
    await run(netns, ["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", address]);
    let r = { ok: false, out: "", err: "" };
    for (let attempt = 0; attempt < 20 && !r.ok; attempt++) {
      if (attempt) await new Promise((res) => setTimeout(res, 100));
      r = await run(netns, [
        "iperf3",
        "-c",
        address,
        "-p",
        String(RATE_PORT),
        "-t",
        String(RATE_SECONDS),
        "-J",
      ]);
      if (r.ok || !/refused/i.test(r.out + r.err)) break;
    }
    let report: { error?: string; end?: { sum_received?: { bits_per_second?: number } } } = {};
    try {
      report = JSON.parse(r.out);
    } catch { /* not JSON: stderr says why */ }
    const bps = report.end?.sum_received?.bits_per_second;
    if (!r.ok || typeof bps !== "number") {
      try {
        server.kill("SIGKILL");
      } catch { /* gone */ }
      const said = new TextDecoder().decode((await server.output()).stderr).trim();
      return {
        kind: "error",
        message: `iperf3 failed: ${report.error ?? (r.err || "no output")}${
          said ? ` (server: ${said})` : ""
        }`,
      };
    }
    return { kind: "measured", metric: "rate", value: bps, detail: `iperf3 TCP ${RATE_SECONDS}s` };
  } finally {
    try {
      server.kill("SIGKILL");
    } catch { /* exited after its one client */ }
    await server.status.catch(() => {});
  }
}

/** Runs the measured expectations one after another and judges each against its range. */
export async function runMeasures(model: Model, exps: Expectation[]): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const e of exps) {
    const x = e.expect;
    if (x.kind !== "measure" || (e.probe.kind !== "icmp" && e.probe.kind !== "tcp")) continue;
    const { netns, address } = e.probe;
    const target = model.containers.find((c) => c.name === e.target.split(" ")[0])?.netns ??
      model.hosts.find((h) => h.address === address)?.netns ?? "";
    const o = x.metric === "rtt"
      ? await measureRtt(netns, address)
      : x.metric === "loss"
      ? await measureLoss(netns, address)
      : target
      ? await measureRate(netns, target, address)
      : ({
        kind: "error",
        message: `no namespace of the lab holds ${address} to run iperf3 in`,
      } as Observed);
    const v = judge(e, o);
    const hint = v.pass || o.kind !== "measured"
      ? v.hint
      : `measured ${formatMetric(x.metric, o.value)}, outside ${x.text}`;
    out.push({ expectation: e, observed: o, pass: v.pass, hint });
  }
  return out;
}
