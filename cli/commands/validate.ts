/** `nslab validate`: parse + validate, print the resolved model summary. */
import { summarize } from "../../core/model/load.ts";
import { checkKernelFeatures } from "../../core/kernel/features.ts";
import { checkDockerEngine } from "../../core/runtime/docker.ts";
import { type LabOptions, load } from "../common.ts";

export async function validateCommand(opts: LabOptions): Promise<number> {
  const { model, file } = await load(opts);
  checkKernelFeatures(model);
  await checkDockerEngine(model);
  // Warnings are part of the summary on stdout; repeating them on stderr printed each twice.
  console.log(summarize(model));
  console.log(`${file}: valid`);
  return 0;
}
