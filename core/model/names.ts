/**
 * Names: what a lab, host, container and network may be called, how kernel names are derived
 * from them (≤ 15 bytes, hashed when too long, as Docker does), and did-you-mean suggestions.
 *
 * @module
 */

import { sha256Hex } from "./sha256.ts";

/** Longest Linux interface name (IFNAMSIZ − 1). */
export const IFNAMSIZ = 15;

/**
 * Longest lab name (bytes). Compose sets no limit; nslab's is what keeps the namespace
 * `<lab>-<container>` (a service name ≤ 63 bytes, plus `-<replica>` up to `-10000`) inside a file
 * name of /run/netns and /etc/netns (255 bytes). Interface names never limit it: those derived
 * from the lab are hashed when long.
 */
export const MAX_LAB = 255 - "-".length - 63 - "-10000".length;

/** Longest host name: `u-<host>` in the underlay and `<lab>-<host>` stay short and readable. */
export const MAX_HOST = 11;

/** Longest container name: it is a DNS label. */
export const MAX_CONTAINER = 63;

/** Host and container names: lowercase, safe in namespace and DNS names. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/;

/** A DNS host name: dot-separated labels of letters, digits and '-', each at most 63 long. */
export const HOSTNAME_PATTERN =
  /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}))*$/;

/** A MAC address written as six hex bytes separated by ':'. */
export const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Network names: Docker's rule (letters, digits, `_.-`, starting with a letter or digit). */
export const NETWORK_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Lab names after Compose's normalisation. */
export const LAB_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/**
 * A machine interface nslab may be told to use (`underlay_dev`, `--underlay-dev`): what the kernel
 * accepts as a name (≤ 15 bytes, no `/` or space), restricted to characters safe in messages.
 */
export const MACHINE_IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

/**
 * Normalises a project name the way Compose does: lowercase, keep `[a-z0-9_-]`, and drop
 * leading `_`/`-` so it starts with a letter or digit.
 *
 * @example
 * ```ts
 * normalizeLabName("My Shop.v2"); // "myshopv2"
 * ```
 */
export function normalizeLabName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, "").replace(/^[_-]+/, "");
}

/**
 * The root-namespace end of a lab's uplink: `nsl-<lab>` when it fits an interface name, else
 * `nsl-` + 11 hex characters of a hash of the lab name, so a teardown that knows only the lab name
 * derives the same name.
 *
 * @example
 * ```ts
 * uplinkName("shop"); // "nsl-shop"
 * uplinkName("my-very-long-project"); // "nsl-" + 11 hex characters
 * ```
 */
export function uplinkName(lab: string): string {
  const direct = `nsl-${lab}`;
  if (byteLength(direct) <= IFNAMSIZ) return direct;
  return "nsl-" + hashHex("uplink", lab).slice(0, IFNAMSIZ - 4);
}

/**
 * Whether `lab` is a usable lab name: Compose's project-name rule within {@link MAX_LAB} bytes.
 * Paths (`/run/nslab/<lab>`) and namespace names are built from it, so every layer that does
 * checks it with this one rule.
 */
export function isLabName(lab: string): boolean {
  return LAB_PATTERN.test(lab) && byteLength(lab) <= MAX_LAB;
}

/** Byte length of a string in UTF-8 (the kernel counts bytes). */
export function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** Lowercase hex SHA-256 of the parts joined with NUL. */
export function hashHex(...parts: string[]): string {
  return sha256Hex(parts.join("\0"));
}

/**
 * `<prefix><name>` when it fits an interface name, else `<prefix>` + a hash of the name (Docker
 * names user bridges `br-` + 12 hex characters of the network id).
 *
 * @example
 * ```ts
 * ifnameFor("br-", "front"); // "br-front"
 * ifnameFor("br-", "a-very-long-network"); // "br-" + 12 hex characters
 * ```
 */
export function ifnameFor(prefix: string, name: string): string {
  const direct = `${prefix}${name}`;
  if (byteLength(direct) <= IFNAMSIZ) return direct;
  return prefix + hashHex(name).slice(0, IFNAMSIZ - prefix.length);
}

/** Edit distance between two strings (insert, delete, substitute, swap two neighbours). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The closest candidate to `word`, when it is close enough to be a likely typo; else null.
 *
 * @example
 * ```ts
 * didYouMean("netwroks", ["networks", "ports"]); // "networks"
 * ```
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDist = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDist || (d === bestDist && best !== null && c < best)) {
      best = c;
      bestDist = d;
    }
  }
  if (best === null) return null;
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDist <= limit ? best : null;
}

/** ` (did you mean "x"?)` or an empty string. */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const s = didYouMean(word, candidates);
  return s === null ? "" : ` (did you mean "${s}"?)`;
}
