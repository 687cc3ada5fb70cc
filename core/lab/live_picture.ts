/**
 * The topology picture with the lab's live state drawn on it: the last check run (each endpoint,
 * container and pair green or red, the failures with their hints) and each endpoint's link state.
 * Pure: a {@link LiveView} in, an SVG out. `nslab check --format svg` and the page of
 * `nslab graph --serve` both draw through {@link liveSvg}.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { CheckReport, CheckResult } from "../checks/types.ts";
import { formatExpected, formatObserved, summaryLine } from "../checks/report.ts";
import { layout } from "../graph/layout.ts";
import { COLORS, type Scene, type Shape, textWidth } from "../graph/scene.ts";
import { sceneToSvg } from "../graph/svg.ts";

/** State of an endpoint's host-side link: `missing` when the veth is gone. */
export type LinkState = "up" | "down" | "missing";

/** Everything the live picture shows. */
export interface LiveView {
  model: Model;
  /** The last check run, or null when none ran since `up`. */
  report: CheckReport | null;
  /** When that run finished (ISO time), for the caption. */
  checkedAt?: string;
  /** Link state per endpoint, keyed `container@network` (absent: not known). */
  links: Record<string, LinkState>;
  /**
   * Hook for impairments (loss, delay, partitions): a short label per endpoint key
   * (`container@network`), drawn under its address. Empty until impairments exist.
   */
  impairments?: Record<string, string>;
}

/** Colours of a verdict. */
export const STATUS_COLORS = {
  pass: "#16a34a",
  fail: "#dc2626",
  partial: "#d97706",
  passFill: "#dcfce7",
  failFill: "#fee2e2",
  none: "#e2e8f0",
} as const;

type Status = "pass" | "fail" | "partial";

const FONT_SIZE = 12;
const LINE_HEIGHT = 17;
const MARGIN = 16;
const CELL = 26;
/** Failed rows listed under the picture; the rest are counted. */
const MAX_FAILURES = 40;

/**
 * A row's pair: source and target container, and the network when the row names one (implied
 * rows: `reach:web->api@front:tcp/80`); null for rows that are not about two containers.
 */
function pairOf(r: CheckResult): { source: string; target: string; network: string | null } | null {
  const e = r.expectation;
  if (e.kind !== "reach" && e.kind !== "isolation") return null;
  const target = e.containers.find((c) => c !== e.source);
  if (!target) return null;
  const m = /^(?:reach|isolation):.+?->.+?@([^:]+):/.exec(e.id);
  return { source: e.source, target, network: m ? m[1] : null };
}

/** Pass/fail tallies per key, folded into a status: all passed, all failed, or some of each. */
class Tally {
  readonly #counts = new Map<string, { pass: number; fail: number }>();
  add(key: string, pass: boolean): void {
    const c = this.#counts.get(key) ?? { pass: 0, fail: 0 };
    if (pass) c.pass++;
    else c.fail++;
    this.#counts.set(key, c);
  }
  status(key: string): Status | null {
    const c = this.#counts.get(key);
    if (!c) return null;
    return c.fail === 0 ? "pass" : c.pass === 0 ? "fail" : "partial";
  }
  keys(): string[] {
    return [...this.#counts.keys()];
  }
}

/** Tallies of a report: per endpoint (pair rows), per container (every row), per ordered pair. */
function tallies(report: CheckReport | null) {
  const endpoints = new Tally(), containers = new Tally(), pairs = new Tally();
  for (const r of report?.results ?? []) {
    for (const c of new Set([r.expectation.source, ...r.expectation.containers])) {
      containers.add(c, r.pass);
    }
    const p = pairOf(r);
    if (!p) continue;
    pairs.add(`${p.source}->${p.target}`, r.pass);
    if (r.expectation.kind === "reach" && p.network) {
      endpoints.add(`${p.source}@${p.network}`, r.pass);
      endpoints.add(`${p.target}@${p.network}`, r.pass);
    }
  }
  return { endpoints, containers, pairs };
}

/** The topology scene with endpoints, wires and containers recoloured by verdict and link state. */
function recolor(scene: Scene, view: LiveView, t: ReturnType<typeof tallies>): Shape[] {
  const out: Shape[] = [];
  for (const s of scene.shapes) {
    const [what, id] = (s.key ?? ":").split(/:(.*)/s);
    if (what === "endpoint") {
      const link = view.links[id];
      const broken = link === "missing" || link === "down";
      const status = broken ? "fail" : t.endpoints.status(id);
      const color = status ? STATUS_COLORS[status] : null;
      if (s.kind === "circle") out.push(color ? { ...s, fill: color } : s);
      else if (s.kind !== "rect") out.push(s);
      else {
        out.push(
          color ? { ...s, stroke: color, strokeWidth: 2.5, dash: broken ? "4 3" : s.dash } : s,
        );
        const below = [broken ? `link ${link}` : "", view.impairments?.[id] ?? ""]
          .filter(Boolean).join(" · ");
        if (below) {
          out.push({
            ...text(s.x + s.w / 2, s.y + s.h + 24, below, true),
            size: 11,
            fill: broken ? STATUS_COLORS.fail : COLORS.muted,
            anchor: "middle",
          });
        }
      }
    } else if (what === "container" && s.kind === "rect") {
      const status = t.containers.status(id);
      out.push(status ? { ...s, stroke: STATUS_COLORS[status], strokeWidth: 2.5 } : s);
    } else out.push(s);
  }
  return out;
}

/** The matrix of ordered pairs below the picture: one cell per source → target. */
function pairMatrix(t: ReturnType<typeof tallies>, top: number): Scene {
  const shapes: Shape[] = [];
  const names = [...new Set(t.pairs.keys().flatMap((k) => k.split("->")))].sort();
  if (names.length === 0) return { width: 0, height: 0, shapes };
  const labelW = Math.ceil(Math.max(...names.map((n) => textWidth(n, FONT_SIZE)))) + 12;
  const left = MARGIN + labelW;
  const headY = top + LINE_HEIGHT;
  shapes.push(text(MARGIN, headY, "pairs: row reaches column (✓ as expected, ✗ not)", true));
  const gridTop = headY + 10 + labelW;
  names.forEach((n, i) => {
    // Column names, written upwards.
    const x = left + i * CELL + CELL / 2 + 4;
    shapes.push({ ...text(x, gridTop - 6, n), rotate: -90 });
    shapes.push(text(MARGIN, gridTop + i * CELL + CELL / 2 + 4, n));
  });
  names.forEach((s, i) =>
    names.forEach((d, j) => {
      const status = t.pairs.status(`${s}->${d}`);
      const x = left + j * CELL, y = gridTop + i * CELL;
      shapes.push({
        kind: "rect",
        x,
        y,
        w: CELL - 2,
        h: CELL - 2,
        rx: 3,
        fill: status === null
          ? STATUS_COLORS.none
          : status === "pass"
          ? STATUS_COLORS.passFill
          : STATUS_COLORS.failFill,
        stroke: status === null
          ? "#ffffff"
          : status === "pass"
          ? STATUS_COLORS.pass
          : STATUS_COLORS.fail,
        strokeWidth: 1.5,
        key: `pair:${s}->${d}`,
      });
      if (status !== null) {
        shapes.push({
          ...text(x + CELL / 2 - 1, y + CELL / 2 + 4, status === "pass" ? "✓" : "✗", true),
          anchor: "middle",
          fill: status === "pass" ? STATUS_COLORS.pass : STATUS_COLORS.fail,
        });
      }
    })
  );
  const size = names.length * CELL;
  return { width: left + size + MARGIN, height: gridTop + size - top + 8, shapes };
}

function text(x: number, y: number, s: string, bold = false): Shape & { kind: "text" } {
  return { kind: "text", x, y, text: s, size: FONT_SIZE, bold, fill: COLORS.text, anchor: "start" };
}

/** `2026-11-29T10:28:09.277Z` → `2026-11-29 10:28:09 UTC`. */
const clock = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");

/** The caption and one line per failed row: what, expected, observed, hint. */
function failureLines(view: LiveView, top: number): Scene {
  const shapes: Shape[] = [];
  const r = view.report;
  const caption = r
    ? `last check${view.checkedAt ? ` at ${clock(view.checkedAt)}` : ""}: ${summaryLine(r)}`
    : "no check has run yet: nslab check";
  let y = top + LINE_HEIGHT;
  shapes.push({
    ...text(MARGIN, y, caption, true),
    key: "caption",
    fill: !r
      ? COLORS.muted
      : r.results.every((x) => x.pass)
      ? STATUS_COLORS.pass
      : STATUS_COLORS.fail,
  });
  let width = textWidth(caption, FONT_SIZE);
  for (const cause of r?.causes ?? []) {
    y += LINE_HEIGHT;
    const line = `cause: ${cause}`;
    shapes.push({ ...text(MARGIN, y, line, true), fill: STATUS_COLORS.fail, key: "cause" });
    width = Math.max(width, textWidth(line, FONT_SIZE));
  }
  const failed = (r?.results ?? []).filter((x) => !x.pass);
  for (const f of failed.slice(0, MAX_FAILURES)) {
    y += LINE_HEIGHT;
    const line = `✗ ${f.expectation.source} → ${f.expectation.target}: expected ${
      formatExpected(f.expectation.expect)
    }, observed ${formatObserved(f.observed)} — ${f.hint}`;
    shapes.push({
      ...text(MARGIN, y, line),
      fill: STATUS_COLORS.fail,
      key: `failure:${f.expectation.id}`,
    });
    width = Math.max(width, textWidth(line, FONT_SIZE));
  }
  if (failed.length > MAX_FAILURES) {
    y += LINE_HEIGHT;
    shapes.push({
      ...text(MARGIN, y, `… and ${failed.length - MAX_FAILURES} more (nslab check)`),
      fill: STATUS_COLORS.fail,
    });
  }
  return { width: Math.ceil(width) + 2 * MARGIN, height: y - top + 8, shapes };
}

/**
 * The live picture as SVG: the topology with verdicts and link states, the caption of the last
 * check with its failures, and the pair matrix. Shapes that stand for something carry `data-key`
 * (`endpoint:web@front`, `container:web`, `pair:web->api`, `failure:<id>`, `caption`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveSvg } from "./live_picture.ts";
 * import { loadTopologyObject } from "../model/load.ts";
 * const { model } = loadTopologyObject(
 *   { name: "shop", containers: { web: {}, api: {} } },
 *   { reserved: [], uplink: false },
 * );
 * const svg = liveSvg({ model, report: null, links: {} });
 * assert.ok(svg.includes("no check has run yet"));
 * ```
 */
export function liveSvg(view: LiveView): string {
  const scene = layout(view.model);
  const t = tallies(view.report);
  const shapes = recolor(scene, view, t);
  const failures = failureLines(view, scene.height);
  const matrix = pairMatrix(t, scene.height + failures.height);
  return sceneToSvg({
    width: Math.max(scene.width, failures.width, matrix.width),
    height: scene.height + failures.height + matrix.height + MARGIN,
    shapes: [...shapes, ...failures.shapes, ...matrix.shapes],
  }, `nslab lab ${view.model.lab}`);
}
