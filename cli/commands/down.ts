/** `nslab down`: remove everything a lab made, even after a crash; idempotent. */
import { downLab } from "../../core/lab/down.ts";
import { refuseWhileShared } from "../../core/lab/shared.ts";
import { listLabs } from "../../core/kernel/discover.ts";
import { listStateDirs } from "../../core/lab/state.ts";
import { formatChanges } from "../../core/lab/neighbours.ts";
import { labName, type LabOptions } from "../common.ts";
import { Timings } from "../timings.ts";

export async function downCommand(
  opts: LabOptions & { all?: boolean; timings?: boolean },
): Promise<number> {
  const timings = new Timings(opts.timings ?? false);
  const labs = opts.all
    ? [...new Set([...listLabs().map((l) => l.lab), ...listStateDirs()])].sort()
    : [await labName(opts)];
  // Another lab's containers on this lab's networks (external: true there): Docker's refusal.
  if (!opts.all) refuseWhileShared(labs[0]);
  let failed = 0;
  for (const lab of labs) {
    const report = await downLab(lab, { progress: timings.progress() });
    for (const line of formatChanges(report.neighbours)) console.log(`Restored ${line}`);
    for (const e of report.errors) console.error(`down ${lab}: ${e.message}`);
    if (report.errors.length) failed++;
    else console.error(`Lab "${lab}" removed`);
  }
  return failed ? 1 : 0;
}
