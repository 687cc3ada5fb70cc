/**
 * Check reports in the two line formats CI systems read natively: GitHub Actions workflow
 * commands (each failure becomes an annotation on the run) and TAP 14 (any TAP consumer). Pure.
 *
 * @module
 */

import { formatExpected, formatObserved, summaryLine } from "./report.ts";
import type { CheckReport, CheckResult } from "./types.ts";

/** `web → api 172.20.0.3:80 (front)`: the row's source and target, for titles and test names. */
export function rowTitle(r: CheckResult): string {
  return `${r.expectation.source} → ${r.expectation.target}`;
}

/** Escapes the message part of a workflow command (`%`, CR and LF, as the runner decodes them). */
function ghData(s: string): string {
  return s.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

/** Escapes a workflow command property value (also `:` and `,`, which separate properties). */
function ghProperty(s: string): string {
  return ghData(s).replaceAll(":", "%3A").replaceAll(",", "%2C");
}

/**
 * GitHub Actions workflow commands: one `::error` annotation per failed row (title: kind, source
 * and target; message: expected, observed and hint), then the summary as a `::notice` when all
 * passed or an `::error` when not. Passing rows are not annotated: the job log shows the summary.
 *
 * @example
 * ```ts
 * import { formatGithub } from "./ci_formats.ts";
 * const report = {
 *   lab: "shop", probes: 1, elapsedMs: 3, notes: [], causes: [],
 *   results: [{
 *     expectation: {
 *       id: "reach:web->api", kind: "reach" as const, source: "web", target: "api:80",
 *       protocol: "tcp" as const, description: "web reaches api", containers: ["web", "api"],
 *       explicit: false,
 *       probe: { kind: "tcp" as const, netns: "shop-web", address: "172.18.0.3", port: 80, responder: true },
 *       expect: { kind: "answeredBy" as const, container: "api" },
 *     },
 *     observed: { kind: "timeout" as const }, pass: false, hint: "no answer: link down?",
 *   }],
 * };
 * console.log(formatGithub(report));
 * // ::error title=nslab shop reach%3A web → api%3A80::expected answered by api, observed timeout — no answer: link down?
 * // ::error title=nslab shop::0 passed, 1 failed
 * ```
 */
export function formatGithub(report: CheckReport): string {
  const out: string[] = [];
  for (const c of report.causes) {
    out.push(`::error title=nslab ${ghProperty(report.lab)} cause::${ghData(c)}`);
  }
  for (const r of report.results) {
    if (r.pass) continue;
    const title = `nslab ${report.lab} ${r.expectation.kind}: ${rowTitle(r)}`;
    const message = `expected ${formatExpected(r.expectation.expect)}, observed ${
      formatObserved(r.observed)
    } — ${r.hint}`;
    out.push(`::error title=${ghProperty(title)}::${ghData(message)}`);
  }
  for (const n of report.notes) {
    out.push(`::notice title=nslab ${ghProperty(report.lab)}::${ghData(n)}`);
  }
  const failed = report.results.some((r) => !r.pass) || report.results.length === 0;
  out.push(
    `::${failed ? "error" : "notice"} title=nslab ${ghProperty(report.lab)}::${
      ghData(summaryLine(report))
    }`,
  );
  return out.join("\n");
}

/** A TAP YAML scalar: JSON strings are valid YAML flow scalars. */
const yamlString = (s: string) => JSON.stringify(s);

/**
 * TAP version 14: the plan `1..N`, one `ok`/`not ok` line per row, and for failures a YAML block
 * with id, expected, observed and hint. Notes and the summary are `#` comments.
 *
 * @example
 * ```ts
 * import { formatTap } from "./ci_formats.ts";
 * console.log(formatTap({ lab: "shop", results: [], probes: 0, elapsedMs: 0, notes: [], causes: [] }));
 * // TAP version 14
 * // 1..0
 * // # 0 passed, 0 failed
 * ```
 */
export function formatTap(report: CheckReport): string {
  const out = ["TAP version 14", `1..${report.results.length}`];
  for (const c of report.causes) out.push(`# cause: ${c}`);
  report.results.forEach((r, i) => {
    const name = `${r.expectation.kind}: ${rowTitle(r)}`.replaceAll("#", "\\#");
    out.push(`${r.pass ? "ok" : "not ok"} ${i + 1} - ${name}`);
    if (r.pass) return;
    out.push(
      "  ---",
      `  id: ${yamlString(r.expectation.id)}`,
      `  expected: ${yamlString(formatExpected(r.expectation.expect))}`,
      `  observed: ${yamlString(formatObserved(r.observed))}`,
      `  hint: ${yamlString(r.hint)}`,
      "  ...",
    );
  });
  for (const n of report.notes) out.push(`# note: ${n}`);
  out.push(`# ${summaryLine(report)}`);
  return out.join("\n");
}
