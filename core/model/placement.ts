/**
 * Where a host's part runs on real machines, as the file may say: `hosts.<h>.underlay_dev` (the
 * machine interface it binds to) and `hosts.<h>.node` (the Kubernetes node). Checked here; used by
 * `up --only-host` and `nslab k8s`.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import { MACHINE_IFNAME } from "./names.ts";

/** A host's placement; each key only when the file gives it. */
export interface HostPlacement {
  underlayDev?: string;
  node?: string;
}

/** A Kubernetes node name (an RFC 1123 subdomain). */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A host's `underlay_dev` and `node`, checked (errors at their file position). */
export function readPlacement(
  body: { underlay_dev?: string; node?: string } | undefined,
  path: (string | number)[],
  diags: Diagnostics,
  positions: Positions,
): HostPlacement {
  const out: HostPlacement = {};
  if (body?.underlay_dev !== undefined) {
    if (MACHINE_IFNAME.test(body.underlay_dev)) out.underlayDev = body.underlay_dev;
    else {
      diags.error(
        positions.of([...path, "underlay_dev"]),
        `invalid underlay_dev "${body.underlay_dev}": not an interface name`,
        "give the machine interface's name, at most 15 bytes, e.g. underlay_dev: ens4",
      );
    }
  }
  if (body?.node !== undefined) {
    if (NODE_NAME.test(body.node) && body.node.length <= 253) out.node = body.node;
    else {
      diags.error(
        positions.of([...path, "node"]),
        `invalid node "${body.node}": not a Kubernetes node name`,
        "lowercase letters, digits, '-' and '.', e.g. node: worker-1",
      );
    }
  }
  return out;
}
