import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { buildModel } from "./_model_testkit.ts";
import { runBudgetMs, runChecks } from "./run.ts";
import { NOT_RUN, runProbes } from "./probes.ts";

// The namespaces of this model do not exist: every probe is an error observation, at once.
const model = buildModel({
  lab: "t",
  networks: [{ name: "front", subnet: "172.20.0.0/24" }],
  containers: [
    { name: "web", nets: [["front", "172.20.0.2"]], expose: [{ port: 80, protocol: "tcp" }] },
    { name: "api", nets: [["front", "172.20.0.3"]] },
  ],
});

Deno.test("--only keeps the named kinds and containers; both given, both must match", async () => {
  const dnsOfWeb = await runChecks(model, { only: ["dns,web"], timeoutMs: 50 });
  assert(dnsOfWeb.results.length > 0);
  for (const r of dnsOfWeb.results) {
    assertEquals(r.expectation.kind, "dns");
    assert([r.expectation.source, ...r.expectation.containers].includes("web"));
  }
  const all = await runChecks(model, { timeoutMs: 50 });
  const reach = await runChecks(model, { only: ["reach"], timeoutMs: 50 });
  assertEquals(
    reach.results.map((r) => r.expectation.id),
    all.results.filter((r) => r.expectation.kind === "reach").map((r) => r.expectation.id),
  );
});

Deno.test("--only with a word that is neither a kind nor a container is a usage error", async () => {
  await rejects(
    runChecks(model, { only: ["nosuch"] }),
    (e) => e instanceof UsageError && /Unknown --only value "nosuch"/.test(e.message),
  );
});

Deno.test("a run's budget grows with its probes, and probes not started by the deadline are 'not run'", async () => {
  assertEquals(runBudgetMs(10_000, 1000, 256), 42_000);
  assertEquals(runBudgetMs(1, 1000, 256), 3000);
  const seen = await runProbes(
    [{ kind: "icmp", netns: "t-web", address: "172.20.0.3" }],
    { deadline: Date.now() - 1 },
  );
  assertEquals(seen, [{ kind: "error", message: NOT_RUN }]);
});
