/**
 * IPv6 addresses and prefixes as 128-bit `bigint`s: parsing (RFC 4291 text forms, including `::`
 * and a trailing dotted quad), the canonical text of RFC 5952, containment and overlap. Pure.
 *
 * @module
 */

/** An IPv6 prefix: network address (host bits zero) and length. */
export interface Cidr6 {
  base: bigint;
  prefix: number;
}

const GROUP = /^[0-9a-fA-F]{1,4}$/;
const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const ALL_ONES = (1n << 128n) - 1n;

function groupsOf(part: string): number[] | null {
  if (part === "") return [];
  const out: number[] = [];
  const texts = part.split(":");
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    const quad = i === texts.length - 1 ? DOTTED.exec(t) : null;
    if (quad) {
      const bytes = quad.slice(1).map(Number);
      if (bytes.some((b) => b > 255)) return null;
      out.push(bytes[0] * 256 + bytes[1], bytes[2] * 256 + bytes[3]);
    } else if (GROUP.test(t)) out.push(parseInt(t, 16));
    else return null;
  }
  return out;
}

/**
 * Parses an IPv6 address (`fd00::1`, `::ffff:10.0.0.1`, eight full groups), or returns null.
 *
 * @example
 * ```ts
 * parseIp6("fd00::1"); // 0xfd000000000000000000000000000001n
 * ```
 */
export function parseIp6(text: string): bigint | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/**
 * The canonical text of an address (RFC 5952): lower case, no leading zeros, the longest run of
 * two or more zero groups (the first one on a tie) written `::`.
 *
 * @example
 * ```ts
 * formatIp6(0xfd000000000000000000000000000001n); // "fd00::1"
 * ```
 */
export function formatIp6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.len).join(":")}`;
}

/** The netmask of a prefix length as a 128-bit number. */
export function maskOf6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
}

/** Last address of a prefix. */
export function lastOf6(c: Cidr6): bigint {
  return c.base | (ALL_ONES >> BigInt(c.prefix));
}

/** Result of {@link parseCidr6}: the prefix, or why the text is not one. */
export type Cidr6Parse =
  | { ok: true; cidr: Cidr6 }
  | { ok: false; reason: "syntax" | "hostbits"; normalized?: string };

/**
 * Parses `address/len`. Host bits must be zero (as for IPv4); the normalised form is returned so
 * the error can suggest it.
 *
 * @example
 * ```ts
 * parseCidr6("fd00:1::/64"); // { ok: true, cidr: { base: 0xfd000001000000000000000000000000n, prefix: 64 } }
 * ```
 */
export function parseCidr6(text: string): Cidr6Parse {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(text);
  if (!m) return { ok: false, reason: "syntax" };
  const ip = parseIp6(m[1]);
  const prefix = Number(m[2]);
  if (ip === null || prefix > 128) return { ok: false, reason: "syntax" };
  const base = ip & maskOf6(prefix);
  if (base !== ip) {
    return { ok: false, reason: "hostbits", normalized: formatCidr6({ base, prefix }) };
  }
  return { ok: true, cidr: { base, prefix } };
}

/** Formats a prefix as `address/len` (canonical address text). */
export function formatCidr6(c: Cidr6): string {
  return `${formatIp6(c.base)}/${c.prefix}`;
}

/** Whether `ip` lies inside `c`. */
export function contains6(c: Cidr6, ip: bigint): boolean {
  return ip >= c.base && ip <= lastOf6(c);
}

/** Whether `inner` lies entirely inside `outer`. */
export function containsCidr6(outer: Cidr6, inner: Cidr6): boolean {
  return inner.prefix >= outer.prefix && contains6(outer, inner.base);
}

/** Whether two prefixes share at least one address. */
export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  return a.base <= lastOf6(b) && b.base <= lastOf6(a);
}
