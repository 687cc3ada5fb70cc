/**
 * IPv6 reverse names (`ip6.arpa`, RFC 3596): an address as 32 nibbles, lowest first. Pure.
 *
 * @module
 */

import { type Cidr6, contains6, formatIp6, parseCidr6, parseIp6 } from "../model/ip6.ts";

const SUFFIX = ".ip6.arpa";
const NIBBLES = 32;

/**
 * The reverse name of an IPv6 address.
 *
 * @example
 * ```ts
 * reverseName6("fd00::1"); // "1.0.0.0.…(28 more)….0.0.d.f.ip6.arpa"
 * ```
 */
export function reverseName6(address: string): string {
  const n = parseIp6(address);
  if (n === null) throw new Error(`not an IPv6 address: ${address}`);
  const hex = n.toString(16).padStart(NIBBLES, "0");
  return `${[...hex].reverse().join(".")}${SUFFIX}`;
}

/** The address a full `ip6.arpa` name stands for, in canonical text, or null. */
export function reverse6ToAddress(name: string): string | null {
  if (!name.endsWith(SUFFIX)) return null;
  const labels = name.slice(0, -SUFFIX.length).split(".");
  if (labels.length !== NIBBLES || !labels.every((l) => /^[0-9a-f]$/.test(l))) return null;
  return formatIp6(BigInt("0x" + labels.reverse().join("")));
}

/** A subnet's prefix, or null when the text is not an IPv6 prefix. */
export function subnet6(text: string | undefined): Cidr6 | null {
  const r = text === undefined ? null : parseCidr6(text);
  return r?.ok ? r.cidr : null;
}

/** Whether the reverse name stands for an address inside `subnet`. */
export function reverse6In(name: string, subnet: Cidr6): boolean {
  const address = reverse6ToAddress(name);
  return address !== null && contains6(subnet, parseIp6(address)!);
}
