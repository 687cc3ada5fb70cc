/**
 * What the topology picture shows below the hosts: the underlay line with each host's `eth0`
 * dropping to it, the uplink to this machine, notes on networks without a segment, and the
 * legend. Each step draws on the {@link Canvas} from a given height and says how far down and to
 * the right it reached.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { stacklessNetworks, underlayLabel } from "./labels.ts";
import {
  BODY_SIZE,
  type Canvas,
  COLORS,
  driverColor,
  LINE_HEIGHT,
  MARGIN,
  SEGMENT_WIDTH,
  textWidth,
} from "./scene.ts";

/** Where a host's `eth0` sits on its box's bottom edge, and its address. */
export interface HostFoot {
  x: number;
  address: string;
}

/** How far a drawing step reached: its lowest point (or the next step's top) and right edge. */
export interface Reach {
  y: number;
  right: number;
}

/** Distance from the hosts' bottom edge down to the underlay line, px. */
const UNDERLAY_DROP = 56;

/**
 * The underlay line under the hosts, each host's `eth0` on it, and the uplink to this machine
 * (or a note that there is none). Returns the bottom of what it drew.
 */
export function drawUnderlay(
  canvas: Canvas,
  m: Model,
  hostBottom: number,
  feet: HostFoot[],
  right: number,
): { bottom: number; right: number } {
  const barY = hostBottom + UNDERLAY_DROP;
  const label = underlayLabel(m);
  const uplink = m.underlay.uplink;
  const upLines = uplink
    ? ["this machine (root netns)", `${uplink.rootIfname} ${uplink.address}`]
    : [];
  const upW = uplink ? Math.ceil(Math.max(...upLines.map((l) => textWidth(l, BODY_SIZE))) + 20) : 0;
  const last = feet.at(-1);
  const lastEth0 = last ? last.x + textWidth(`eth0 ${last.address}`, BODY_SIZE) / 2 + 24 : MARGIN;
  const upX = uplink
    ? Math.max(right - upW, MARGIN + textWidth(label, BODY_SIZE) + 40, lastEth0 - upW / 2)
    : 0;
  if (uplink) right = Math.max(right, upX + upW);
  canvas.line({
    x1: MARGIN,
    y1: barY,
    x2: right,
    y2: barY,
    stroke: COLORS.underlay,
    width: 6,
    round: true,
  });
  canvas.text(MARGIN, barY + 22, label, { bold: true, fill: COLORS.underlay });
  for (const foot of feet) drawEth0(canvas, foot, hostBottom, barY);
  if (!uplink) {
    canvas.text(MARGIN, barY + 22 + LINE_HEIGHT, "no uplink to this machine", {
      fill: COLORS.muted,
    });
    return { bottom: barY + 22 + LINE_HEIGHT, right };
  }
  return { bottom: drawUplink(canvas, upLines, upX, upW, barY), right };
}

/** A host's `eth0`: a tag on its box's bottom edge and a drop to the underlay line. */
function drawEth0(canvas: Canvas, foot: HostFoot, hostBottom: number, barY: number): void {
  const label = `eth0 ${foot.address || "(no address)"}`;
  const w = textWidth(label, BODY_SIZE) + 16;
  const x = foot.x;
  canvas.line({ x1: x, y1: hostBottom, x2: x, y2: barY, stroke: COLORS.underlay, width: 2.5 });
  canvas.circle({ cx: x, cy: barY, r: 5, fill: COLORS.underlay, stroke: "#ffffff" });
  canvas.rect({
    x: x - w / 2,
    y: hostBottom - 11,
    w,
    h: 22,
    rx: 4,
    fill: "#e2e8f0",
    stroke: COLORS.underlay,
    strokeWidth: 1.5,
  });
  canvas.text(x, hostBottom + 4, label, { anchor: "middle", bold: true });
}

/** The uplink: a drop from the underlay line to a box for this machine. Returns its bottom. */
function drawUplink(
  canvas: Canvas,
  lines: string[],
  x: number,
  w: number,
  barY: number,
): number {
  const top = barY + 36;
  const mid = x + w / 2;
  canvas.line({ x1: mid, y1: barY, x2: mid, y2: top, stroke: COLORS.underlay, width: 2.5 });
  canvas.circle({ cx: mid, cy: barY, r: 5, fill: COLORS.underlay, stroke: "#ffffff" });
  canvas.rect({
    x,
    y: top,
    w,
    h: 10 + lines.length * LINE_HEIGHT,
    rx: 6,
    fill: "#e2e8f0",
    stroke: COLORS.underlay,
    strokeWidth: 1.5,
  });
  lines.forEach((l, li) =>
    canvas.text(x + 10, top + 2 + (li + 1) * LINE_HEIGHT, l, { bold: li === 0 })
  );
  return top + 10 + lines.length * LINE_HEIGHT;
}

/** A line naming the networks that have no segment (their containers share a stack or none). */
export function drawNotes(canvas: Canvas, m: Model, top: number, right: number): Reach {
  const stackless = stacklessNetworks(m);
  if (!stackless.length) return { y: top, right };
  const intro = "Networks without a segment (their containers share a stack or have none):";
  canvas.text(MARGIN, top, intro, { fill: COLORS.muted });
  let x = MARGIN + textWidth(intro, BODY_SIZE) + 12;
  for (const n of stackless) {
    const s = `${n.name} (${n.driver} driver)`;
    canvas.text(x, top, s, { bold: true, fill: driverColor(n) });
    x += textWidth(s, BODY_SIZE) + 16;
  }
  return { y: top + LINE_HEIGHT + 10, right: Math.max(right, x) };
}

/** Width of a legend item's sample, px. */
const SAMPLE_W = 28;

/** One legend item: a sample drawn at (x, y) and what it means. */
interface LegendItem {
  label: string;
  draw: (canvas: Canvas, x: number, y: number) => void;
}

const segment =
  (color: string, dash?: string, width = SEGMENT_WIDTH) => (canvas: Canvas, x: number, y: number) =>
    canvas.line({
      x1: x,
      y1: y,
      x2: x + SAMPLE_W,
      y2: y,
      stroke: color,
      width,
      dash,
      round: !dash,
    });

const box =
  (stroke: string, fill: string, dash?: string) => (canvas: Canvas, x: number, y: number) =>
    canvas.rect({ x, y: y - 8, w: SAMPLE_W, h: 16, rx: 4, fill, stroke, strokeWidth: 1.5, dash });

const tag =
  (fill: string, stroke: string, dash?: string) => (canvas: Canvas, x: number, y: number) =>
    canvas.rect({ x, y: y - 8, w: SAMPLE_W, h: 16, rx: 8, fill, stroke, strokeWidth: 1, dash });

/** The legend, in the order it reads. */
const LEGEND: LegendItem[] = [
  { label: "bridge network", draw: segment(COLORS.bridge) },
  { label: "internal (no route out)", draw: segment(COLORS.bridge, "8 4") },
  { label: "overlay network", draw: segment(COLORS.overlay) },
  { label: "VXLAN tunnel", draw: segment(COLORS.overlay, "6 4", 2) },
  { label: "macvlan on eth0", draw: segment(COLORS.macvlan) },
  { label: "underlay", draw: segment(COLORS.underlay) },
  {
    label: "attached (no dot: just crossing)",
    draw: (canvas, x, y) => {
      canvas.line({
        x1: x + 14,
        y1: y - 8,
        x2: x + 14,
        y2: y + 8,
        stroke: COLORS.wire,
        width: 1.5,
      });
      canvas.circle({ cx: x + 14, cy: y, r: 5, fill: COLORS.bridge, stroke: "#ffffff" });
    },
  },
  { label: "container", draw: box(COLORS.boxStroke, "#ffffff") },
  { label: "network_mode: host", draw: box(COLORS.host, "#f0fdf4", "6 3") },
  { label: "network_mode: none", draw: box(COLORS.none, "#f3f4f6", "6 3") },
  { label: "shares another's netns", draw: box(COLORS.boxStroke, "#ffffff", "2 3") },
  { label: "published port", draw: tag(COLORS.portFill, COLORS.portStroke) },
  { label: "loopback-only port", draw: tag(COLORS.localFill, COLORS.none, "3 2") },
];

/** The legend under a heading, its items wrapped to the picture's width (at least 640 px). */
export function drawLegend(canvas: Canvas, top: number, right: number): Reach {
  canvas.text(MARGIN, top, "Legend", { bold: true, fill: COLORS.muted });
  const legendW = Math.max(right - MARGIN, 640);
  let x = MARGIN;
  let y = top + 14 + 10;
  for (const item of LEGEND) {
    const w = SAMPLE_W + 8 + Math.ceil(textWidth(item.label, BODY_SIZE)) + 22;
    if (x > MARGIN && x + w > MARGIN + legendW) {
      x = MARGIN;
      y += 26;
    }
    item.draw(canvas, x, y);
    canvas.text(x + 36, y + 4, item.label);
    x += w;
  }
  return { y, right: Math.max(right, MARGIN + legendW) };
}
