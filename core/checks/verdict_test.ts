import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { assertReport, ChecksFailedError, withVerdict } from "./verdict.ts";
import { report } from "./_report_sample.ts";

Deno.test("ok is false and failed lists the failing rows in report order", () => {
  const r = withVerdict(report());
  assertEquals(r.ok, false);
  assertEquals(r.failed.map((x) => x.expectation.id), ["reach:web->db", "port:outside->h1:8080"]);
});

Deno.test("ok and failed follow the rows, and JSON leaves them out", () => {
  const r = withVerdict(report());
  r.results = r.results.filter((x) => x.pass);
  assertEquals([r.ok, r.failed.length], [true, 0]);
  const json = JSON.parse(JSON.stringify(r));
  assertEquals(["ok" in json, "failed" in json], [false, false]);
});

Deno.test("assertReport throws the table of failing rows only, with the counts", () => {
  const r = report();
  throws(() => assertReport(r), (e: unknown) => {
    assert(e instanceof ChecksFailedError);
    const lines = e.message.split("\n");
    assertEquals(lines[0], `Lab "shop": 2 of 3 checks failed`);
    assert(lines[1].includes("EXPECTED") && lines[1].includes("OBSERVED"));
    assertEquals(lines.filter((l) => l.startsWith("FAIL")).length, 2);
    assert(!lines.some((l) => l.startsWith("PASS")), e.message);
    assert(e.message.includes("no answer: link down"), e.message);
    assertEquals(lines.at(-1), "1 passed, 2 failed");
    assertEquals(e.report, r);
    return true;
  });
});

Deno.test("assertReport passes a green report and refuses an empty one", () => {
  const r = report();
  r.results = r.results.filter((x) => x.pass);
  assertReport(r);
  throws(() => assertReport({ ...r, results: [] }), /nothing was checked/);
});
