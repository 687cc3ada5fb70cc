/**
 * Kernel features a lab needs, detected before anything is built. A lab that needs a missing
 * feature is refused with the feature's name — nslab never builds a weaker network than declared.
 *
 * @module
 */

import type { Model, Network } from "../model/types.ts";
import { UnsupportedError } from "../errors.ts";
import { createNetns, deleteNetns } from "./netns/netns.ts";

const probes = new Map<string, boolean>();

/**
 * Runs `TOOL -n NS ARGS…` (`ip` unless told, or `tc`) for each step in a throwaway namespace,
 * once per feature; true when every step succeeds.
 */
export function probeInThrowawayNetns(
  feature: string,
  steps: string[][],
  tool: "ip" | "tc" = "ip",
): boolean {
  const cached = probes.get(feature);
  if (cached !== undefined) return cached;
  const ns = `nslab-probe-${feature}-${Deno.pid}`;
  let ok = false;
  createNetns(ns);
  try {
    ok = steps.every((args) =>
      new Deno.Command(tool, { args: ["-n", ns, ...args], stdout: "null", stderr: "null" })
        .outputSync().success
    );
  } catch {
    ok = false;
  } finally {
    deleteNetns(ns);
  }
  probes.set(feature, ok);
  return ok;
}

/**
 * Whether this kernel can do IPsec ESP in transport mode with `rfc4106(gcm(aes))` (what Docker's
 * encrypted overlay uses). Probed once by adding a throwaway SA in a throwaway namespace.
 * Equivalent to: `ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode transport
 * aead 'rfc4106(gcm(aes))' KEY 128`.
 */
export function hasEsp(): boolean {
  return probeInThrowawayNetns("esp", [[
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
  ]]);
}

/**
 * Whether this kernel has 802.1Q VLAN links (the `8021q` module), needed by a macvlan `parent`
 * like `eth0.50`. Probed once by making a VLAN on a veth in a throwaway namespace.
 * Equivalent to: `ip link add v0 type veth peer name v1 && ip link add link v0 name v0.50 type
 * vlan id 50`.
 */
export function has8021q(): boolean {
  return probeInThrowawayNetns("8021q", [
    ["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
    ["link", "add", "link", "v0", "name", "v0.50", "type", "vlan", "id", "50"],
  ]);
}

/** Overrides a probe's cached answer (tests of the refusal paths on a kernel that has it). */
export function setProbeResult(feature: "esp" | "8021q", available: boolean | null): void {
  if (available === null) probes.delete(feature);
  else probes.set(feature, available);
}

const at = (n: Network) => `${n.pos.file}:${n.pos.line}:${n.pos.col}`;

/**
 * Throws {@link UnsupportedError} (exit 2) when the model needs a kernel feature this machine
 * lacks, or more of a feature than the kernel gives: `encrypted: true` (refused on every kernel —
 * nslab does not program IPsec — naming ESP first where the kernel lacks it), 802.1Q for a
 * macvlan parent `eth0.<vid>`; `macvlan_mode: passthru` only on a VLAN parent (never the host's
 * only link) and for one container per host (the kernel allows one passthru link). Nothing is
 * built before this passes.
 */
export function checkKernelFeatures(model: Model): void {
  const encrypted = model.networks.filter((n) => n.driver === "overlay" && n.encrypted);
  if (encrypted.length > 0) {
    const n = encrypted[0];
    // Refused on every kernel: nslab plans the ESP states (`nslab plan` lists them) but has no
    // applier that programs them, and an overlay built in clear text must never claim to be
    // encrypted. Where ESP is missing too, that is the first thing to say.
    throw new UnsupportedError(
      hasEsp()
        ? `${at(n)}: network "${n.name}" is encrypted, but nslab cannot build encrypted ` +
          `overlays yet: it does not program IPsec (the xfrm states and policies "nslab plan" ` +
          `lists), and it will not build the overlay in clear text — an unencrypted network ` +
          `must never claim to be encrypted. Remove "encrypted: true"`
        : `${at(n)}: network "${n.name}" is encrypted, but this kernel ` +
          `has no IPsec ESP support (xfrm with esp4 and rfc4106(gcm(aes)) is missing), so nslab ` +
          `will not build it — an unencrypted network must never claim to be encrypted. Remove ` +
          `"encrypted: true", or run on a kernel with CONFIG_INET_ESP and CONFIG_CRYPTO_GCM ` +
          `(nslab does not program IPsec yet either)`,
    );
  }
  const tagged = model.networks.filter((n) => n.macvlan !== null && n.macvlan.vlan !== null);
  if (tagged.length > 0 && !has8021q()) {
    const n = tagged[0];
    throw new UnsupportedError(
      `${at(n)}: macvlan network "${n.name}" has parent "${n.macvlan!.parent}", an 802.1Q VLAN ` +
        `link, but this kernel has no VLAN support (module 8021q, CONFIG_VLAN_8021Q is missing), ` +
        `so nslab cannot create it. Use "parent: eth0" (untagged), or run on a kernel with 8021q`,
    );
  }
  for (const n of model.networks) {
    if (n.macvlan?.mode !== "passthru") continue;
    if (n.macvlan.vlan === null) {
      throw new UnsupportedError(
        `${at(n)}: macvlan network "${n.name}" is in passthru mode on "${n.macvlan.parent}", ` +
          `which hands the whole parent link to one container, but eth0 is each host's only ` +
          `link (its underlay): the host would lose the other hosts, its overlays and its ` +
          `published ports. Use "macvlan_mode: bridge" (or private, vepa), or a VLAN parent ` +
          `like "eth0.50" on a kernel with 8021q`,
      );
    }
    for (const h of n.hosts) {
      const members = model.containers.filter((c) =>
        c.host === h && c.endpoints.some((e) => e.network === n.name)
      );
      if (members.length < 2) continue;
      throw new UnsupportedError(
        `${at(n)}: macvlan network "${n.name}" is in passthru mode, which gives its parent ` +
          `"${n.macvlan.parent}" to exactly one container, but host "${h}" has ` +
          `${members.length} on it (${members.map((c) => c.name).join(", ")}); the kernel ` +
          `refuses a second passthru link (EINVAL). Use "macvlan_mode: bridge", or put one ` +
          `container per host on this network`,
      );
    }
  }
}
