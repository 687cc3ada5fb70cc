/**
 * `toSvg`: the topology as a self-contained SVG (no external fonts, CSS or scripts), drawn from the
 * {@link layout} scene.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { Scene, Shape } from "./scene.ts";
import { layout } from "./layout.ts";

const FONT = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace";

/** Escapes text for SVG/XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

const num = (v: number) => String(Math.round(v * 10) / 10);

/** ` data-key="…"` for a shape that stands for something (pages find it by that), else "". */
const dataKey = (s: { key?: string }) => (s.key ? ` data-key="${xmlEscape(s.key)}"` : "");

function shape(s: Shape): string {
  switch (s.kind) {
    case "rect":
      return `<rect x="${num(s.x)}" y="${num(s.y)}" width="${num(s.w)}" height="${num(s.h)}" rx="${
        num(s.rx)
      }" fill="${s.fill}" stroke="${s.stroke}" stroke-width="${num(s.strokeWidth)}"${
        s.dash ? ` stroke-dasharray="${s.dash}"` : ""
      }${dataKey(s)}/>`;
    case "line":
      return `<line x1="${num(s.x1)}" y1="${num(s.y1)}" x2="${num(s.x2)}" y2="${
        num(s.y2)
      }" stroke="${s.stroke}" stroke-width="${num(s.width)}"${
        s.dash ? ` stroke-dasharray="${s.dash}"` : ""
      }${s.round ? ` stroke-linecap="round"` : ""}${dataKey(s)}/>`;
    case "circle":
      return `<circle cx="${num(s.cx)}" cy="${num(s.cy)}" r="${
        num(s.r)
      }" fill="${s.fill}" stroke="${s.stroke}" stroke-width="1.5"${dataKey(s)}/>`;
    case "text":
      return `<text x="${num(s.x)}" y="${num(s.y)}"${
        s.size !== 12 ? ` font-size="${s.size}"` : ""
      }${s.bold ? ` font-weight="bold"` : ""}${
        s.anchor === "middle" ? ` text-anchor="middle"` : ""
      }${
        s.rotate ? ` transform="rotate(${s.rotate} ${num(s.x)} ${num(s.y)})"` : ""
      } fill="${s.fill}"${dataKey(s)}>${xmlEscape(s.text)}</text>`;
  }
}

/** Serialises a scene as an SVG document. */
export function sceneToSvg(scene: Scene, title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="${FONT}" font-size="12">`,
    `<title>${xmlEscape(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...scene.shapes.map(shape),
    `</svg>`,
    "",
  ].join("\n");
}

/**
 * The lab as an SVG picture: hosts on the underlay, networks as segments, containers with their
 * addresses and published ports, overlay tunnels, the uplink and a legend.
 *
 * @example
 * ```ts
 * Deno.writeTextFileSync("docs/seed.svg", toSvg(model));
 * ```
 */
export function toSvg(model: Model): string {
  return sceneToSvg(layout(model), `nslab lab ${model.lab}`);
}
