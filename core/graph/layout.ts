/**
 * Geometry of the topology picture: where every box, segment, line and word goes. Pure: a
 * {@link Scene} of primitive shapes (`scene.ts`) that `svg.ts` serialises, so the layout (and that
 * no two texts overlap) is testable without a renderer.
 *
 * Picture, top to bottom: a title; the hosts side by side, each a box with its header and segment
 * labels in a left gutter, its containers in columns along the top, and below them one horizontal
 * segment per network (bridges, then overlays aligned across hosts and joined by VXLAN tunnels,
 * then macvlans wired to the host's `eth0`); the host's `eth0` on the box's bottom edge, dropping
 * to the underlay line; the uplink to this machine; a legend. `grid.ts` measures, this file draws the
 * hosts, `furniture.ts` what lies below them.
 *
 * @module
 */

import type { Container, Model } from "../model/types.ts";
import { drawnHosts, endpointLabel, tunnelLabel, vtepLabel } from "./labels.ts";
import { drawLegend, drawNotes, drawUnderlay } from "./furniture.ts";
import {
  type Column,
  type Grid,
  type HostPlan,
  measureGrid,
  measureHost,
  netLines,
  PILL_HEIGHT,
  PORT_TAG_HEIGHT,
} from "./grid.ts";
import {
  BODY_SIZE,
  Canvas,
  COLORS,
  driverColor,
  HOST_NAME_SIZE,
  HOST_PADDING,
  LINE_HEIGHT,
  MARGIN,
  NAME_SIZE,
  type Scene,
  SEGMENT_WIDTH,
  textWidth,
  TITLE_SIZE,
} from "./scene.ts";

/** Lays the model out as a scene. Deterministic: the same model always gives the same scene. */
export function layout(m: Model): Scene {
  const canvas = new Canvas();
  const plans = drawnHosts(m).map((host) => measureHost(m, host));
  const g = measureGrid(m, plans);
  drawHostBoxes(canvas, g);
  drawWires(canvas, g); // under the segments: a wire crossing a segment has no dot
  drawSegments(canvas, g);
  drawTunnels(canvas, g);
  drawContainers(canvas, g);
  const feet = plans.map((p, i) => ({ x: g.segStart(i), address: p.host.address }));
  const underlay = drawUnderlay(canvas, m, g.hostBottom, feet, g.right);
  const notes = drawNotes(canvas, m, underlay.bottom + 30, underlay.right);
  const legend = drawLegend(canvas, notes.y, notes.right);
  // The title is measured last: it may widen the picture.
  const title = `nslab lab "${m.lab}" · ${m.file}`;
  canvas.text(MARGIN, g.titleY, title, { size: TITLE_SIZE, bold: true });
  const right = Math.max(legend.right, MARGIN + textWidth(title, TITLE_SIZE));
  return {
    width: Math.ceil(right + MARGIN),
    height: Math.ceil(legend.y + 16 + MARGIN),
    shapes: canvas.shapes,
  };
}

function drawHostBoxes(canvas: Canvas, g: Grid): void {
  for (const [i, p] of g.plans.entries()) {
    canvas.rect({
      x: g.xs[i],
      y: g.hostTop,
      w: p.width,
      h: g.hostBottom - g.hostTop,
      rx: 10,
      fill: COLORS.hostFill,
      stroke: COLORS.hostStroke,
      strokeWidth: 1.5,
    });
  }
}

/** From each container down to its lowest segment; macvlan segments hang off the host's eth0. */
function drawWires(canvas: Canvas, g: Grid): void {
  for (const [i, p] of g.plans.entries()) {
    for (const [k, col] of p.cols.entries()) {
      const attached = col.c.endpoints.map((e) => g.rowOf(p, e.network)).filter((r) => r >= 0);
      if (!attached.length) continue;
      const cx = g.colX[i][k] + col.boxW / 2;
      canvas.line({
        x1: cx,
        y1: g.boxTop + col.boxH,
        x2: cx,
        y2: g.segY(Math.max(...attached)),
        stroke: COLORS.wire,
        width: 1.5,
        key: `wire:${col.c.name}`,
      });
    }
    const mac = g.rows.map((r, ri) => ({ n: r.pick(p), ri })).filter((r) =>
      r.n?.driver === "macvlan"
    );
    if (mac.length) {
      canvas.line({
        x1: g.segStart(i),
        y1: g.segY(mac[0].ri),
        x2: g.segStart(i),
        y2: g.hostBottom - 10,
        stroke: COLORS.macvlan,
        width: 2.5,
      });
    }
  }
}

/** Each host's network segments, with their labels in the host's gutter. */
function drawSegments(canvas: Canvas, g: Grid): void {
  for (const [i, p] of g.plans.entries()) {
    for (const [ri, r] of g.rows.entries()) {
      const n = r.pick(p);
      if (!n) continue;
      const color = driverColor(n);
      const sy = g.segY(ri);
      canvas.line({
        x1: g.segStart(i),
        y1: sy,
        x2: g.xs[i] + p.width - HOST_PADDING,
        y2: sy,
        stroke: color,
        width: SEGMENT_WIDTH,
        dash: n.internal ? "12 6" : undefined,
        round: true,
      });
      netLines(n).forEach((l, li) =>
        canvas.text(g.xs[i] + HOST_PADDING, sy + 4 + li * LINE_HEIGHT, l, {
          size: li === 0 ? NAME_SIZE : BODY_SIZE,
          bold: li === 0,
          fill: li === 0 ? color : COLORS.muted,
        })
      );
    }
  }
}

/** Overlay tunnels between neighbouring hosts that join each overlay, labelled in the gap. */
function drawTunnels(canvas: Canvas, g: Grid): void {
  for (const [ri, r] of g.rows.entries()) {
    const joined = g.plans.map((p, i) => ({ p, i })).filter(({ p }) =>
      r.pick(p)?.driver === "overlay"
    );
    for (let j = 0; j + 1 < joined.length; j++) {
      const a = joined[j], b = joined[j + 1];
      const n = r.pick(a.p)!;
      const sy = g.segY(ri);
      const x1 = g.xs[a.i] + a.p.width - HOST_PADDING, x2 = g.xs[b.i];
      canvas.line({ x1, y1: sy, x2, y2: sy, stroke: COLORS.overlay, width: 2, dash: "6 4" });
      const mid = g.xs[a.i] + a.p.width + g.gap / 2;
      const label = tunnelLabel(n) ?? "tunnel";
      canvas.text(mid, sy - 8, label, { anchor: "middle", fill: COLORS.overlay });
      canvas.text(mid, sy + 18, vtepLabel(a.p.host, b.p.host), {
        anchor: "middle",
        fill: COLORS.muted,
      });
    }
  }
}

/** Each host's header, then its containers. */
function drawContainers(canvas: Canvas, g: Grid): void {
  for (const [i, p] of g.plans.entries()) {
    const x = g.xs[i] + HOST_PADDING;
    canvas.text(x, g.hostTop + 26, p.host.name, { size: HOST_NAME_SIZE, bold: true });
    p.header.forEach((h, hi) =>
      canvas.text(x, g.hostTop + 26 + LINE_HEIGHT + hi * LINE_HEIGHT, h, { fill: COLORS.muted })
    );
    for (const k of p.cols.keys()) drawContainer(canvas, g, i, k);
  }
}

/** How a container's box looks by its network mode: host, none, another's netns, its own. */
function boxStyle(
  kind: Container["mode"]["kind"],
): { fill: string; stroke: string; dash?: string } {
  if (kind === "host") return { fill: "#f0fdf4", stroke: COLORS.host, dash: "6 3" };
  if (kind === "none") return { fill: "#f3f4f6", stroke: COLORS.none, dash: "6 3" };
  if (kind === "container") return { fill: "#ffffff", stroke: COLORS.boxStroke, dash: "2 3" };
  return { fill: "#ffffff", stroke: COLORS.boxStroke, dash: undefined };
}

/** Container `k` of host `i`: its box, words, port tags, netns link, dots and address pills. */
function drawContainer(canvas: Canvas, g: Grid, i: number, k: number): void {
  const p = g.plans[i];
  const col = p.cols[k];
  const bx = g.colX[i][k];
  const style = boxStyle(col.c.mode.kind);
  canvas.rect({
    x: bx,
    y: g.boxTop,
    w: col.boxW,
    h: col.boxH,
    rx: 6,
    fill: style.fill,
    stroke: style.stroke,
    strokeWidth: 1.5,
    dash: style.dash,
    key: `container:${col.c.name}`,
  });
  col.lines.forEach((l, li) =>
    canvas.text(bx + 10, g.boxTop + 8 + (li + 1) * LINE_HEIGHT - 2, l.text, {
      size: l.size,
      bold: l.bold,
      fill: l.fill,
    })
  );
  drawPortTags(canvas, col, bx, g.boxTop);
  if (col.c.mode.kind === "container") {
    const of = col.c.mode.of;
    const ok = p.cols.findIndex((c) => c.c.name === of);
    if (ok === k - 1) {
      canvas.line({
        x1: g.colX[i][ok] + p.cols[ok].boxW,
        y1: g.boxTop + 16,
        x2: bx,
        y2: g.boxTop + 16,
        stroke: COLORS.boxStroke,
        width: 1.5,
        dash: "2 3",
      });
    }
  }
  drawEndpoints(canvas, g, p, col, bx + col.boxW / 2);
}

/** A column's published ports, one tag each under its words. */
function drawPortTags(canvas: Canvas, col: Column, bx: number, boxTop: number): void {
  col.tags.forEach((t, ti) => {
    const ty = boxTop + 10 + col.lines.length * LINE_HEIGHT + 2 + ti * (PORT_TAG_HEIGHT + 4);
    canvas.rect({
      x: bx + 8,
      y: ty,
      w: col.boxW - 16,
      h: PORT_TAG_HEIGHT,
      rx: 9,
      fill: t.local ? COLORS.localFill : COLORS.portFill,
      stroke: t.local ? COLORS.none : COLORS.portStroke,
      strokeWidth: 1,
      dash: t.local ? "3 2" : undefined,
    });
    canvas.text(bx + 14, ty + 13, t.text, { fill: t.local ? COLORS.muted : "#78350f" });
  });
}

/** Where a container meets its segments: a dot on each, with its address in a pill above. */
function drawEndpoints(canvas: Canvas, g: Grid, p: HostPlan, col: Column, cx: number): void {
  for (const e of col.c.endpoints) {
    const ri = g.rowOf(p, e.network);
    if (ri < 0) continue;
    const n = g.rows[ri].pick(p)!;
    const sy = g.segY(ri);
    const key = `endpoint:${col.c.name}@${e.network}`;
    canvas.circle({ cx, cy: sy, r: 5, fill: driverColor(n), stroke: "#ffffff", key });
    const label = endpointLabel(e);
    const pw = textWidth(label, BODY_SIZE) + 10;
    canvas.rect({
      x: cx - pw / 2,
      y: sy - 8 - PILL_HEIGHT,
      w: pw,
      h: PILL_HEIGHT,
      rx: 4,
      fill: "#ffffff",
      stroke: driverColor(n),
      strokeWidth: 1,
      key,
    });
    canvas.text(cx, sy - 8 - 4, label, { anchor: "middle" });
  }
}
