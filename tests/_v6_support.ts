/**
 * Support for the IPv6 root tests (prefix `v6`): lab names and the failing rows of a report.
 *
 * @module
 */

import type { CheckReport } from "../core/checks/types.ts";

/** A lab name with the IPv6 tests' prefix and a random suffix (≤ 11 bytes, parallel-safe). */
export function v6LabName(): string {
  return `v6${crypto.randomUUID().replaceAll("-", "").slice(0, 7)}`;
}

/** Ids of the rows of `report` that did not pass, sorted. */
export function failingIds(report: CheckReport): string[] {
  return report.results.filter((x) => !x.pass).map((x) => x.expectation.id).sort();
}
