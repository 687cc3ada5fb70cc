/**
 * The topology as a list of drawable parts (host clusters, network and container nodes, edges),
 * shared by the two text formats so DOT and Mermaid describe exactly the same graph.
 *
 * @module
 */

import type { Model, Network } from "../model/types.ts";
import {
  drawnHosts,
  endpointLabel,
  hostContainers,
  hostNetworks,
  modeLabel,
  networkDetails,
  networkTitle,
  portLabel,
  stacklessNetworks,
  tunnelLabel,
  underlayLabel,
  vtepLabel,
} from "./labels.ts";

/** What a node stands for (drives its shape and colour). */
export type NodeKind =
  | "bridge"
  | "overlay"
  | "macvlan"
  | "stackless"
  | "container"
  | "host-mode"
  | "none-mode"
  | "shared-mode"
  | "eth0"
  | "underlay"
  | "uplink";

/** A node: a stable key (unique, made of model names) and its label lines. */
export interface GraphNode {
  key: string;
  kind: NodeKind;
  lines: string[];
}

/** What an edge stands for. */
export type EdgeKind = "endpoint" | "parent" | "cable" | "tunnel" | "shares" | "host-stack";

/** An undirected edge between two node keys. */
export interface GraphEdge {
  a: string;
  b: string;
  kind: EdgeKind;
  label: string;
}

/** A host: its label and the keys of the nodes drawn inside it. */
export interface GraphCluster {
  key: string;
  lines: string[];
  nodes: GraphNode[];
}

/** The whole graph. */
export interface GraphParts {
  title: string;
  clusters: GraphCluster[];
  /** Nodes outside every host (underlay, uplink, host/none networks). */
  nodes: GraphNode[];
  edges: GraphEdge[];
}

function netKind(n: Network): NodeKind {
  return n.driver === "overlay" ? "overlay" : n.driver === "macvlan" ? "macvlan" : "bridge";
}

/** Builds the parts in model order (deterministic). */
export function graphParts(m: Model): GraphParts {
  const clusters: GraphCluster[] = [];
  const edges: GraphEdge[] = [];
  const nodes: GraphNode[] = [
    { key: "underlay", kind: "underlay", lines: [underlayLabel(m)] },
  ];
  const up = m.underlay.uplink;
  if (up) {
    nodes.push({
      key: "uplink",
      kind: "uplink",
      lines: ["this machine (root netns)", `${up.rootIfname} ${up.address}`],
    });
    edges.push({ a: "uplink", b: "underlay", kind: "cable", label: "uplink" });
  }
  for (const n of stacklessNetworks(m)) {
    nodes.push({ key: `net/${n.name}`, kind: "stackless", lines: [n.name, `${n.driver} driver`] });
  }
  const hosts = drawnHosts(m);
  for (const h of hosts) {
    const inside: GraphNode[] = [];
    const eth0 = `${h.name}/eth0`;
    inside.push({ key: eth0, kind: "eth0", lines: [`eth0 ${h.address || "(no address)"}`] });
    edges.push({ a: eth0, b: "underlay", kind: "cable", label: "" });
    for (const n of hostNetworks(m, h.name)) {
      const key = `${h.name}/net/${n.name}`;
      inside.push({ key, kind: netKind(n), lines: [networkTitle(n), ...networkDetails(n)] });
      if (n.driver === "macvlan") {
        edges.push({ a: key, b: eth0, kind: "parent", label: n.macvlan?.parent ?? "eth0" });
      }
    }
    for (const c of hostContainers(m, h.name)) {
      const key = `${h.name}/ctr/${c.name}`;
      const mode = modeLabel(c);
      const kind: NodeKind = c.mode.kind === "host"
        ? "host-mode"
        : c.mode.kind === "none"
        ? "none-mode"
        : c.mode.kind === "container"
        ? "shared-mode"
        : "container";
      inside.push({
        key,
        kind,
        lines: [c.name, ...(mode ? [mode] : []), ...c.ports.map((p) => portLabel(p, h.address))],
      });
      for (const e of c.endpoints) {
        edges.push({
          a: key,
          b: `${h.name}/net/${e.network}`,
          kind: "endpoint",
          label: endpointLabel(e),
        });
      }
      if (c.mode.kind === "container") {
        edges.push({
          a: key,
          b: `${h.name}/ctr/${c.mode.of}`,
          kind: "shares",
          label: "same netns",
        });
      } else if (c.mode.kind === "host") {
        edges.push({ a: key, b: eth0, kind: "host-stack", label: "host netns" });
      }
    }
    clusters.push({ key: h.name, lines: [h.name, `netns ${h.netns}`], nodes: inside });
  }
  for (const n of m.networks.filter((x) => x.driver === "overlay")) {
    const joined = hosts.filter((h) => hostNetworks(m, h.name).includes(n));
    for (let i = 0; i + 1 < joined.length; i++) {
      const a = joined[i], b = joined[i + 1];
      edges.push({
        a: `${a.name}/net/${n.name}`,
        b: `${b.name}/net/${n.name}`,
        kind: "tunnel",
        label: `${tunnelLabel(n) ?? "tunnel"}\n${vtepLabel(a, b)}`,
      });
    }
  }
  // An edge to a node nobody declared (a container:X whose X is elsewhere) would make the
  // renderers invent a bare node; keep only edges whose ends exist.
  const known = new Set([...nodes, ...clusters.flatMap((c) => c.nodes)].map((x) => x.key));
  return {
    title: `nslab lab "${m.lab}" · ${m.file}`,
    clusters,
    nodes,
    edges: edges.filter((e) => known.has(e.a) && known.has(e.b)),
  };
}

/** Fill and stroke colours of a node kind (the SVG's palette). */
export const KIND_COLORS: Record<NodeKind, { fill: string; stroke: string }> = {
  bridge: { fill: "#dbeafe", stroke: "#2563eb" },
  overlay: { fill: "#ede9fe", stroke: "#7c3aed" },
  macvlan: { fill: "#ffedd5", stroke: "#c2410c" },
  stackless: { fill: "#f3f4f6", stroke: "#6b7280" },
  container: { fill: "#ffffff", stroke: "#334155" },
  "host-mode": { fill: "#f0fdf4", stroke: "#15803d" },
  "none-mode": { fill: "#f3f4f6", stroke: "#6b7280" },
  "shared-mode": { fill: "#ffffff", stroke: "#334155" },
  eth0: { fill: "#e2e8f0", stroke: "#334155" },
  underlay: { fill: "#e2e8f0", stroke: "#334155" },
  uplink: { fill: "#e2e8f0", stroke: "#334155" },
};
