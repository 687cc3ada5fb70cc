/**
 * IPv4 addresses and prefixes as plain numbers: parsing, formatting, containment and overlap.
 * Pure; IPv6 is recognised only so callers can say "not supported yet".
 *
 * @module
 */

/** An IPv4 prefix: network address (host bits zero) and length. */
export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Parses a dotted-quad IPv4 address, or returns null.
 *
 * @example
 * ```ts
 * parseIp("10.0.0.1"); // 167772161
 * ```
 */
export function parseIp(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The netmask of a prefix length as an unsigned 32-bit number. */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Number of addresses in a prefix. */
export function sizeOf(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** Last address of a prefix (the broadcast address for prefixes shorter than /31). */
export function lastOf(c: Cidr): number {
  return c.base + sizeOf(c) - 1;
}

/** Result of {@link parseCidr}: the prefix, or why the text is not one. */
export type CidrParse =
  | { ok: true; cidr: Cidr }
  | { ok: false; reason: "syntax" | "ipv6" | "hostbits"; normalized?: string };

/**
 * Parses `a.b.c.d/len`. Host bits must be zero (Docker refuses `172.20.0.1/24` too); the
 * normalised form is returned so the error can suggest it.
 *
 * @example
 * ```ts
 * parseCidr("172.20.0.0/24"); // { ok: true, cidr: { base: 2886991872, prefix: 24 } }
 * ```
 */
export function parseCidr(text: string): CidrParse {
  if (text.includes(":")) return { ok: false, reason: "ipv6" };
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m) return { ok: false, reason: "syntax" };
  const ip = parseIp(m[1]);
  const prefix = Number(m[2]);
  if (ip === null || prefix > 32) return { ok: false, reason: "syntax" };
  const base = (ip & maskOf(prefix)) >>> 0;
  if (base !== ip) {
    return { ok: false, reason: "hostbits", normalized: formatCidr({ base, prefix }) };
  }
  return { ok: true, cidr: { base, prefix } };
}

/** Formats a prefix as `a.b.c.d/len`. */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

/** Whether `ip` lies inside `c`. */
export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip <= lastOf(c);
}

/** Whether `inner` lies entirely inside `outer`. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && contains(outer, inner.base);
}

/** Whether two prefixes share at least one address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= lastOf(b) && b.base <= lastOf(a);
}

/** The `prefix`-long prefix that holds `ip`. */
export function enclosing(ip: number, prefix: number): Cidr {
  return { base: (ip & maskOf(prefix)) >>> 0, prefix };
}

/** Whether the text looks like an IPv6 address (so errors can say "IPv6 is not supported yet"). */
export function looksIpv6(text: string): boolean {
  return /^\[?[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\]?$/.test(text) && text.includes(":");
}
