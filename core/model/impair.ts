/**
 * Impairments ("break the network on purpose"): the units they are written in (`50ms`, `2%`,
 * `1mbit`), the keys that declare them on a container's network attachment or on a host's
 * underlay link, and how the declared ones land in the {@link Model}.
 *
 * Pure: no kernel here. The plan turns an {@link ImpairSpec} into tc, iptables and relay objects
 * (core/plan/impair.ts).
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { ImpairSpec, Model, SourcePos } from "./types.ts";

export type { ImpairSpec } from "./types.ts";

/** The impairment keys, in the order `link ls` prints them. */
export const IMPAIR_KEYS = ["delay", "jitter", "loss", "rate", "down"] as const;

/** Longest delay or jitter accepted (a relay holds every frame that long). */
export const MAX_DELAY_MS = 60_000;

const DURATION = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?$/;
const PERCENT = /^(\d+(?:\.\d+)?)\s*%?$/;
const RATE = /^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)?$/i;
const RATE_FACTOR: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** `50ms`, `1.5s`, `200us`, a bare number (ms) → milliseconds; null when not a duration. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? "ms";
  return unit === "s" ? n * 1000 : unit === "ms" ? n : n / 1000;
}

/** `2%`, `0.5%`, a bare number → percent; null when not a percentage. */
export function parsePercent(text: string): number | null {
  const m = PERCENT.exec(text.trim());
  return m ? Number(m[1]) : null;
}

/** tc's rate units (`1mbit`, `500kbit`, `125kbps` = bytes/s; bare = bit/s) → bits per second. */
export function parseRate(text: string): number | null {
  const m = RATE.exec(text.trim());
  return m ? Number(m[1]) * RATE_FACTOR[(m[2] ?? "bit").toLowerCase()] : null;
}

/** Milliseconds as people write them: `50ms`, `1.5s`, `0.2ms`. */
export function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${+ms.toFixed(3)}ms`;
}

/** Bits per second in tc's units: `1mbit`, `500kbit`, `64bit`. */
export function formatRate(bit: number): string {
  for (const [unit, f] of [["gbit", 1e9], ["mbit", 1e6], ["kbit", 1e3]] as const) {
    if (bit >= f) return `${+(bit / f).toFixed(3)}${unit}`;
  }
  return `${bit}bit`;
}

/** One line for people: `delay 50ms ±5ms, loss 2%, rate 1mbit, down`; "" when nothing is set. */
export function formatImpair(s: ImpairSpec): string {
  const parts: string[] = [];
  if (s.delayMs !== undefined) {
    parts.push(
      `delay ${formatDuration(s.delayMs)}${s.jitterMs ? ` ±${formatDuration(s.jitterMs)}` : ""}`,
    );
  }
  if (s.lossPct !== undefined) parts.push(`loss ${+s.lossPct.toFixed(4)}%`);
  if (s.rateBit !== undefined) parts.push(`rate ${formatRate(s.rateBit)}`);
  if (s.down) parts.push("down");
  return parts.join(", ");
}

/** true when the spec impairs nothing. */
export function isEmptyImpair(s: ImpairSpec | undefined): boolean {
  return !s || formatImpair(s) === "";
}

/** A problem with one value of a spec: which key, what is wrong, how to fix it. */
export interface ImpairProblem {
  key: (typeof IMPAIR_KEYS)[number];
  message: string;
  hint: string;
}

/** Raw values as written (file keys or CLI flags). */
export type RawImpair = Partial<Record<(typeof IMPAIR_KEYS)[number], string | boolean>>;

/**
 * Reads raw values into a spec, collecting every problem (so the file and the CLI report the same
 * messages). Zero values are dropped: `delay: 0ms` is "no delay".
 */
export function readImpair(raw: RawImpair): { spec: ImpairSpec; problems: ImpairProblem[] } {
  const spec: ImpairSpec = {};
  const problems: ImpairProblem[] = [];
  const duration = (key: "delay" | "jitter", v: string): number | undefined => {
    const ms = parseDuration(v);
    if (ms === null || ms > MAX_DELAY_MS) {
      problems.push({
        key,
        message: `${key} "${v}" is not a duration up to ${MAX_DELAY_MS / 1000}s`,
        hint: `write e.g. ${key}: ${key === "delay" ? "50ms" : "5ms"}`,
      });
      return undefined;
    }
    return ms > 0 ? ms : undefined;
  };
  if (raw.delay !== undefined) spec.delayMs = duration("delay", String(raw.delay));
  if (raw.jitter !== undefined) spec.jitterMs = duration("jitter", String(raw.jitter));
  if (spec.jitterMs !== undefined && (spec.delayMs ?? 0) < spec.jitterMs) {
    problems.push({
      key: "jitter",
      message: `jitter ${formatDuration(spec.jitterMs)} is larger than the delay ${
        formatDuration(spec.delayMs ?? 0)
      }: a frame cannot leave before it arrived`,
      hint: "set delay at least as large as jitter, e.g. delay: 50ms, jitter: 5ms",
    });
  }
  if (raw.loss !== undefined) {
    const p = parsePercent(String(raw.loss));
    if (p === null || p > 100) {
      problems.push({
        key: "loss",
        message: `loss "${raw.loss}" is not a percentage between 0% and 100%`,
        hint: "write e.g. loss: 2%",
      });
    } else if (p > 0) spec.lossPct = p;
  }
  if (raw.rate !== undefined) {
    const r = parseRate(String(raw.rate));
    if (r === null || (r > 0 && r < 8_000)) {
      problems.push({
        key: "rate",
        message: `rate "${raw.rate}" is not a rate of at least 8kbit`,
        hint: "write it in tc's units, e.g. rate: 1mbit or rate: 500kbit",
      });
    } else if (r > 0) spec.rateBit = r;
  }
  if (raw.down === true) spec.down = true;
  return { spec, problems };
}

function pickRaw(body: Record<string, unknown> | undefined): RawImpair | null {
  if (!body) return null;
  const raw: RawImpair = {};
  let any = false;
  for (const k of IMPAIR_KEYS) {
    const v = body[k];
    if (typeof v === "string" || typeof v === "boolean") {
      raw[k] = v;
      any = true;
    }
  }
  return any ? raw : null;
}

function readAt(
  body: Record<string, unknown> | undefined,
  path: (string | number)[],
  positions: Positions,
  diags: Diagnostics,
): ImpairSpec | null {
  const raw = pickRaw(body);
  if (!raw) return null;
  const { spec, problems } = readImpair(raw);
  for (const p of problems) diags.error(positions.of([...path, p.key]), p.message, p.hint);
  return problems.length ? null : spec;
}

type RawTree = {
  hosts?: Record<string, Record<string, unknown> | undefined>;
  containers?: Record<string, { networks?: unknown } | undefined>;
  services?: Record<string, { networks?: unknown } | undefined>;
};

/**
 * Puts the impairments declared in the (shape-checked) file on the model's endpoints and hosts:
 * `containers.S.networks.N.{delay,jitter,loss,rate,down}` on every replica's endpoint on N, and
 * `hosts.H.{…}` on H's underlay link. A key on a macvlan attachment is an error (no veth to
 * shape there).
 */
export function declareImpairments(
  value: Record<string, unknown>,
  positions: Positions,
  model: Model,
  diags: Diagnostics,
): void {
  const tree = value as RawTree;
  for (const [name, body] of Object.entries(tree.hosts ?? {})) {
    const spec = readAt(body, ["hosts", name], positions, diags);
    const host = model.hosts.find((h) => h.name === name);
    if (spec && host && !isEmptyImpair(spec)) host.impair = spec;
  }
  for (const section of ["containers", "services"] as const) {
    for (const [service, svc] of Object.entries(tree[section] ?? {})) {
      const nets = svc?.networks;
      if (!nets || Array.isArray(nets) || typeof nets !== "object") continue;
      for (const [net, body] of Object.entries(nets as Record<string, unknown>)) {
        const path = [section, service, "networks", net];
        const spec = readAt(body as Record<string, unknown>, path, positions, diags);
        if (!spec || isEmptyImpair(spec)) continue;
        placeOnEndpoints(model, service, net, spec, positions.of(path), diags);
      }
    }
  }
}

function placeOnEndpoints(
  model: Model,
  service: string,
  network: string,
  spec: ImpairSpec,
  pos: SourcePos,
  diags: Diagnostics,
): void {
  const driver = model.networks.find((n) => n.name === network)?.driver;
  if (driver === "macvlan") {
    diags.error(
      pos,
      `impairments on "${service}"'s macvlan endpoint on "${network}" cannot be built: nslab ` +
        "impairs the veth pair of an endpoint, and a macvlan endpoint has none",
      "impair the host's underlay link instead (hosts: { H: { delay: 50ms } }), or use a bridge network",
    );
    return;
  }
  for (const c of model.containers) {
    if (c.service !== service) continue;
    const ep = c.endpoints.find((e) => e.network === network);
    if (ep) ep.impair = spec;
  }
}

/** A spec written back as raw values (so a change can be merged and read again). */
export function specToRaw(s: ImpairSpec): RawImpair {
  const raw: RawImpair = {};
  if (s.delayMs !== undefined) raw.delay = `${s.delayMs}ms`;
  if (s.jitterMs !== undefined) raw.jitter = `${s.jitterMs}ms`;
  if (s.lossPct !== undefined) raw.loss = `${s.lossPct}%`;
  if (s.rateBit !== undefined) raw.rate = `${s.rateBit}bit`;
  if (s.down) raw.down = true;
  return raw;
}
