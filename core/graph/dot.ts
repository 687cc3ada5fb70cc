/**
 * `toDot`: the topology as Graphviz DOT (`nslab graph --format dot | dot -Tsvg`). Hosts are
 * clusters; networks and containers are nodes; endpoints, cables, tunnels and shared stacks are
 * edges labelled with what they carry.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { type EdgeKind, type GraphNode, graphParts, KIND_COLORS, type NodeKind } from "./_parts.ts";

/** Quotes a DOT id or string: `"` and `\` escaped, newlines as `\n` (centred lines). */
export function dotQuote(s: string): string {
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

const SHAPE: Record<NodeKind, string> = {
  bridge: `shape=box, style="filled,bold"`,
  overlay: `shape=box, style="filled,bold"`,
  macvlan: `shape=box, style="filled,bold"`,
  stackless: `shape=box, style="filled,dashed"`,
  container: `shape=box, style="rounded,filled"`,
  "host-mode": `shape=box, style="rounded,filled,dashed"`,
  "none-mode": `shape=box, style="rounded,filled,dashed"`,
  "shared-mode": `shape=box, style="rounded,filled,dotted"`,
  eth0: `shape=box, style="filled"`,
  underlay: `shape=box, style="filled,bold", penwidth=3`,
  uplink: `shape=box, style="filled"`,
};

const EDGE: Record<EdgeKind, string> = {
  endpoint: ``,
  parent: `color="#c2410c", penwidth=2`,
  cable: `color="#334155", penwidth=2`,
  tunnel: `color="#7c3aed", fontcolor="#7c3aed", style=dashed, penwidth=2`,
  shares: `style=dotted`,
  "host-stack": `color="#15803d", style=dashed`,
};

function node(n: GraphNode, indent: string): string {
  const c = KIND_COLORS[n.kind];
  return `${indent}${dotQuote(n.key)} [label=${dotQuote(n.lines.join("\n"))}, ${
    SHAPE[n.kind]
  }, fillcolor=${dotQuote(c.fill)}, color=${dotQuote(c.stroke)}];`;
}

/**
 * The lab as an undirected DOT graph.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("lab.dot", toDot(model)); // dot -Tpng lab.dot > lab.png
 * ```
 */
export function toDot(m: Model): string {
  const parts = graphParts(m);
  const font = `fontname="DejaVu Sans Mono"`;
  const out = [
    `graph ${dotQuote(m.lab)} {`,
    `  graph [${font}, label=${
      dotQuote(parts.title)
    }, labelloc=t, fontsize=14, newrank=true, nodesep=0.3];`,
    `  node [${font}, fontsize=11];`,
    `  edge [${font}, fontsize=10];`,
  ];
  for (const n of parts.nodes) out.push(node(n, "  "));
  for (const c of parts.clusters) {
    out.push(`  subgraph ${dotQuote(`cluster_${c.key}`)} {`);
    out.push(
      `    label=${
        dotQuote(c.lines.join("\n"))
      }; style="rounded,filled"; fillcolor="#f8fafc"; color="#94a3b8";`,
    );
    for (const n of c.nodes) out.push(node(n, "    "));
    out.push(`  }`);
  }
  for (const e of parts.edges) {
    const attrs = [e.label ? `label=${dotQuote(e.label)}` : "", EDGE[e.kind]].filter(Boolean);
    out.push(
      `  ${dotQuote(e.a)} -- ${dotQuote(e.b)}${attrs.length ? ` [${attrs.join(", ")}]` : ""};`,
    );
  }
  out.push(`}`, "");
  return out.join("\n");
}
