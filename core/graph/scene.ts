/**
 * The vocabulary of the topology picture: primitive shapes, the {@link Scene} they make, the
 * colours and sizes, how wide a text is, and a {@link Canvas} that collects shapes in paint order.
 * Pure; `layout.ts` decides where things go, `svg.ts` writes them out.
 *
 * @module
 */

import type { Network } from "../model/types.ts";

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

/** Body text size, px. */
export const BODY_SIZE = 12;
/** Line height of body text, px. */
export const LINE_HEIGHT = 16;
/** Size of container names and network titles, px. */
export const NAME_SIZE = 13;
/** Size of a host's name in its box's header, px. */
export const HOST_NAME_SIZE = 15;
/** Size of the picture's title, px. */
export const TITLE_SIZE = 16;
/** Margin around the whole picture, px. */
export const MARGIN = 24;
/** Padding inside a host box, px. */
export const HOST_PADDING = 14;
/** Stroke width of a network segment, px. */
export const SEGMENT_WIDTH = 5;

/** How a text looks; what is left out takes the body style. */
export type TextStyle = Partial<Pick<TextShape, "size" | "bold" | "fill" | "anchor">>;

/** Collects shapes in paint order (later shapes on top). */
export class Canvas {
  /** The shapes drawn so far. */
  readonly shapes: Shape[] = [];

  /** One line of text at (x, y), body size, regular, text colour, left-aligned unless styled. */
  text(x: number, y: number, text: string, style: TextStyle = {}): void {
    this.shapes.push({
      kind: "text",
      x,
      y,
      text,
      size: style.size ?? BODY_SIZE,
      bold: style.bold ?? false,
      fill: style.fill ?? COLORS.text,
      anchor: style.anchor ?? "start",
    });
  }

  /** A rectangle. */
  rect(r: Omit<RectShape, "kind">): void {
    this.shapes.push({ kind: "rect", ...r });
  }

  /** A straight line. */
  line(l: Omit<LineShape, "kind">): void {
    this.shapes.push({ kind: "line", ...l });
  }

  /** A filled circle. */
  circle(c: Omit<CircleShape, "kind">): void {
    this.shapes.push({ kind: "circle", ...c });
  }
}
