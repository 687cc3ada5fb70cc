/**
 * Check reports for people (a table, failures first) and for CI (JSON, JUnit XML). Pure.
 *
 * @module
 */

import type { CheckReport, CheckResult, Expected, Observed } from "./types.ts";
import { formatMetric } from "./measure.ts";

/** Short text for an expected outcome: `web`, `open`, `closed`, `[10.0.0.2]`, `NXDOMAIN`, … */
export function formatExpected(x: Expected): string {
  switch (x.kind) {
    case "answeredBy":
      return `answered by ${x.container}`;
    case "open":
    case "closed":
    case "unreachable":
      return x.kind;
    case "addresses":
      return `[${x.addresses.join(", ")}]`;
    case "nxdomain":
      return "NXDOMAIN";
    case "ptr":
      return `PTR ${x.names.join("|")}`;
    case "srv":
      return `SRV ${x.targets.map((t) => `${t}:${x.port}`).join(", ")}`;
    case "interfaces":
      return `${x.exact ? "=" : "⊇"} ${x.names.join(",")}`;
    case "measure":
      return `${x.metric} ${x.text}`;
  }
}

/** Short text for an observation: `answered by web`, `refused`, `timeout`, … */
export function formatObserved(o: Observed): string {
  switch (o.kind) {
    case "answered":
      return `answered by ${o.by}`;
    case "open":
      return o.from ? `open (reply from ${o.from})` : "open";
    case "refused":
    case "timeout":
      return o.kind;
    case "unreachable":
      return `unreachable (${o.detail})`;
    case "wrong-answer":
      return `wrong answer (${o.detail})`;
    case "dns":
      return o.rcode === "NOERROR" ? `[${o.answers.join(", ")}]` : o.rcode;
    case "interfaces":
      return o.names.join(",");
    case "error":
      return `error: ${o.message}`;
    case "measured":
      return `${o.metric} ${formatMetric(o.metric, o.value)} (${o.detail})`;
  }
}

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** ANSI colours for PASS/FAIL. */
  color: boolean;
  /** Only the failed rows (the counts still cover every row). */
  failuresOnly?: boolean;
}

function pad(s: string, n: number): string {
  const len = [...s].length;
  return len >= n ? s : s + " ".repeat(n - len);
}

function clip(s: string, n: number): string {
  const chars = [...s];
  return chars.length <= n ? s : chars.slice(0, n - 1).join("") + "…";
}

/** true when the run checked something and every row passed. */
export function reportPassed(report: CheckReport): boolean {
  return report.results.length > 0 && report.results.every((r) => r.pass);
}

/** The summary line: `N passed, M failed` (`, K of them inconclusive`), or "nothing was checked". */
export function summaryLine(report: CheckReport): string {
  if (report.results.length === 0) return "nothing was checked";
  const failed = report.results.filter((r) => !r.pass).length;
  const inconclusive = report.results.filter((r) => r.inconclusive).length;
  return `${report.results.length - failed} passed, ${failed} failed` +
    (inconclusive ? ` (${inconclusive} inconclusive)` : "");
}

/**
 * A table for people: failures first, columns source / target / expected / observed / hint, then
 * the probe count and time, then the summary line `N passed, M failed` alone on its last line.
 *
 * @example
 * ```ts
 * const report = { lab: "shop", results: [], probes: 0, elapsedMs: 0, notes: [], causes: [] };
 * console.log(formatTable(report, { color: Deno.stdout.isTerminal() }));
 * // SOURCE  TARGET  EXPECTED  OBSERVED  HINT
 * // 0 probes in 0 ms (0 checks)
 * // nothing was checked
 * ```
 */
export function formatTable(report: CheckReport, opts: TableOptions): string {
  const rows = [...report.results].filter((r) => !opts.failuresOnly || !r.pass)
    .sort((a, b) => Number(a.pass) - Number(b.pass));
  const paint = (s: string, code: number) => opts.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  const cells = rows.map((r: CheckResult) => [
    r.pass ? "PASS" : r.inconclusive ? "INCONCLUSIVE" : "FAIL",
    r.expectation.source,
    clip(r.expectation.target, 48),
    clip(formatExpected(r.expectation.expect), 32),
    clip(formatObserved(r.observed), 40),
    r.hint,
  ]);
  const head = ["", "SOURCE", "TARGET", "EXPECTED", "OBSERVED", "HINT"];
  const widths = head.map((h, i) => Math.max([...h].length, ...cells.map((c) => [...c[i]].length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i === c.length - 1 ? v : pad(v, widths[i]))).join("  ").trimEnd();
  const failing = !reportPassed(report);
  const out = failing ? report.causes.map((c) => paint(`cause: ${c}`, 31)) : [];
  out.push(line(head));
  for (const c of cells) {
    const text = line(c);
    const status = c[0];
    out.push(paint(status, status === "PASS" ? 32 : 31) + text.slice(status.length));
  }
  for (const n of report.notes) out.push(`note: ${n}`);
  // A passing run still mentions what it saw (e.g. an overflow other labs caused).
  if (!failing) out.push(...report.causes.map((c) => `note: ${c}`));
  out.push(
    `${report.probes} probes in ${
      Math.round(report.elapsedMs)
    } ms (${report.results.length} checks)`,
  );
  out.push(summaryLine(report));
  return out.join("\n");
}

/**
 * The whole report as JSON (expectations, observations, verdicts, counts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const json = formatJson({
 *   lab: "shop",
 *   results: [],
 *   probes: 0,
 *   elapsedMs: 0,
 *   notes: [],
 *   causes: [],
 * });
 * assert.ok(JSON.parse(json).failed === 0);
 * ```
 */
export function formatJson(report: CheckReport): string {
  const failed = report.results.filter((r) => !r.pass).length;
  return JSON.stringify(
    { ...report, passed: report.results.length - failed, failed },
    null,
    2,
  );
}

/** Escapes text for XML attributes and content. */
export function xmlEscape(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!,
  )
    // XML 1.0 forbids most control characters, even escaped.
    // deno-lint-ignore no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, "");
}

/**
 * JUnit XML: one `<testsuite>` per check kind, one `<testcase>` per expectation, a `<failure>`
 * (with the run's causes, expected, observed and hint) for each failed one; the hint is the
 * failure's message, which is what CI reporters show.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const xml = formatJunit({ lab: "shop", results: [], probes: 0, elapsedMs: 0, notes: [], causes: [] });
 * assert.ok(xml.includes(`<testsuites name="nslab check shop" tests="0"`));
 * ```
 */
export function formatJunit(report: CheckReport): string {
  const kinds = [...new Set(report.results.map((r) => r.expectation.kind))].sort();
  const failed = report.results.filter((r) => !r.pass).length;
  const secs = (report.elapsedMs / 1000).toFixed(3);
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="nslab check ${xmlEscape(report.lab)}" tests="${report.results.length}" ` +
    `failures="${failed}" errors="0" time="${secs}">`,
  ];
  for (const kind of kinds) {
    const rs = report.results.filter((r) => r.expectation.kind === kind);
    const f = rs.filter((r) => !r.pass).length;
    out.push(
      `  <testsuite name="${xmlEscape(`${report.lab}.${kind}`)}" tests="${rs.length}" ` +
        `failures="${f}" errors="0" skipped="0" time="${secs}">`,
    );
    for (const r of rs) {
      const e = r.expectation;
      const name = xmlEscape(`${e.source} → ${e.target}`);
      const open =
        `    <testcase classname="${xmlEscape(`${report.lab}.${kind}`)}" name="${name}" ` +
        `time="0">`;
      if (r.pass) {
        out.push(open.replace(/>$/, "/>"));
        continue;
      }
      const causes = report.causes.map((c) => `cause: ${c}\n`).join("");
      const body = `${causes}id: ${e.id}\nexpected: ${formatExpected(e.expect)}\nobserved: ${
        formatObserved(r.observed)
      }\nhint: ${r.hint}\n${e.description}`;
      out.push(open);
      out.push(
        `      <failure message="${xmlEscape(r.hint)}" type="${xmlEscape(e.kind)}">${
          xmlEscape(body)
        }</failure>`,
      );
      out.push(`    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`);
  return out.join("\n") + "\n";
}
