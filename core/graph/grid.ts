/**
 * Measuring the topology picture before anything is drawn: each host's columns and gutter, one
 * row per network at the same height in every host, and where each host and column starts — a
 * {@link Grid} that `layout.ts` draws from.
 *
 * @module
 */

import type { Container, Host, Model, Network } from "../model/types.ts";
import {
  endpointLabel,
  hostContainers,
  hostNetworks,
  isLoopbackPort,
  modeLabel,
  networkDetails,
  networkTitle,
  portLabel,
  tunnelLabel,
  vtepLabel,
} from "./labels.ts";
import {
  BODY_SIZE,
  COLORS,
  HOST_NAME_SIZE,
  HOST_PADDING,
  LINE_HEIGHT,
  MARGIN,
  NAME_SIZE,
  textWidth,
} from "./scene.ts";

/** Gap between container columns, px. */
const COLUMN_GAP = 18;
/** Height of a published port's tag, px. */
export const PORT_TAG_HEIGHT = 18;
/** Height of an endpoint's address pill, px. */
export const PILL_HEIGHT = 16;
/** From the top of a network's row to its segment line (room for the pills above it), px. */
const SEGMENT_DROP = 24;

/** One container's column: its box's size and contents, and the width the column takes. */
export interface Column {
  c: Container;
  w: number;
  boxW: number;
  boxH: number;
  lines: { text: string; size: number; bold: boolean; fill: string }[];
  tags: { text: string; local: boolean }[];
}

/** One host measured: its gutter for segment labels, its columns, its networks by driver. */
export interface HostPlan {
  host: Host;
  gutterW: number;
  cols: Column[];
  width: number;
  local: Network[];
  macvlan: Network[];
  overlays: Set<string>;
  header: string[];
}

/** One network row, at the same height in every host: which of the host's networks sits there. */
export interface Row {
  h: number;
  pick: (p: HostPlan) => Network | undefined;
}

/** Where everything sits, measured once and read by each drawing step. */
export interface Grid {
  plans: HostPlan[];
  rows: Row[];
  titleY: number;
  hostTop: number;
  hostBottom: number;
  /** Top of the container boxes. */
  boxTop: number;
  /** Left edge of each host box. */
  xs: number[];
  /** Space between host boxes (it carries the tunnel labels). */
  gap: number;
  /** Right edge of the hosts. */
  right: number;
  /** Left edge of each container box, per host. */
  colX: number[][];
  /** Where host `i`'s segments start (right of its gutter). */
  segStart: (i: number) => number;
  /** Height of row `r`'s segment line. */
  segY: (r: number) => number;
  /** Row of a host's network, or -1. */
  rowOf: (p: HostPlan, network: string) => number;
}

function column(c: Container, hostAddress: string): Column {
  const muted = (text: string) => ({ text, size: BODY_SIZE, bold: false, fill: COLORS.muted });
  const lines: Column["lines"] = [{ text: c.name, size: NAME_SIZE, bold: true, fill: COLORS.text }];
  const mode = modeLabel(c);
  if (mode) lines.push(muted(mode));
  else if (c.replica !== null) lines.push(muted(`${c.service} replica ${c.replica}`));
  if (c.runtime === "docker") lines.push(muted(`docker ${c.image ?? ""}`.trim()));
  const tags = c.ports.map((p) => ({ text: portLabel(p, hostAddress), local: isLoopbackPort(p) }));
  const inner = Math.max(
    ...lines.map((l) => textWidth(l.text, l.size)),
    ...tags.map((t) => textWidth(t.text, BODY_SIZE) + 12),
  );
  const boxW = Math.ceil(inner + 20);
  const boxH = 10 + lines.length * LINE_HEIGHT + 2 + tags.length * (PORT_TAG_HEIGHT + 4) + 6;
  const pills = c.endpoints.map((e) => textWidth(endpointLabel(e), BODY_SIZE) + 12);
  const w = Math.ceil(Math.max(boxW, ...pills)) + COLUMN_GAP;
  return { c, w, boxW, boxH, lines, tags };
}

/** A network's title and details, as its label in the gutter shows them. */
export function netLines(n: Network): string[] {
  return [networkTitle(n), ...networkDetails(n)];
}

/** A host's networks, gutter and columns, and the width its box needs. */
export function measureHost(m: Model, host: Host): HostPlan {
  const nets = hostNetworks(m, host.name);
  const local = nets.filter((n) => n.driver === "bridge");
  const macvlan = nets.filter((n) => n.driver === "macvlan");
  const overlays = new Set(nets.filter((n) => n.driver === "overlay").map((n) => n.name));
  const header = [`netns ${host.netns}`];
  const labelW = Math.max(
    textWidth(host.name, HOST_NAME_SIZE),
    ...header.map((h) => textWidth(h, BODY_SIZE)),
    ...nets.flatMap((n) =>
      netLines(n).map((l, i) => textWidth(l, i === 0 ? NAME_SIZE : BODY_SIZE))
    ),
  );
  const gutterW = Math.ceil(labelW) + 16;
  const cols = hostContainers(m, host.name).map((c) => column(c, host.address));
  const colsW = cols.reduce((a, c) => a + c.w, 0);
  const eth0W = textWidth(`eth0 ${host.address}`, BODY_SIZE) + 16;
  const width = Math.ceil(
    HOST_PADDING + gutterW + Math.max(colsW, eth0W / 2 + 40, 120) + HOST_PADDING,
  );
  return { host, gutterW, cols, width, local, macvlan, overlays, header };
}

/**
 * One row per drawn network, bridges then overlays then macvlans. Rows are aligned by network
 * name across hosts: the same network sits at the same height in every host (a bridge is still
 * one L2 domain per host; an overlay is joined by its tunnels).
 */
function networkRows(m: Model, plans: HostPlan[]): Row[] {
  const has = (p: HostPlan, n: Network) =>
    p.local.includes(n) || p.macvlan.includes(n) || p.overlays.has(n.name);
  const byDriver = (d: Network["driver"]) =>
    m.networks.filter((n) => n.driver === d && plans.some((p) => has(p, n)));
  return [...byDriver("bridge"), ...byDriver("overlay"), ...byDriver("macvlan")].map((n) => ({
    h: Math.max(44, SEGMENT_DROP + netLines(n).length * LINE_HEIGHT + 8),
    pick: (p: HostPlan) => (has(p, n) ? n : undefined),
  }));
}

/** Heights of the rows, places of the hosts and columns, shared by all hosts. */
export function measureGrid(m: Model, plans: HostPlan[]): Grid {
  const rows = networkRows(m, plans);
  const titleY = MARGIN + 16;
  const hostTop = titleY + 22;
  const headerH = 10 + 20 + LINE_HEIGHT * 1 + 10;
  const boxRowH = Math.max(headerH, ...plans.flatMap((p) => p.cols.map((c) => c.boxH + 14))) + 16;
  const rowTops: number[] = [];
  let y = hostTop + boxRowH;
  for (const r of rows) {
    rowTops.push(y);
    y += r.h;
  }
  const gap = hostGap(m, plans);
  const xs: number[] = [];
  let x = MARGIN;
  for (const p of plans) {
    xs.push(x);
    x += p.width + gap;
  }
  const segStart = (i: number) => xs[i] + HOST_PADDING + plans[i].gutterW;
  const colX = plans.map((p, i) => {
    let cx = segStart(i) + 14;
    return p.cols.map((c) => {
      const at = cx;
      cx += c.w;
      return at;
    });
  });
  return {
    plans,
    rows,
    titleY,
    hostTop,
    hostBottom: y + 18,
    boxTop: hostTop + 14,
    xs,
    gap,
    right: x - gap,
    colX,
    segStart,
    segY: (r) => rowTops[r] + SEGMENT_DROP,
    rowOf: (p, network) => rows.findIndex((r) => r.pick(p)?.name === network),
  };
}

/** Gaps between hosts: wide enough for the tunnel labels they carry. */
function hostGap(m: Model, plans: HostPlan[]): number {
  const overlays = m.networks.filter((n) => n.driver === "overlay");
  const tunnelW = Math.max(
    0,
    ...overlays.map((o) => textWidth(tunnelLabel(o) ?? "", BODY_SIZE) + 24),
    ...overlays.length
      ? plans.map(({ host: a }) => textWidth(vtepLabel(a, a), BODY_SIZE) + 24)
      : [0],
  );
  return Math.ceil(Math.max(48, tunnelW));
}
