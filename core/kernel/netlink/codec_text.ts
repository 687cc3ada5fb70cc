/**
 * Addresses on the wire: IPv4/IPv6 and MAC text ↔ bytes, as rtnetlink attributes carry them.
 * Pure.
 *
 * @module
 */

/** Parses dotted IPv4 text into 4 bytes; throws on anything else. */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`Invalid IPv4 address ${JSON.stringify(text)}`);
  const out = new Uint8Array(4);
  parts.forEach((p, i) => {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) {
      throw new Error(`Invalid IPv4 address ${JSON.stringify(text)}`);
    }
    out[i] = Number(p);
  });
  return out;
}

/** Formats IPv6 bytes in RFC 5952 form (longest zero run compressed to `::`). */
export function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Parses IPv6 text (with at most one `::`, no embedded IPv4) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const bad = () => new Error(`Invalid IPv6 address ${JSON.stringify(text)}`);
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const words = (s: string) => (s === "" ? [] : s.split(":"));
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8) || (halves.length === 2 && fill < 1)) {
    throw bad();
  }
  const all = [...head, ...Array(fill).fill("0"), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw bad();
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** Parses an IPv4 or IPv6 address. */
export function parseIp(text: string): Uint8Array {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/** Formats 4 or 16 address bytes. */
export function formatIp(b: Uint8Array): string {
  return b.length === 4 ? b.join(".") : formatIpv6(b);
}

/** Parses `aa:bb:cc:dd:ee:ff` into 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`Invalid MAC address ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats 6 bytes as lower-case `aa:bb:cc:dd:ee:ff`. */
export function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}
