/** `nslab graph`: a picture of the topology as Mermaid, DOT or a self-rendered SVG. */
import type { Model } from "../../core/model/types.ts";
import { toMermaid } from "../../core/graph/mermaid.ts";
import { toDot } from "../../core/graph/dot.ts";
import { toSvg } from "../../core/graph/svg.ts";
import { UsageError } from "../../core/errors.ts";
import { labName, type LabOptions } from "../common.ts";
import { serveGraph } from "./graph_serve.ts";

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

/**
 * `nslab graph --serve [--port N]`: serves the live page of the running lab on 127.0.0.1 until
 * Ctrl-C (or SIGTERM); prints the address to open.
 */
export async function graphServeCommand(opts: LabOptions & { port: string }): Promise<number> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`Invalid --port "${opts.port}": use a number from 0 to 65535`);
  }
  const lab = await labName(opts);
  const stop = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => stop.abort();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    await serveGraph(lab, {
      port,
      signal: stop.signal,
      onListen: (url) => console.log(`nslab: lab "${lab}" live at ${url} (Ctrl-C to stop)`),
    });
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  return 0;
}
