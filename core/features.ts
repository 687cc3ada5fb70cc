/**
 * Kernel features a lab needs, detected before anything is built. A lab that needs a missing
 * feature is refused with the feature's name — nslab never builds a weaker network than declared.
 *
 * @module
 */

import type { Model } from "./model/types.ts";
import { UnsupportedError } from "./errors.ts";
import { createNetns, deleteNetns } from "./netns/netns.ts";

let espSupport: boolean | null = null;

/**
 * Whether this kernel can do IPsec ESP in transport mode with `rfc4106(gcm(aes))` (what Docker's
 * encrypted overlay uses). Probed once by adding a throwaway SA in a throwaway namespace.
 */
export function hasEsp(): boolean {
  if (espSupport !== null) return espSupport;
  const ns = `nslab-probe-${Deno.pid}`;
  createNetns(ns);
  try {
    const out = new Deno.Command("ip", {
      args: [
        "-n",
        ns,
        "xfrm",
        "state",
        "add",
        "src",
        "192.0.2.1",
        "dst",
        "192.0.2.2",
        "proto",
        "esp",
        "spi",
        "0x100",
        "mode",
        "transport",
        "aead",
        "rfc4106(gcm(aes))",
        "0x0102030405060708090a0b0c0d0e0f1011121314",
        "128",
      ],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    espSupport = out.success;
  } catch {
    espSupport = false;
  } finally {
    deleteNetns(ns);
  }
  return espSupport;
}

/** Throws {@link UnsupportedError} when the model needs a kernel feature this machine lacks. */
export function checkKernelFeatures(model: Model): void {
  const encrypted = model.networks.filter((n) => n.driver === "overlay" && n.encrypted);
  if (encrypted.length > 0 && !hasEsp()) {
    const n = encrypted[0];
    throw new UnsupportedError(
      `${n.pos.file}:${n.pos.line}:${n.pos.col}: network "${n.name}" is encrypted, but this kernel ` +
        `has no IPsec ESP support (xfrm with esp4 and rfc4106(gcm(aes)) is missing), so nslab will ` +
        `not build it — an unencrypted network must never claim to be encrypted. Remove ` +
        `"encrypted: true", or run on a kernel with CONFIG_INET_ESP and CONFIG_CRYPTO_GCM`,
    );
  }
}
