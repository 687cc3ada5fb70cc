import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Parser } from "tap-parser";
import { formatGithub, formatTap } from "./ci_formats.ts";
import { exp, report } from "./_report_sample.ts";
import { judge } from "./judge.ts";

Deno.test("github: one ::error annotation per failed row, then the summary", () => {
  const lines = formatGithub(report()).split("\n");
  const errors = lines.filter((l) =>
    l.startsWith("::error title=nslab shop reach%3A") ||
    l.startsWith("::error title=nslab shop port%3A")
  );
  assertEquals(errors.length, 2, lines.join("\n"));
  assert(errors.some((l) => l.includes("observed timeout — no answer")), errors.join("\n"));
  assert(!lines.some((l) => l.includes("web → api 172.20.0.3:80")), "passing rows stay quiet");
  assertEquals(lines.at(-1), "::error title=nslab shop::1 passed, 2 failed");
  assert(lines.includes("::notice title=nslab shop::something was not checked"));
});

Deno.test("github: newlines, percent signs and property separators are escaped", () => {
  const r = report();
  r.results[1].hint = "two\nlines, 100%";
  r.results[1].expectation = { ...r.results[1].expectation, target: "db:5432, x" };
  const line = formatGithub(r).split("\n")[0];
  assert(line.includes("two%0Alines, 100%25"), line);
  assert(line.includes("db%3A5432%2C x::"), line);
});

Deno.test("github: an all-green run ends in a notice", () => {
  const e = exp("reach:web->api");
  const o = { kind: "answered" as const, by: "api" };
  const green = {
    ...report(),
    notes: [],
    results: [{ expectation: e, observed: o, ...judge(e, o) }],
  };
  assertEquals(formatGithub(green), "::notice title=nslab shop::1 passed, 0 failed");
});

Deno.test("tap: a TAP parser reads the plan, each row and the failures' diagnostics", async () => {
  const text = formatTap(report());
  const failures: { name: string; diag: Record<string, string> }[] = [];
  const done = new Promise<{ ok: boolean; count: number; pass: number; fail: number }>(
    (resolve) => {
      const p = new Parser((results) => resolve(results));
      p.on("assert", (a: { ok: boolean; name: string; diag: Record<string, string> }) => {
        if (!a.ok) failures.push({ name: a.name, diag: a.diag });
      });
      p.end(text + "\n");
    },
  );
  const summary = await done;
  assertEquals([summary.ok, summary.count, summary.pass, summary.fail], [false, 3, 1, 2]);
  assertEquals(failures[0].name, `reach: web → db <&> "x"`);
  assertEquals(failures[0].diag.observed, "timeout");
  assert(failures[1].diag.hint.includes("DNAT rule missing?"), JSON.stringify(failures[1]));
  assertEquals(failures[1].diag.expected, "answered by api");
});
