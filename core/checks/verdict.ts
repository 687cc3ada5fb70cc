/**
 * A check report read like a test: `report.ok`, `report.failed`, and an error whose message is the
 * table of failing rows. Pure.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import { formatTable, reportPassed } from "./report.ts";
import type { CheckReport, CheckResult } from "./types.ts";

/** A {@link CheckReport} with its verdict: `ok` and the `failed` rows. */
export interface CheckOutcome extends CheckReport {
  /** true when at least one row was checked and every row passed. */
  readonly ok: boolean;
  /** The rows that failed, in report order (empty when `ok`). */
  readonly failed: CheckResult[];
}

/**
 * Adds `ok` and `failed` to a report. They are getters that JSON and object spread skip, so the
 * report still serialises exactly as `nslab check --format json` prints it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withVerdict } from "./verdict.ts";
 * const report = withVerdict({ lab: "shop", results: [], probes: 0, elapsedMs: 0, notes: [], causes: [] });
 * assert.equal(report.ok, false); // a run that checked nothing proves nothing
 * assert.deepEqual(report.failed, []);
 * assert.equal(JSON.stringify(report).includes('"ok"'), false);
 * ```
 */
export function withVerdict(report: CheckReport): CheckOutcome {
  if ("ok" in report) return report as CheckOutcome;
  return Object.defineProperties(report, {
    ok: {
      get: () => reportPassed(report),
      enumerable: false,
    },
    failed: { get: () => report.results.filter((r) => !r.pass), enumerable: false },
  }) as CheckOutcome;
}

/** Checks of a lab failed; the message is the table of failing rows. Exit code 1. */
export class ChecksFailedError extends NslabError {
  /** The whole report, passing rows included. */
  readonly report: CheckReport;
  constructor(report: CheckReport) {
    super(failureMessage(report), 1);
    this.name = "ChecksFailedError";
    this.report = report;
  }
}

/**
 * The text of a failed run for a test log: a headline, then one row per failure with source,
 * target, expected, observed and hint, then the counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { failureMessage } from "./verdict.ts";
 * const text = failureMessage({ lab: "shop", results: [], probes: 0, elapsedMs: 0, notes: [], causes: [] });
 * assert.match(text, /^Lab "shop": nothing was checked/);
 * ```
 */
export function failureMessage(report: CheckReport): string {
  const failed = report.results.filter((r) => !r.pass).length;
  const headline = report.results.length === 0
    ? `Lab "${report.lab}": nothing was checked (a run that checks nothing proves nothing)`
    : `Lab "${report.lab}": ${failed} of ${report.results.length} checks failed`;
  return `${headline}\n${formatTable(report, { color: false, failuresOnly: true })}`;
}

/**
 * Throws a {@link ChecksFailedError} unless every row passed (and there was at least one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertReport, ChecksFailedError } from "./verdict.ts";
 * const empty = { lab: "shop", results: [], probes: 0, elapsedMs: 0, notes: [], causes: [] };
 * assert.throws(() => assertReport(empty), ChecksFailedError);
 * ```
 */
export function assertReport(report: CheckReport): asserts report is CheckOutcome {
  const outcome = withVerdict(report);
  if (!outcome.ok) throw new ChecksFailedError(report);
}
