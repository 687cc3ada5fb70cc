/**
 * Kernel benchmark (issue 3, SPEC §8): create and delete N namespaces, each with a veth into one
 * bridge (in a "switch" namespace) and an address, through (a) nslab's netlink shim
 * (`applyNetwork` + `teardown`), (b) a bash script running `ip` once per object, (c) `ip -batch`.
 * Runs are interleaved (a, b, c, a, b, c, …) so the kernel's deferred namespace cleanup weighs on
 * each method alike; each row is the median of `runs`.
 *
 * `deno run -A bench/kernel.ts [N…] [--runs R]` prints the table (defaults: 100 500, 3 runs).
 *
 * @module
 */

import type { NamespacePlan, Plan } from "../core/plan/types.ts";
import { applyNetwork } from "../core/kernel/apply.ts";
import { teardown } from "../core/kernel/teardown.ts";

/** One line of the result table. */
export interface BenchRow {
  n: number;
  method: "nslab (netlink shim)" | "ip per object (bash)" | "ip -batch (bash)";
  /** Median milliseconds to create / delete / both. */
  createMs: number;
  deleteMs: number;
  totalMs: number;
  /** totalMs divided by the `ip -batch` row's totalMs for the same N. */
  ratio: number;
  /** Processes started (nslab: none; the scripts: one per `ip`). */
  processes: number;
  /** Every run's total milliseconds, in order. */
  samples: number[];
}

const BASELINES = new URL("./baselines/", import.meta.url).pathname;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The benchmark's lab as an nslab plan: the same objects the scripts make. */
export function benchPlan(lab: string, n: number): Plan {
  const sw: NamespacePlan = {
    name: `${lab}-sw`,
    role: "host",
    owner: "",
    sysctls: {},
    links: [{ kind: "bridge", name: "br0" }],
    up: ["br0"],
    addrs: [],
    routes: [],
    neighs: [],
    fdb: [],
  };
  const inside: NamespacePlan[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${lab}-n${i}`;
    sw.links.push({ kind: "veth", name: `v${i}`, master: "br0", peer: { name: "eth0", ns: name } });
    sw.up.push(`v${i}`);
    inside.push({
      name,
      role: "container",
      owner: "",
      sysctls: {},
      links: [],
      up: ["eth0"],
      addrs: [{
        dev: "eth0",
        address: `10.200.${Math.floor(i / 200)}.${(i % 200) + 10}`,
        prefix: 16,
      }],
      routes: [],
      neighs: [],
      fdb: [],
    });
  }
  return {
    lab,
    root: { links: [], addrs: [], routes: [], up: [] },
    namespaces: [sw, ...inside],
    firewall: [],
    xfrm: [],
    processes: [],
  };
}

function script(name: string, mode: "create" | "delete", prefix: string, n: number): void {
  const r = new Deno.Command("bash", {
    args: [`${BASELINES}${name}`, mode, prefix, String(n)],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (r.code !== 0) {
    throw new Error(
      `${name} ${mode} ${prefix} ${n} failed: ${new TextDecoder().decode(r.stderr).trim()}`,
    );
  }
}

/** One of the three ways to make the benchmark's objects. */
export type Method = BenchRow["method"];

/**
 * One create + delete of `n` namespaces by `method`, in milliseconds. Namespaces are
 * `bnk<rand>-…`; whatever a failed run left is removed before this returns.
 */
export async function kernelOnce(
  method: Method,
  n: number,
): Promise<{ create: number; del: number }> {
  const prefix = `bnk${crypto.randomUUID().slice(0, 5)}`;
  const t0 = performance.now();
  let t1 = t0;
  try {
    if (method === "nslab (netlink shim)") {
      await applyNetwork(benchPlan(prefix, n), {});
      t1 = performance.now();
      const report = await teardown(prefix);
      if (report.errors.length) throw report.errors[0];
    } else {
      const file = method === "ip -batch (bash)" ? "ip_batch.sh" : "ip_per_object.sh";
      script(file, "create", prefix, n);
      t1 = performance.now();
      script(file, "delete", prefix, n);
    }
    return { create: t1 - t0, del: performance.now() - t1 };
  } finally {
    // A failed run must not leak: teardown by tag, then anything pinned under the prefix.
    await teardown(prefix);
    for (const e of Deno.readDirSync("/run/netns")) {
      if (e.name.startsWith(`${prefix}-`)) {
        new Deno.Command("ip", { args: ["netns", "del", e.name], stderr: "null" }).outputSync();
      }
    }
  }
}

const METHODS: Method[] = ["nslab (netlink shim)", "ip per object (bash)", "ip -batch (bash)"];

/** `ip` processes each method starts for N namespaces (from the scripts' structure). */
export function processCount(method: Method, n: number): number {
  if (method === "nslab (netlink shim)") return 0;
  if (method === "ip -batch (bash)") return 1 + 1 + n + 1; // netns adds, switch side, n insides, delete
  return 3 + 6 * n + (n + 1); // create: 3 + 6 per namespace; delete: one per namespace
}

/**
 * Runs the benchmark for `n` namespaces, `runs` times per method (interleaved), and returns one
 * row per method with medians and the ratio to `ip -batch`.
 *
 * @example
 * ```ts
 * for (const row of await benchKernel(100, 3)) console.log(row.method, row.totalMs, row.ratio);
 * ```
 */
export async function benchKernel(n: number, runs: number): Promise<BenchRow[]> {
  const samples = new Map<Method, { create: number[]; del: number[]; total: number[] }>(
    METHODS.map((m) => [m, { create: [], del: [], total: [] }]),
  );
  for (let r = 0; r < runs; r++) {
    for (const m of METHODS) {
      const { create, del } = await kernelOnce(m, n);
      const s = samples.get(m)!;
      s.create.push(create);
      s.del.push(del);
      s.total.push(create + del);
    }
  }
  const batchTotal = median(samples.get("ip -batch (bash)")!.total);
  return METHODS.map((method) => {
    const s = samples.get(method)!;
    const totalMs = median(s.total);
    return {
      n,
      method,
      createMs: median(s.create),
      deleteMs: median(s.del),
      totalMs,
      ratio: totalMs / batchTotal,
      processes: processCount(method, n),
      samples: s.total,
    };
  });
}

/** The rows as a Markdown table. */
export function formatRows(rows: BenchRow[]): string {
  const lines = [
    "| N | method | create ms | delete ms | total ms | × ip -batch | processes |",
    "|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.n} | ${r.method} | ${r.createMs.toFixed(0)} | ${r.deleteMs.toFixed(0)} | ` +
        `${r.totalMs.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.processes} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  const at = args.indexOf("--runs");
  const runs = at >= 0 ? Number(args.splice(at, 2)[1]) : 3;
  const ns = args.length ? args.map(Number) : [100, 500];
  const rows: BenchRow[] = [];
  for (const n of ns) rows.push(...await benchKernel(n, runs));
  console.log(formatRows(rows));
}
