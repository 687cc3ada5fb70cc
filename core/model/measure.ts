/**
 * Measured checks: `{ from, to, expect: { rtt: ">= 50ms", loss: "2% ± 1%", rate: "<= 1mbit" } }`
 * in `checks:` — the impairments proven from inside the namespaces. Pure: the file's entries → a
 * range per metric.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { MeasureSpec, Metric, Model } from "./types.ts";
import { parseDuration, parsePercent, parseRate } from "./impair.ts";
import { parseIp } from "./ip.ts";

export type { MeasureSpec, Metric } from "./types.ts";

/** true when an `expect:` value is a measured one (a map). */
export function isMeasureExpect(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const PARSE: Record<Metric, (t: string) => number | null> = {
  rtt: parseDuration,
  loss: parsePercent,
  rate: parseRate,
};

const EXAMPLE: Record<Metric, string> = {
  rtt: '">= 50ms" or "100ms ± 10%"',
  loss: '"2% ± 1%" or "<= 5%"',
  rate: '"<= 1mbit" or "1mbit ± 15%"',
};

/**
 * `>= X`, `<= X`, `X ± T` (also `+-`) → `[min, max]`, or null. A `%` tolerance is relative for
 * rtt and rate, and in percentage points for loss (`2% ± 1%` is 1–3%).
 */
export function parseRange(metric: Metric, text: string): { min: number; max: number } | null {
  const t = text.trim();
  const cmp = /^(>=|<=|>|<)\s*(.+)$/.exec(t);
  if (cmp) {
    const v = PARSE[metric](cmp[2]);
    if (v === null) return null;
    return cmp[1].startsWith(">") ? { min: v, max: Infinity } : { min: 0, max: v };
  }
  const tol = /^(.+?)\s*(?:±|\+-|\+\/-)\s*(.+)$/.exec(t);
  if (!tol) return null;
  const v = PARSE[metric](tol[1]);
  if (v === null) return null;
  let d: number | null;
  if (metric !== "loss" && tol[2].trim().endsWith("%")) {
    const p = parsePercent(tol[2]);
    d = p === null ? null : (v * p) / 100;
  } else d = PARSE[metric](tol[2]);
  if (d === null) return null;
  return { min: Math.max(0, v - d), max: v + d };
}

type RawCheck = { from?: string; to?: string; expect?: unknown };

/** Reads the measured entries of `checks:` (the others are read by core/model/checks.ts). */
export function readMeasures(
  checks: unknown,
  model: Model,
  positions: Positions,
  diags: Diagnostics,
): MeasureSpec[] {
  const out: MeasureSpec[] = [];
  if (!Array.isArray(checks)) return out;
  const names = [...model.containers.map((c) => c.name), ...model.hosts.map((h) => h.name)];
  (checks as (RawCheck | undefined)[]).forEach((c, i) => {
    if (!c || !isMeasureExpect(c.expect)) return;
    const path = ["checks", i];
    if (c.from === undefined || !names.includes(c.from)) {
      diags.error(
        positions.of([...path, "from"]),
        `a measured check needs from: a container or host${c.from ? `, not "${c.from}"` : ""}`,
        `use one of: ${names.slice(0, 8).join(", ")}`,
      );
      return;
    }
    const to = String(c.to ?? "");
    if (!names.includes(to) && parseIp(to) === null) {
      diags.error(
        positions.of([...path, "to"]),
        `a measured check needs to: a container, host or IPv4 address${to ? `, not "${to}"` : ""}`,
        "name the peer without a port, e.g. to: db",
      );
      return;
    }
    const entries = Object.entries(c.expect);
    if (entries.length === 0) {
      diags.error(
        positions.of([...path, "expect"]),
        "expect: {} measures nothing",
        'e.g. expect: { rtt: ">= 50ms" }',
      );
    }
    for (const [key, value] of entries) {
      const metric = key as Metric;
      const range = PARSE[metric] ? parseRange(metric, String(value)) : null;
      if (!range) {
        diags.error(
          positions.of([...path, "expect", key]),
          `${key}: "${value}" is not a range`,
          `write e.g. ${key}: ${EXAMPLE[metric] ?? EXAMPLE.rtt}`,
        );
        continue;
      }
      out.push({
        from: c.from,
        to,
        metric,
        ...range,
        text: String(value),
        pos: positions.of(path),
      });
    }
  });
  return out;
}
