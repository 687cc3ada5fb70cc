/**
 * The benchmark's result rows: one row per (case, subject) with the median of its runs and the
 * ratio to the case's reference subject, the SPEC §8 target verdict, and the Markdown table.
 * Pure: no I/O.
 *
 * @module
 */

/** One sample: which row it belongs to, its value, and words for the row's note. */
export interface Sample {
  case: string;
  subject: string;
  value: number;
  /** Parts of the value worth showing (e.g. up and down), keyed by name; medians are noted. */
  parts?: Record<string, number>;
}

/** Which way is better for a row's unit. */
export type Better = "lower" | "higher";

/** A benchmark case: what is measured, against what, and the SPEC §8 target. */
export interface CaseInfo {
  /** Short id used by `--only` (`kernel100`, `up100`, …). */
  id: string;
  title: string;
  /** Subject the ratio column divides by; absent: the target is the reference. */
  reference?: string;
  /** SPEC §8 target, in words, e.g. `≤ 1.0 × ip -batch`. */
  target?: string;
}

/** One measured subject of a case. */
export interface Row {
  case: string;
  subject: string;
  /** Median of `samples`. */
  value: number;
  unit: string;
  better: Better;
  samples: number[];
  note?: string;
  /** Median of each named part of the samples (e.g. up and down), when they had parts. */
  parts?: Record<string, number>;
  /** value ÷ the reference row's value (same case), or null when there is none. */
  ratio?: number | null;
  /** This row is what SPEC §8 judges: met / missed against `target`. */
  verdict?: "met" | "missed";
}

/** A baseline that could not be measured here, and why. */
export interface Missing {
  case: string;
  subject: string;
  why: string;
}

/** The median of a non-empty list (upper median for even lengths). */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new RangeError("median of no samples");
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A row from raw samples (value = median). */
export function row(
  caseId: string,
  subject: string,
  samples: number[],
  unit: string,
  opts: { better?: Better; note?: string; parts?: Record<string, number> } = {},
): Row {
  return {
    case: caseId,
    subject,
    value: median(samples),
    unit,
    better: opts.better ?? "lower",
    samples,
    note: opts.note,
    parts: opts.parts,
  };
}

/** Sets `ratio` on every row: value ÷ the value of the case's reference subject, if measured. */
export function withRatios(rows: Row[], cases: CaseInfo[]): Row[] {
  return rows.map((r) => {
    const c = cases.find((x) => x.id === r.case);
    const ref = c?.reference
      ? rows.find((x) => x.case === r.case && x.subject === c.reference)
      : undefined;
    return { ...r, ratio: ref && ref.value > 0 ? r.value / ref.value : null };
  });
}

function fmtValue(v: number, unit: string): string {
  if (unit === "ms" && v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (unit === "ms") return `${v.toFixed(0)} ms`;
  if (unit === "queries/s") return `${Math.round(v).toLocaleString("en-US")} qps`;
  if (unit === "MB") return `${v.toFixed(1)} MB`;
  return `${Number.isInteger(v) ? v : v.toFixed(2)} ${unit}`;
}

/** The result table in Markdown: case, subject, median, × reference, runs, note. */
export function formatTable(rows: Row[], cases: CaseInfo[]): string {
  const lines = [
    "| case | subject | median | × reference | runs | note |",
    "|---|---|---:|---:|---:|---|",
  ];
  for (const c of cases) {
    const mine = rows.filter((r) => r.case === c.id);
    for (const [i, r] of mine.entries()) {
      const title = i === 0 ? `**${c.title}**` : "";
      const ratio = r.ratio == null ? "—" : `${r.ratio.toFixed(2)}×`;
      const verdict = r.verdict ? `target ${c.target}: **${r.verdict}**` : "";
      const note = [r.note, verdict].filter(Boolean).join("; ").replaceAll("|", "\\|");
      lines.push(
        `| ${title} | ${r.subject} | ${
          fmtValue(r.value, r.unit)
        } | ${ratio} | ${r.samples.length} | ${note} |`,
      );
    }
  }
  return lines.join("\n");
}

/** One goal of the issue as judged by a run: what it asks, what was measured, met or missed. */
export interface Target {
  /** The case's title. */
  case: string;
  target: string;
  /** The figure judged, in words (value, and its ratio where the target is one). */
  measured: string;
  verdict: "met" | "missed";
}

/** The target a judged row met or missed, with its figure in words. */
export function targetOf(r: Row, c: CaseInfo): Target {
  const ratio = r.ratio == null ? "" : ` (${r.ratio.toFixed(2)}×)`;
  return {
    case: c.title,
    target: c.target ?? "",
    measured: `${r.subject}: ${fmtValue(r.value, r.unit)}${ratio}`,
    verdict: r.verdict ?? "missed",
  };
}

/** The goals as a Markdown table, one line each, the verdict in bold. */
export function formatTargets(targets: Target[]): string {
  const lines = ["| case | target | measured | verdict |", "|---|---|---|---|"];
  for (const t of targets) {
    const cells = [t.case, t.target, t.measured, `**${t.verdict}**`];
    lines.push(`| ${cells.map((x) => x.replaceAll("|", "\\|")).join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The missing baselines as a Markdown list (or a sentence saying none were missing). */
export function formatMissing(missing: Missing[]): string {
  if (missing.length === 0) return "Every baseline ran.";
  return missing.map((m) => `- ${m.case} / ${m.subject}: ${m.why}`).join("\n");
}
