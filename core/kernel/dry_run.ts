/**
 * `nslab plan --dry-run`: `up`'s apply, taken through the same applier, into a
 * {@link RecordingKernel} — every netlink message exactly as it would be sent (hex, sequence
 * numbers from 1 per namespace batch), and every other action as a line. Touches nothing.
 *
 * @module
 */

import type { Plan } from "../plan/types.ts";
import { diffPlans, emptyPlan } from "../plan/diff.ts";
import { applyDelta } from "./apply.ts";
import { RecordingKernel } from "./target.ts";
import * as C from "./netlink/constants.ts";

/** Message type → name, for the printout. */
const TYPE_NAMES = new Map<number, string>(
  Object.entries(C).flatMap(([k, v]) =>
    k.startsWith("RTM_") && typeof v === "number" ? [[v, k]] : []
  ),
);

/**
 * Applies `plan` from an empty lab to a recording kernel and returns the recording.
 *
 * @example
 * ```ts
 * const rec = await dryRun(buildPlan(model));
 * console.log(formatDryRun(rec));
 * ```
 */
export async function dryRun(plan: Plan): Promise<RecordingKernel> {
  const kernel = new RecordingKernel();
  await applyDelta(diffPlans(emptyPlan(plan.lab), plan), kernel);
  return kernel;
}

/** One line per step: `[ns] RTM_NEWLINK add link "br0"  <hex>`, or `# netns add lab-h1`. */
export function formatDryRun(rec: RecordingKernel): string {
  const lines: string[] = [];
  for (const e of rec.log) {
    if (e.kind === "action") {
      lines.push(`# ${e.text}`);
      continue;
    }
    const type = new DataView(e.bytes.buffer, e.bytes.byteOffset).getUint16(4, true);
    const name = TYPE_NAMES.get(type) ?? `type ${type}`;
    const hex = Array.from(e.bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const where = e.ns === "" ? "root" : e.ns;
    lines.push(`[${where}] ${name} ${e.info.op} ${e.info.object} ${e.info.target}  ${hex}`);
  }
  return lines.join("\n");
}
