/**
 * The digest of a resolved model: what every part of a lab must agree on. Two machines that
 * resolved the same file differently (one skipped a subnet routed there) get different digests;
 * two that got the same network get the same digest, wherever the file lay on each of them.
 *
 * Left out, because they are not the network: source positions and the file's path (`pos`,
 * `file`), warnings, whether it was chosen on a machine, and the uplink (each machine chooses
 * `--no-uplink` for itself).
 *
 * @module
 */

import type { Model } from "./types.ts";

/** Keys dropped at any depth: where a value came from is not part of the network. */
const SOURCE_KEYS = new Set(["pos"]);

/** JSON with object keys sorted at every depth, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && !SOURCE_KEYS.has(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The part of a model that every machine of a lab must have resolved identically. */
export function networkFacts(model: Model): unknown {
  const { file: _file, warnings: _warnings, chosenOnMachine: _chosen, underlay, ...rest } = model;
  const { uplink: _uplink, ...segment } = underlay;
  return { ...rest, underlay: segment };
}

/**
 * sha-256 (hex) of the model's network facts in canonical JSON.
 *
 * @example
 * ```ts
 * const { model } = loadTopology({ file, text }, { reserved: [] });
 * console.log(await modelDigest(model)); // "3f1c…" (64 hex digits)
 * ```
 */
export async function modelDigest(model: Model): Promise<string> {
  const text = canonicalJson(networkFacts(model));
  const buf = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
