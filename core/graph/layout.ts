/**
 * Geometry of the topology picture: where every box, segment, line and word goes. Pure: a
 * {@link Scene} of primitive shapes that `svg.ts` serialises, so the layout (and that no two texts
 * overlap) is testable without a renderer.
 *
 * Picture, top to bottom: a title; the hosts side by side, each a box with its header and segment
 * labels in a left gutter, its containers in columns along the top, and below them one horizontal
 * segment per network (bridges, then overlays aligned across hosts and joined by VXLAN tunnels,
 * then macvlans wired to the host's `eth0`); the host's `eth0` on the box's bottom edge, dropping
 * to the underlay line; the uplink to this machine; a legend.
 *
 * @module
 */

import type { Container, Host, Model, Network } from "../model/types.ts";
import {
  drawnHosts,
  endpointLabel,
  hostContainers,
  hostNetworks,
  isLoopbackPort,
  modeLabel,
  networkDetails,
  networkTitle,
  portLabel,
  stacklessNetworks,
  tunnelLabel,
  underlayLabel,
  vtepLabel,
} from "./labels.ts";

/** A rectangle (`rx` rounds its corners; `dash` is an SVG dash array). */
export interface RectShape {
  kind: "rect";
  x: number;
  y: number;
  w: number;
  h: number;
  rx: number;
  fill: string;
  stroke: string;
  strokeWidth: number;
  dash?: string;
  /** What the shape stands for (`container:web`, `endpoint:web@front`), for overlays. */
  key?: string;
}

/** A straight line. */
export interface LineShape {
  kind: "line";
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  stroke: string;
  width: number;
  dash?: string;
  /** Round caps (segments) instead of butt caps (wires). */
  round?: boolean;
  /** What the line stands for (`wire:web`), for overlays. */
  key?: string;
}

/** A filled circle (an attachment point). */
export interface CircleShape {
  kind: "circle";
  cx: number;
  cy: number;
  r: number;
  fill: string;
  stroke: string;
  /** What the point stands for (`endpoint:web@front`), for overlays. */
  key?: string;
}

/** One line of monospace text; `y` is the baseline. */
export interface TextShape {
  kind: "text";
  x: number;
  y: number;
  text: string;
  size: number;
  bold: boolean;
  fill: string;
  anchor: "start" | "middle";
  /** Degrees about (x, y): -90 writes upwards. */
  rotate?: number;
  /** What the text stands for (`caption`, `failure:<id>`), for pages and tests. */
  key?: string;
}

/** Any primitive of the picture. */
export type Shape = RectShape | LineShape | CircleShape | TextShape;

/** The laid-out picture: size and shapes in paint order (later shapes on top). */
export interface Scene {
  width: number;
  height: number;
  shapes: Shape[];
}

/** Colours: one per driver, plus the furniture. */
export const COLORS = {
  bridge: "#2563eb",
  overlay: "#7c3aed",
  macvlan: "#c2410c",
  host: "#15803d",
  none: "#6b7280",
  underlay: "#334155",
  wire: "#475569",
  text: "#0f172a",
  muted: "#475569",
  hostFill: "#f8fafc",
  hostStroke: "#94a3b8",
  boxStroke: "#334155",
  portFill: "#fef3c7",
  portStroke: "#b45309",
  localFill: "#f1f5f9",
} as const;

/** Colour of a network's segment. */
export function driverColor(n: Network): string {
  switch (n.driver) {
    case "overlay":
      return COLORS.overlay;
    case "macvlan":
      return COLORS.macvlan;
    case "host":
      return COLORS.host;
    case "none":
      return COLORS.none;
    default:
      return COLORS.bridge;
  }
}

/** Advance of one monospace character as a fraction of the font size (DejaVu Sans Mono: 0.602). */
const CHAR = 0.61;

/** Estimated width of `text` at `size` px in a monospace font (bold has the same advance). */
export function textWidth(text: string, size: number): number {
  return [...text].length * size * CHAR;
}

/** Estimated bounding box of a text shape (ascent 0.8, descent 0.25 of the size). */
export function textBounds(t: TextShape): { x: number; y: number; w: number; h: number } {
  const w = textWidth(t.text, t.size);
  const x = t.anchor === "middle" ? t.x - w / 2 : t.x;
  return { x, y: t.y - t.size * 0.8, w, h: t.size * 1.05 };
}

const FS = 12; // body font size
const LH = 16; // body line height
const NAME = 13; // container / host name size
const M = 24; // outer margin
const PAD = 14; // inside a host box
const COL_GAP = 18; // between container columns
const TAG_H = 18; // port tag height
const PILL_H = 16; // endpoint address pill height
const SEG_ABOVE = 24; // row top → segment line (room for the pills)
const SEG_W = 5; // segment stroke width

interface Column {
  c: Container;
  w: number;
  boxW: number;
  boxH: number;
  lines: { text: string; size: number; bold: boolean; fill: string }[];
  tags: { text: string; local: boolean }[];
}

interface HostPlan {
  host: Host;
  gutterW: number;
  cols: Column[];
  width: number;
  local: Network[];
  macvlan: Network[];
  overlays: Set<string>;
  header: string[];
}

function column(c: Container, hostAddress: string): Column {
  const lines: Column["lines"] = [{ text: c.name, size: NAME, bold: true, fill: COLORS.text }];
  const mode = modeLabel(c);
  if (mode) lines.push({ text: mode, size: FS, bold: false, fill: COLORS.muted });
  else if (c.replica !== null) {
    lines.push({
      text: `${c.service} replica ${c.replica}`,
      size: FS,
      bold: false,
      fill: COLORS.muted,
    });
  }
  if (c.runtime === "docker") {
    lines.push({
      text: `docker ${c.image ?? ""}`.trim(),
      size: FS,
      bold: false,
      fill: COLORS.muted,
    });
  }
  const tags = c.ports.map((p) => ({ text: portLabel(p, hostAddress), local: isLoopbackPort(p) }));
  const inner = Math.max(
    ...lines.map((l) => textWidth(l.text, l.size)),
    ...tags.map((t) => textWidth(t.text, FS) + 12),
  );
  const boxW = Math.ceil(inner + 20);
  const boxH = 10 + lines.length * LH + 2 + tags.length * (TAG_H + 4) + 6;
  const pills = c.endpoints.map((e) => textWidth(endpointLabel(e), FS) + 12);
  const w = Math.ceil(Math.max(boxW, ...pills)) + COL_GAP;
  return { c, w, boxW, boxH, lines, tags };
}

function netLines(n: Network): string[] {
  return [networkTitle(n), ...networkDetails(n)];
}

/** Lays the model out as a scene. Deterministic: the same model always gives the same scene. */
export function layout(m: Model): Scene {
  const shapes: Shape[] = [];
  const text = (
    x: number,
    y: number,
    s: string,
    o: Partial<Omit<TextShape, "kind" | "x" | "y" | "text">> = {},
  ) =>
    shapes.push({
      kind: "text",
      x,
      y,
      text: s,
      size: o.size ?? FS,
      bold: o.bold ?? false,
      fill: o.fill ?? COLORS.text,
      anchor: o.anchor ?? "start",
    });
  const rect = (r: Omit<RectShape, "kind">) => shapes.push({ kind: "rect", ...r });
  const line = (l: Omit<LineShape, "kind">) => shapes.push({ kind: "line", ...l });

  const hosts = drawnHosts(m);
  const overlays = m.networks.filter((n) => n.driver === "overlay");

  // ---- measure every host -------------------------------------------------------------------
  const plans: HostPlan[] = hosts.map((host) => {
    const nets = hostNetworks(m, host.name);
    const local = nets.filter((n) => n.driver === "bridge");
    const macvlan = nets.filter((n) => n.driver === "macvlan");
    const ov = new Set(nets.filter((n) => n.driver === "overlay").map((n) => n.name));
    const header = [`netns ${host.netns}`];
    const labelW = Math.max(
      textWidth(host.name, 15),
      ...header.map((h) => textWidth(h, FS)),
      ...nets.flatMap((n) => netLines(n).map((l, i) => textWidth(l, i === 0 ? NAME : FS))),
    );
    const gutterW = Math.ceil(labelW) + 16;
    const cols = hostContainers(m, host.name).map((c) => column(c, host.address));
    const colsW = cols.reduce((a, c) => a + c.w, 0);
    const eth0W = textWidth(`eth0 ${host.address}`, FS) + 16;
    const width = Math.ceil(PAD + gutterW + Math.max(colsW, eth0W / 2 + 40, 120) + PAD);
    return { host, gutterW, cols, width, local, macvlan, overlays: ov, header };
  });

  // ---- vertical structure, shared by all hosts so overlay rows line up -----------------------
  const rowHeight = (ns: (Network | undefined)[]) =>
    Math.max(
      44,
      ...ns.filter((n): n is Network => !!n).map((n) => SEG_ABOVE + netLines(n).length * LH + 8),
    );
  // Rows are aligned by network name across hosts: the same network sits at the same height in
  // every host (a bridge is still one L2 domain per host; an overlay is joined by its tunnels).
  const rows: { h: number; pick: (p: HostPlan) => Network | undefined }[] = [];
  const byDriver = (d: Network["driver"]) =>
    m.networks.filter((n) =>
      n.driver === d &&
      plans.some((p) => [...p.local, ...p.macvlan].includes(n) || p.overlays.has(n.name))
    );
  for (const n of [...byDriver("bridge"), ...byDriver("overlay"), ...byDriver("macvlan")]) {
    const has = (p: HostPlan) =>
      p.local.includes(n) || p.macvlan.includes(n) || p.overlays.has(n.name);
    rows.push({ h: rowHeight([n]), pick: (p) => (has(p) ? n : undefined) });
  }

  const titleY = M + 16;
  const hostTop = titleY + 22;
  const headerH = 10 + 20 + LH * 1 + 10;
  const boxRowH = Math.max(headerH, ...plans.flatMap((p) => p.cols.map((c) => c.boxH + 14))) + 16;
  const rowTops: number[] = [];
  let y = hostTop + boxRowH;
  for (const r of rows) {
    rowTops.push(y);
    y += r.h;
  }
  const hostBottom = y + 18;

  // Gaps between hosts: wide enough for the tunnel labels they carry.
  const tunnelW = Math.max(
    0,
    ...overlays.map((o) => textWidth(tunnelLabel(o) ?? "", FS) + 24),
    ...overlays.length ? hosts.map((a) => textWidth(vtepLabel(a, a), FS) + 24) : [0],
  );
  const gap = Math.ceil(Math.max(48, tunnelW));

  const xs: number[] = [];
  let x = M;
  for (const p of plans) {
    xs.push(x);
    x += p.width + gap;
  }
  let right = x - gap;

  // ---- host boxes ------------------------------------------------------------------------------
  const segStart = (i: number) => xs[i] + PAD + plans[i].gutterW;
  for (const [i, p] of plans.entries()) {
    rect({
      x: xs[i],
      y: hostTop,
      w: p.width,
      h: hostBottom - hostTop,
      rx: 10,
      fill: COLORS.hostFill,
      stroke: COLORS.hostStroke,
      strokeWidth: 1.5,
    });
  }

  // ---- wires first (drawn under the segments: a wire crossing a segment has no dot) -----------
  const segY = (r: number) => rowTops[r] + SEG_ABOVE;
  const rowOf = (p: HostPlan, network: string) =>
    rows.findIndex((r) => r.pick(p)?.name === network);
  const colX: number[][] = plans.map((p, i) => {
    let cx = segStart(i) + 14;
    return p.cols.map((c) => {
      const at = cx;
      cx += c.w;
      return at;
    });
  });
  const boxTop = hostTop + 14;
  for (const [i, p] of plans.entries()) {
    for (const [k, col] of p.cols.entries()) {
      const attached = col.c.endpoints.map((e) => rowOf(p, e.network)).filter((r) => r >= 0);
      if (!attached.length) continue;
      const cx = colX[i][k] + col.boxW / 2;
      line({
        x1: cx,
        y1: boxTop + col.boxH,
        x2: cx,
        y2: segY(Math.max(...attached)),
        stroke: COLORS.wire,
        width: 1.5,
        key: `wire:${col.c.name}`,
      });
    }
    // macvlan segments hang off the host's eth0 (their parent).
    const mac = rows.map((r, ri) => ({ n: r.pick(p), ri })).filter((r) =>
      r.n?.driver === "macvlan"
    );
    if (mac.length) {
      line({
        x1: segStart(i),
        y1: segY(mac[0].ri),
        x2: segStart(i),
        y2: hostBottom - 10,
        stroke: COLORS.macvlan,
        width: 2.5,
      });
    }
  }

  // ---- segments with their gutter labels -------------------------------------------------------
  for (const [i, p] of plans.entries()) {
    for (const [ri, r] of rows.entries()) {
      const n = r.pick(p);
      if (!n) continue;
      const color = driverColor(n);
      const sy = segY(ri);
      const endX = xs[i] + p.width - PAD;
      line({
        x1: segStart(i),
        y1: sy,
        x2: endX,
        y2: sy,
        stroke: color,
        width: SEG_W,
        dash: n.internal ? "12 6" : undefined,
        round: true,
      });
      netLines(n).forEach((l, li) =>
        text(xs[i] + PAD, sy + 4 + li * LH, l, {
          size: li === 0 ? NAME : FS,
          bold: li === 0,
          fill: li === 0 ? color : COLORS.muted,
        })
      );
    }
  }

  // ---- overlay tunnels between the hosts that join each overlay --------------------------------
  for (const [ri, r] of rows.entries()) {
    const joined = plans.map((p, i) => ({ p, i })).filter(({ p }) =>
      r.pick(p)?.driver === "overlay"
    );
    for (let j = 0; j + 1 < joined.length; j++) {
      const a = joined[j], b = joined[j + 1];
      const n = r.pick(a.p)!;
      const sy = segY(ri);
      const x1 = xs[a.i] + a.p.width - PAD, x2 = xs[b.i];
      line({ x1, y1: sy, x2, y2: sy, stroke: COLORS.overlay, width: 2, dash: "6 4" });
      const mid = xs[a.i] + a.p.width + gap / 2;
      text(mid, sy - 8, tunnelLabel(n) ?? "tunnel", { anchor: "middle", fill: COLORS.overlay });
      text(mid, sy + 18, vtepLabel(a.p.host, b.p.host), { anchor: "middle", fill: COLORS.muted });
    }
  }

  // ---- containers: boxes, port tags, attachment dots and address pills -------------------------
  for (const [i, p] of plans.entries()) {
    text(xs[i] + PAD, hostTop + 26, p.host.name, { size: 15, bold: true });
    p.header.forEach((h, hi) =>
      text(xs[i] + PAD, hostTop + 26 + LH + hi * LH, h, { fill: COLORS.muted })
    );
    for (const [k, col] of p.cols.entries()) {
      const bx = colX[i][k];
      const kind = col.c.mode.kind;
      rect({
        x: bx,
        y: boxTop,
        w: col.boxW,
        h: col.boxH,
        rx: 6,
        fill: kind === "host" ? "#f0fdf4" : kind === "none" ? "#f3f4f6" : "#ffffff",
        stroke: kind === "host" ? COLORS.host : kind === "none" ? COLORS.none : COLORS.boxStroke,
        strokeWidth: 1.5,
        dash: kind === "host" || kind === "none" ? "6 3" : kind === "container" ? "2 3" : undefined,
        key: `container:${col.c.name}`,
      });
      col.lines.forEach((l, li) =>
        text(bx + 10, boxTop + 8 + (li + 1) * LH - 2, l.text, {
          size: l.size,
          bold: l.bold,
          fill: l.fill,
        })
      );
      col.tags.forEach((t, ti) => {
        const ty = boxTop + 10 + col.lines.length * LH + 2 + ti * (TAG_H + 4);
        rect({
          x: bx + 8,
          y: ty,
          w: col.boxW - 16,
          h: TAG_H,
          rx: 9,
          fill: t.local ? COLORS.localFill : COLORS.portFill,
          stroke: t.local ? COLORS.none : COLORS.portStroke,
          strokeWidth: 1,
          dash: t.local ? "3 2" : undefined,
        });
        text(bx + 14, ty + 13, t.text, { fill: t.local ? COLORS.muted : "#78350f" });
      });
      if (col.c.mode.kind === "container") {
        const of = col.c.mode.of;
        const ok = p.cols.findIndex((c) => c.c.name === of);
        if (ok === k - 1) {
          line({
            x1: colX[i][ok] + p.cols[ok].boxW,
            y1: boxTop + 16,
            x2: bx,
            y2: boxTop + 16,
            stroke: COLORS.boxStroke,
            width: 1.5,
            dash: "2 3",
          });
        }
      }
      const cx = bx + col.boxW / 2;
      for (const e of col.c.endpoints) {
        const ri = rowOf(p, e.network);
        if (ri < 0) continue;
        const n = rows[ri].pick(p)!;
        const sy = segY(ri);
        const key = `endpoint:${col.c.name}@${e.network}`;
        shapes.push({
          kind: "circle",
          cx,
          cy: sy,
          r: 5,
          fill: driverColor(n),
          stroke: "#ffffff",
          key,
        });
        const label = endpointLabel(e);
        const pw = textWidth(label, FS) + 10;
        rect({
          x: cx - pw / 2,
          y: sy - 8 - PILL_H,
          w: pw,
          h: PILL_H,
          rx: 4,
          fill: "#ffffff",
          stroke: driverColor(n),
          strokeWidth: 1,
          key,
        });
        text(cx, sy - 8 - 4, label, { anchor: "middle" });
      }
    }
  }

  // ---- eth0 of each host, the underlay and the uplink -------------------------------------------
  const barY = hostBottom + 56;
  const ul = underlayLabel(m);
  const uplink = m.underlay.uplink;
  const upLines = uplink
    ? ["this machine (root netns)", `${uplink.rootIfname} ${uplink.address}`]
    : [];
  const upW = uplink ? Math.ceil(Math.max(...upLines.map((l) => textWidth(l, FS))) + 20) : 0;
  const lastEth0 = plans.length
    ? segStart(plans.length - 1) + textWidth(`eth0 ${plans.at(-1)!.host.address}`, FS) / 2 + 24
    : M;
  const upX = uplink ? Math.max(right - upW, M + textWidth(ul, FS) + 40, lastEth0 - upW / 2) : 0;
  if (uplink) right = Math.max(right, upX + upW);
  line({ x1: M, y1: barY, x2: right, y2: barY, stroke: COLORS.underlay, width: 6, round: true });
  text(M, barY + 22, ul, { bold: true, fill: COLORS.underlay });
  for (const [i, p] of plans.entries()) {
    const ex = segStart(i);
    const label = `eth0 ${p.host.address || "(no address)"}`;
    const w = textWidth(label, FS) + 16;
    line({ x1: ex, y1: hostBottom, x2: ex, y2: barY, stroke: COLORS.underlay, width: 2.5 });
    shapes.push({
      kind: "circle",
      cx: ex,
      cy: barY,
      r: 5,
      fill: COLORS.underlay,
      stroke: "#ffffff",
    });
    rect({
      x: ex - w / 2,
      y: hostBottom - 11,
      w,
      h: 22,
      rx: 4,
      fill: "#e2e8f0",
      stroke: COLORS.underlay,
      strokeWidth: 1.5,
    });
    text(ex, hostBottom + 4, label, { anchor: "middle", bold: true });
  }
  let bottom = barY + 30;
  if (uplink) {
    const top = barY + 36;
    line({
      x1: upX + upW / 2,
      y1: barY,
      x2: upX + upW / 2,
      y2: top,
      stroke: COLORS.underlay,
      width: 2.5,
    });
    shapes.push({
      kind: "circle",
      cx: upX + upW / 2,
      cy: barY,
      r: 5,
      fill: COLORS.underlay,
      stroke: "#ffffff",
    });
    rect({
      x: upX,
      y: top,
      w: upW,
      h: 10 + upLines.length * LH,
      rx: 6,
      fill: "#e2e8f0",
      stroke: COLORS.underlay,
      strokeWidth: 1.5,
    });
    upLines.forEach((l, li) => text(upX + 10, top + 2 + (li + 1) * LH, l, { bold: li === 0 }));
    bottom = top + 10 + upLines.length * LH;
  } else {
    text(M, barY + 22 + LH, "no uplink to this machine", { fill: COLORS.muted });
    bottom = barY + 22 + LH;
  }

  // ---- notes and legend -------------------------------------------------------------------------
  let ly = bottom + 30;
  const stackless = stacklessNetworks(m);
  if (stackless.length) {
    const intro = "Networks without a segment (their containers share a stack or have none):";
    text(M, ly, intro, { fill: COLORS.muted });
    let nx = M + textWidth(intro, FS) + 12;
    for (const n of stackless) {
      const s = `${n.name} (${n.driver} driver)`;
      text(nx, ly, s, { bold: true, fill: driverColor(n) });
      nx += textWidth(s, FS) + 16;
    }
    right = Math.max(right, nx);
    ly += LH + 10;
  }
  text(M, ly, "Legend", { bold: true, fill: COLORS.muted });
  ly += 14;
  const items: { draw: (x: number, y: number) => void; label: string; w: number }[] = [];
  const seg = (color: string, dash?: string, width = SEG_W) => (x: number, y: number) =>
    line({ x1: x, y1: y, x2: x + 28, y2: y, stroke: color, width, dash, round: !dash });
  const box = (stroke: string, fill: string, dash?: string) => (x: number, y: number) =>
    rect({ x, y: y - 8, w: 28, h: 16, rx: 4, fill, stroke, strokeWidth: 1.5, dash });
  const add = (label: string, draw: (x: number, y: number) => void) =>
    items.push({ draw, label, w: 28 + 8 + Math.ceil(textWidth(label, FS)) + 22 });
  add("bridge network", seg(COLORS.bridge));
  add("internal (no route out)", seg(COLORS.bridge, "8 4"));
  add("overlay network", seg(COLORS.overlay));
  add("VXLAN tunnel", seg(COLORS.overlay, "6 4", 2));
  add("macvlan on eth0", seg(COLORS.macvlan));
  add("underlay", seg(COLORS.underlay));
  add("attached (no dot: just crossing)", (x, y) => {
    line({ x1: x + 14, y1: y - 8, x2: x + 14, y2: y + 8, stroke: COLORS.wire, width: 1.5 });
    shapes.push({
      kind: "circle",
      cx: x + 14,
      cy: y,
      r: 5,
      fill: COLORS.bridge,
      stroke: "#ffffff",
    });
  });
  add("container", box(COLORS.boxStroke, "#ffffff"));
  add("network_mode: host", box(COLORS.host, "#f0fdf4", "6 3"));
  add("network_mode: none", box(COLORS.none, "#f3f4f6", "6 3"));
  add("shares another's netns", box(COLORS.boxStroke, "#ffffff", "2 3"));
  add(
    "published port",
    (x, y) =>
      rect({
        x,
        y: y - 8,
        w: 28,
        h: 16,
        rx: 8,
        fill: COLORS.portFill,
        stroke: COLORS.portStroke,
        strokeWidth: 1,
      }),
  );
  add(
    "loopback-only port",
    (x, y) =>
      rect({
        x,
        y: y - 8,
        w: 28,
        h: 16,
        rx: 8,
        fill: COLORS.localFill,
        stroke: COLORS.none,
        strokeWidth: 1,
        dash: "3 2",
      }),
  );
  const legendW = Math.max(right - M, 640);
  let lx = M;
  ly += 10;
  for (const it of items) {
    if (lx > M && lx + it.w > M + legendW) {
      lx = M;
      ly += 26;
    }
    it.draw(lx, ly);
    text(lx + 36, ly + 4, it.label);
    lx += it.w;
  }
  right = Math.max(right, M + legendW);

  // ---- title (last measured: it may widen the picture) -------------------------------------------
  const title = `nslab lab "${m.lab}" · ${m.file}`;
  text(M, titleY, title, { size: 16, bold: true });
  right = Math.max(right, M + textWidth(title, 16));

  return { width: Math.ceil(right + M), height: Math.ceil(ly + 16 + M), shapes };
}
