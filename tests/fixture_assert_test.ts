/**
 * The fixture's test-like API on a real lab: `report.ok`/`failed`, `assertChecks()` and
 * `lab.expect(…)` pass on a healthy lab and throw readable rows once a veth is deleted.
 */

import assert from "node:assert/strict";
import { ChecksFailedError, Lab, type TopologyInput } from "../mod.ts";

const TOPOLOGY: TopologyInput = {
  networks: { front: {}, back: {} },
  containers: {
    web: { networks: ["front"] },
    api: { networks: ["front", "back"], expose: [8000] },
    db: { networks: ["back"], expose: [5432] },
  },
};

async function ip(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** The message of the ChecksFailedError `run` throws. */
async function failure(run: () => Promise<unknown>): Promise<ChecksFailedError> {
  try {
    await run();
  } catch (e) {
    assert(e instanceof ChecksFailedError, String(e));
    return e;
  }
  throw new Error("expected a ChecksFailedError, nothing was thrown");
}

Deno.test("expect, assertChecks and report.ok hold on a healthy lab and fail on a broken one", async (t) => {
  await using lab = await Lab.up(TOPOLOGY, { name: "usfx", uplink: false });
  const apiFront = lab.inspect("api").endpoints.find((e) => e.network === "front")!.address!;

  await t.step("healthy: every assertion holds", async () => {
    const report = await lab.assertChecks();
    assert.equal(report.ok, true);
    assert.deepEqual(report.failed, []);
    const r = await lab.expect("web").reaches("api", 8000);
    assert.deepEqual(r.observed, { kind: "answered", by: "api" });
    await lab.expect("web").reaches("api");
    await lab.expect("web").cannotReach("db");
    await lab.expect("web").cannotReach("db", 5432);
    await lab.expect("web").resolves("api", [apiFront]);
    await lab.expect("web").resolves("api");
    await lab.expect("web").cannotResolve("db");
  });

  await t.step("wrong expectations throw the row with expected, observed and hint", async () => {
    const e = await failure(() => lab.expect("web").reaches("db", 5432));
    assert.match(e.message, /^Lab "usfx": 1 of 1 checks failed\n/);
    assert.match(e.message, /FAIL\s+web\s+db:5432/);
    assert.match(e.message, /no answer|no route/);
    const dns = await failure(() => lab.expect("web").resolves("api", ["10.9.9.9"]));
    assert.match(dns.message, /wrong addresses: got \[/);
    await failure(() => lab.expect("web").resolves("db"));
    await failure(() => lab.expect("web").cannotReach("api"));
    const unknown = await failure(() => lab.expect("web").reaches("nosuch", 80));
    assert.match(unknown.message, /"nosuch" is no container, host or address/);
  });

  await t.step(
    "with web's veth deleted, report.ok is false and assertChecks names it",
    async () => {
      const web = lab.inspect("web");
      await ip(["-n", `${lab.name}-host`, "link", "del", web.endpoints[0].hostIfname]);
      const report = await lab.check();
      assert.equal(report.ok, false);
      assert(report.failed.some((r) => r.expectation.id.startsWith("reach:web->api")));
      const e = await failure(() => lab.assertChecks({ only: ["reach"] }));
      const lines = e.message.split("\n");
      assert(lines.some((l) => l.startsWith("FAIL") && l.includes("web") && l.includes("api")));
      assert(!lines.some((l) => l.startsWith("PASS")), e.message);
      assert.match(lines.at(-1)!, /^\d+ passed, [1-9]\d* failed$/);
      await failure(() => lab.expect("web").reaches("api", 8000));
    },
  );
});
