/**
 * SHA-256 (FIPS 180-4) of a string, in TypeScript: the loader hashes names synchronously, and
 * `node:crypto` costs each CLI call ~10 ms of start-up to load. Pure.
 *
 * @module
 */

/** The first `n` primes. */
function primes(n: number): number[] {
  const out: number[] = [];
  for (let p = 2; out.length < n; p++) if (out.every((q) => p % q !== 0)) out.push(p);
  return out;
}

/** First 32 bits of the fractional part of `x`. */
const frac32 = (x: number) => Math.floor((x - Math.floor(x)) * 2 ** 32) >>> 0;

/** Round constants: cube roots of the first 64 primes; initial hash: square roots of the first 8. */
const K = Uint32Array.from(primes(64), (p) => frac32(Math.cbrt(p)));
const H0 = Uint32Array.from(primes(8), (p) => frac32(Math.sqrt(p)));

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** The message padded to whole 64-byte blocks: a 1 bit, zeros, the bit length (big-endian). */
function padded(bytes: Uint8Array): DataView {
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const buf = new Uint8Array(blocks * 64);
  buf.set(bytes);
  buf[bytes.length] = 0x80;
  const view = new DataView(buf.buffer);
  const bits = bytes.length * 8;
  view.setUint32(buf.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(buf.length - 4, bits >>> 0);
  return view;
}

/** Lowercase hex SHA-256 of `text` (UTF-8). */
export function sha256Hex(text: string): string {
  const view = padded(new TextEncoder().encode(text));
  const h = H0.slice();
  const w = new Uint32Array(64);
  for (let off = 0; off < view.byteLength; off += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(off + 4 * t);
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
      const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let t = 0; t < 64; t++) {
      const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0];
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
  return [...h].map((x) => x.toString(16).padStart(8, "0")).join("");
}
