/** `nslab plan`: every kernel object and rule `up` would create, touching nothing. */
import { buildPlan } from "../../core/plan/plan.ts";
import { formatPlan } from "../../core/plan/format.ts";
import { type LabOptions, load } from "../common.ts";

export async function planCommand(opts: LabOptions & { json?: boolean }): Promise<number> {
  const { model } = await load(opts);
  const plan = buildPlan(model);
  console.log(opts.json ? JSON.stringify(plan, null, 2) : formatPlan(plan));
  return 0;
}
