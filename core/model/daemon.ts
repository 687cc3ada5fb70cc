/**
 * The Docker daemon's settings a lab may give (`daemon:` at the top of the file, or under
 * `x-nslab:`), spelt as in `daemon.json`. Only what changes the default bridge: `ipv6: true`
 * makes docker0 (`network_mode: bridge`) dual-stack, and `fixed-cidr-v6` is its IPv6 subnet, as
 * `dockerd --ipv6 --fixed-cidr-v6` does. Without `fixed-cidr-v6`, docker0 takes a /64 of the
 * lab's ULA /48, as current Docker takes one from its default pool (Docker 20.10 gave docker0
 * no global IPv6 address without it).
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { NetDecl } from "./networks.ts";
import { parseCidr6 } from "./ip6.ts";

/** `daemon:` as the file has it. */
export interface RawDaemon {
  ipv6?: boolean;
  "fixed-cidr-v6"?: string;
}

/**
 * Gives docker0 its IPv6 side from the daemon settings (in place), or reports why it cannot:
 * `fixed-cidr-v6` without `ipv6: true`, or one that is not an IPv6 prefix of at most /126.
 */
export function applyDaemonIpv6(
  daemon: RawDaemon | undefined,
  docker0: NetDecl,
  diags: Diagnostics,
  positions: Positions,
): void {
  const fixed = daemon?.["fixed-cidr-v6"];
  if (daemon?.ipv6 !== true) {
    if (fixed !== undefined) {
      diags.error(
        positions.of(["daemon", "fixed-cidr-v6"]),
        `fixed-cidr-v6 "${fixed}" is given but the default bridge has no IPv6 (ipv6 is not true)`,
        "add ipv6: true under daemon:, as in daemon.json",
      );
    }
    return;
  }
  docker0.enableIpv6 = true;
  docker0.v6 = { subnet: null, explicit: false, gateway: null, ipRange: null };
  if (fixed === undefined) return;
  const r = parseCidr6(fixed);
  if (!r.ok || r.cidr.prefix > 126) {
    const hint = !r.ok && r.normalized
      ? `write ${r.normalized}`
      : "e.g. fixed-cidr-v6: fd00:d0c::/64";
    diags.error(
      positions.of(["daemon", "fixed-cidr-v6"]),
      `fixed-cidr-v6 "${fixed}" is not an IPv6 prefix of at most /126`,
      hint,
    );
    return;
  }
  docker0.v6 = { subnet: r.cidr, explicit: true, gateway: null, ipRange: null };
}
