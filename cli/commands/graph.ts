/** `nslab graph`: a picture of the topology as Mermaid, DOT or a self-rendered SVG. */
import type { Model } from "../../core/model/types.ts";
import { toMermaid } from "../../core/graph/mermaid.ts";
import { toDot } from "../../core/graph/dot.ts";
import { toSvg } from "../../core/graph/svg.ts";
import { UsageError } from "../../core/errors.ts";

/** Output formats of `nslab graph --format`. */
export const GRAPH_FORMATS = ["mermaid", "dot", "svg"] as const;

/** One of {@link GRAPH_FORMATS}. */
export type GraphFormat = typeof GRAPH_FORMATS[number];

/**
 * The text `nslab graph --format F` prints for a model (pure; the caller writes it out).
 *
 * @example
 * ```ts
 * console.log(graphCommand(model, "mermaid"));
 * ```
 */
export function graphCommand(model: Model, format: GraphFormat): string {
  switch (format) {
    case "mermaid":
      return toMermaid(model);
    case "dot":
      return toDot(model);
    case "svg":
      return toSvg(model);
    default:
      throw new UsageError(
        `Cannot draw the lab as "${format as string}": that format is unknown; use --format ${
          GRAPH_FORMATS.join(", ")
        }`,
      );
  }
}
