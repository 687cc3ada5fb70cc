/**
 * `toMermaid`: the topology as a Mermaid flowchart (paste into a Markdown ```mermaid block). Hosts
 * are subgraphs; networks are stadium nodes; containers are boxes; edges carry the endpoint
 * address, the macvlan parent, the VXLAN tunnel and the underlay cables.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { type EdgeKind, graphParts, KIND_COLORS, type NodeKind } from "./_parts.ts";

/**
 * Escapes text for a quoted Mermaid label: quotes and angle brackets as entity codes, newlines as
 * `<br/>`.
 */
export function mermaidText(s: string): string {
  return s.replaceAll("#", "#35;").replaceAll('"', "#quot;").replaceAll("<", "#lt;")
    .replaceAll(">", "#gt;").replaceAll("\n", "<br/>");
}

const OPEN: Record<NodeKind, [string, string]> = {
  bridge: ["([", "])"],
  overlay: ["([", "])"],
  macvlan: ["([", "])"],
  stackless: ["([", "])"],
  container: ["[", "]"],
  "host-mode": ["[", "]"],
  "none-mode": ["[", "]"],
  "shared-mode": ["[", "]"],
  eth0: ["[/", "\\]"],
  underlay: ["[", "]"],
  uplink: ["[", "]"],
};

const LINK: Record<EdgeKind, string> = {
  endpoint: "---",
  parent: "===",
  cable: "===",
  tunnel: "-.-",
  shares: "-.-",
  "host-stack": "-.-",
};

/**
 * The lab as a Mermaid `flowchart TB`. Node ids are generated (`n0`, `n1`, … in model order), so
 * any name is safe; names appear only inside quoted labels.
 *
 * @example
 * ```ts
 * console.log("```mermaid\n" + toMermaid(model) + "```");
 * ```
 */
export function toMermaid(m: Model): string {
  const parts = graphParts(m);
  const ids = new Map<string, string>();
  const id = (key: string) => {
    if (!ids.has(key)) ids.set(key, `n${ids.size}`);
    return ids.get(key)!;
  };
  const out = [`---`, `title: ${JSON.stringify(parts.title)}`, `---`, `flowchart TB`];
  const kinds = new Map<string, NodeKind>();
  const node = (n: { key: string; kind: NodeKind; lines: string[] }, indent: string) => {
    const [o, c] = OPEN[n.kind];
    kinds.set(id(n.key), n.kind);
    out.push(`${indent}${id(n.key)}${o}"${mermaidText(n.lines.join("\n"))}"${c}`);
  };
  parts.clusters.forEach((c, i) => {
    out.push(`  subgraph h${i}["${mermaidText(c.lines.join("\n"))}"]`);
    out.push(`    direction TB`);
    for (const n of c.nodes) node(n, "    ");
    out.push(`  end`);
  });
  for (const n of parts.nodes) node(n, "  ");
  for (const e of parts.edges) {
    const label = e.label ? `|"${mermaidText(e.label)}"|` : "";
    out.push(`  ${id(e.a)} ${LINK[e.kind]}${label} ${id(e.b)}`);
  }
  for (const [kind, c] of Object.entries(KIND_COLORS)) {
    const dashed = kind.endsWith("-mode") || kind === "stackless" ? ",stroke-dasharray:5 3" : "";
    out.push(`  classDef ${kind.replace("-", "_")} fill:${c.fill},stroke:${c.stroke}${dashed}`);
  }
  const byKind = new Map<string, string[]>();
  for (const [nid, kind] of kinds) byKind.set(kind, [...(byKind.get(kind) ?? []), nid]);
  for (const [kind, nids] of byKind) {
    out.push(`  class ${nids.join(",")} ${kind.replace("-", "_")}`);
  }
  out.push("");
  return out.join("\n");
}
