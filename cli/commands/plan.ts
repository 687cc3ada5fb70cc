/**
 * `nslab plan`: every kernel object and rule `up` would create, touching nothing. `--dry-run`:
 * the exact netlink messages (and other actions) `up` would send, from the same applier.
 */
import { buildPlan } from "../../core/plan/plan.ts";
import { formatPlan } from "../../core/plan/format.ts";
import { dryRun, formatDryRun } from "../../core/kernel/dry_run.ts";
import { ulaLine } from "../../core/model/load.ts";
import { type LabOptions, load } from "../common.ts";

export async function planCommand(
  opts: LabOptions & { json?: boolean; dryRun?: boolean },
): Promise<number> {
  const { model } = await load(opts);
  const plan = buildPlan(model);
  if (opts.dryRun) console.log(formatDryRun(await dryRun(plan)));
  else if (opts.json) console.log(JSON.stringify(plan, null, 2));
  else console.log([ulaLine(model), formatPlan(plan)].filter((t) => t !== null).join("\n"));
  return 0;
}
