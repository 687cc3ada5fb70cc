/**
 * The xfrm section of a plan: IPsec ESP states and policies between VTEPs (Docker's encrypted
 * overlay). nslab has no xfrm netlink verbs yet, and an overlay that claims to be encrypted must
 * never run unencrypted, so applying any xfrm entry is refused with the kernel-feature message
 * (`checkKernelFeatures` refuses encrypted overlays earlier on kernels without ESP). This is the
 * one place to swap in a real applier.
 *
 * @module
 */

import type { XfrmPlan } from "../plan/types.ts";
import { UnsupportedError } from "../errors.ts";
import type { KernelTarget } from "./target.ts";

/**
 * Applies the xfrm states and policies of a plan. Today: refuses any, naming the network.
 *
 * @throws {UnsupportedError} when `xfrm` is not empty.
 * @example
 * ```ts
 * applyXfrm([], kernel); // nothing to do
 * ```
 */
export function applyXfrm(xfrm: XfrmPlan[], _kernel: KernelTarget): void {
  if (xfrm.length === 0) return;
  const x = xfrm[0];
  throw new UnsupportedError(
    `Cannot encrypt overlay network "${x.network}" (IPsec ESP between ${x.src} and ${x.dst}): ` +
      `nslab does not program xfrm states and policies yet, and an unencrypted network must ` +
      `never claim to be encrypted. Remove "encrypted: true" from the network`,
  );
}
