import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { overflowCauses, runCauses } from "./causes.ts";
import type { NeighTable } from "../kernel/netlink/ntable.ts";
import type { CheckResult, Observed } from "./types.ts";
import { NOT_RUN } from "./probes.ts";

const table = (tableFulls: bigint): NeighTable => ({
  name: "arp_cache",
  family: "inet",
  thresh1: 128,
  thresh2: 512,
  thresh3: 1024,
  entries: 1024,
  tableFulls,
  forcedGcRuns: 0n,
});

function row(source: string, kind: "dns" | "icmp", observed: Observed): CheckResult {
  const probe = kind === "dns"
    ? { kind, netns: `t-${source}`, name: "x", type: "A" as const }
    : { kind, netns: `t-${source}`, address: "10.0.0.2" };
  return {
    expectation: {
      id: `${kind}:${source}`,
      kind: kind === "dns" ? "dns" : "reach",
      source,
      target: "x",
      protocol: kind,
      probe,
      expect: { kind: "open" },
      description: "",
      containers: [source],
      explicit: false,
    },
    observed,
    pass: false,
    hint: "",
  };
}

Deno.test("a grown table_fulls counter is named as the cause, with the sysctl to raise", () => {
  const before = new Map([["arp_cache", table(7n)]]);
  const after = new Map([["arp_cache", table(8968n)]]);
  const [cause] = overflowCauses(before, after);
  assert(cause.startsWith("neighbour table overflow: arp_cache refused 8961 new entries"), cause);
  assert(cause.includes("net.ipv4.neigh.default.gc_thresh3"), cause);
  assertEquals(overflowCauses(before, before), []);
  assertEquals(overflowCauses(null, after), []);
});

Deno.test("causes in order: overflow, namespaces gone, the caller's, DNS refused, deadline", () => {
  const results = [
    row("web", "dns", { kind: "refused" }),
    row("api", "dns", { kind: "refused" }),
    row("db", "icmp", { kind: "error", message: NOT_RUN }),
  ];
  const causes = runCauses(results, {
    before: new Map([["arp_cache", table(0n)]]),
    after: new Map([["arp_cache", table(3n)]]),
    missingNetns: ["t-db"],
    health: ["the lab's supervisor (pid 42) is not running"],
    budgetMs: 42_000,
  });
  assertEquals(causes.map((c) => c.split(":")[0]), [
    "neighbour table overflow",
    "namespace gone",
    "the lab's supervisor (pid 42) is not running",
    "DNS refused in 2 container(s) (web, api)",
    "the run's deadline (42 s for its probes) passed",
  ]);
});
