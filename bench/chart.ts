/**
 * The benchmark chart: one panel per case, one horizontal bar per subject (nslab in blue, the
 * baselines in grey), the median printed beside each bar, and the SPEC §8 target as a dashed
 * red line where it is a number. A self-contained SVG (no fonts or scripts to load). Pure.
 *
 * @module
 */

import type { CaseInfo, Row } from "./result.ts";

/** A case as drawn: its info plus the target in the rows' unit, when there is one. */
export interface ChartCase extends CaseInfo {
  targetValue?: number;
}

const W = 960;
const LABEL_W = 250;
const VALUE_W = 150;
const BAR_H = 20;
const GAP = 6;
const TITLE_H = 26;
const PAD = 18;

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** `523 ms`, `4.1 s`, `65,000 qps`, `118 MB`. */
export function formatValue(v: number, unit: string): string {
  if (unit === "ms") return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
  if (unit === "queries/s") return `${Math.round(v).toLocaleString("en-US")} qps`;
  if (unit === "MB") return `${v.toFixed(0)} MB`;
  return `${Math.round(v * 100) / 100} ${unit}`;
}

/** The chart as SVG text. `subtitle` names the machine and date. */
export function renderChart(rows: Row[], cases: ChartCase[], subtitle: string): string {
  const panels = cases.filter((c) => rows.some((r) => r.case === c.id));
  const parts: string[] = [];
  let y = 64;
  const barW = W - LABEL_W - VALUE_W - PAD;
  for (const c of panels) {
    const mine = rows.filter((r) => r.case === c.id);
    const unit = mine[0].unit;
    const higher = mine[0].better === "higher";
    const max = Math.max(...mine.map((r) => r.value), c.targetValue ?? 0) || 1;
    const h = TITLE_H + mine.length * (BAR_H + GAP) + PAD;
    parts.push(`<rect x="8" y="${y - 4}" width="${W - 16}" height="${h}" fill="#f7f8fa" rx="6"/>`);
    const hint = higher ? "higher is better" : "lower is better";
    const target = c.target ? ` · target ${c.target}` : "";
    parts.push(
      `<text x="${PAD}" y="${y + 14}" class="t">${esc(c.title)}</text>` +
        `<text x="${W - PAD}" y="${y + 14}" class="h" text-anchor="end">${
          esc(`${hint}${target}`)
        }</text>`,
    );
    let by = y + TITLE_H;
    for (const r of mine) {
      const nslab = r.subject.startsWith("nslab");
      const len = Math.max(2, (r.value / max) * barW);
      const fill = nslab ? (r.verdict === "missed" ? "#e8853d" : "#2f6fd6") : "#9aa3ad";
      parts.push(
        `<text x="${LABEL_W - 8}" y="${by + BAR_H - 6}" class="l" text-anchor="end">${
          esc(r.subject)
        }</text>`,
        `<rect x="${LABEL_W}" y="${by}" width="${
          len.toFixed(1)
        }" height="${BAR_H}" fill="${fill}" rx="2"/>`,
        `<text x="${LABEL_W + len + 6}" y="${by + BAR_H - 6}" class="v">${
          esc(formatValue(r.value, unit))
        }${
          r.ratio != null && c.reference ? ` <tspan class="h">(${r.ratio.toFixed(2)}×)</tspan>` : ""
        }</text>`,
      );
      by += BAR_H + GAP;
    }
    if (c.targetValue !== undefined) {
      const tx = LABEL_W + (c.targetValue / max) * barW;
      parts.push(
        `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${y + TITLE_H - 4}" y2="${
          by - GAP + 4
        }" stroke="#d62f2f" stroke-width="1.5" stroke-dasharray="5,3"/>`,
      );
    }
    y += h + 10;
  }
  const height = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}">`,
    `<style>text{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;fill:#1d232b}` +
    `.t{font-size:14px;font-weight:bold}.l{font-size:12px}.v{font-size:12px;font-weight:bold}` +
    `.h{font-size:11px;fill:#5b6570;font-weight:normal}.s{font-size:12px;fill:#5b6570}</style>`,
    `<rect width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${PAD}" y="28" style="font-size:18px;font-weight:bold">nslab benchmarks (deno task bench)</text>`,
    `<text x="${PAD}" y="48" class="s">${esc(subtitle)}</text>`,
    ...parts,
    `<rect x="${PAD}" y="${height - 22}" width="12" height="10" fill="#2f6fd6"/>` +
    `<text x="${PAD + 16}" y="${height - 13}" class="s">nslab</text>` +
    `<rect x="${PAD + 70}" y="${height - 22}" width="12" height="10" fill="#e8853d"/>` +
    `<text x="${PAD + 86}" y="${height - 13}" class="s">nslab, misses its target</text>` +
    `<rect x="${PAD + 250}" y="${height - 22}" width="12" height="10" fill="#9aa3ad"/>` +
    `<text x="${PAD + 266}" y="${height - 13}" class="s">baseline</text>` +
    `<line x1="${PAD + 340}" x2="${PAD + 360}" y1="${height - 17}" y2="${height - 17}" ` +
    `stroke="#d62f2f" stroke-width="1.5" stroke-dasharray="5,3"/>` +
    `<text x="${PAD + 366}" y="${height - 13}" class="s">SPEC §8 target</text>`,
    `</svg>`,
  ].join("\n") + "\n";
}
