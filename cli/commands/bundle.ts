/** `nslab bundle`: resolve a topology once and write it, with its digest, for every machine. */
import { makeBundle, short } from "../../core/lab/bundle.ts";
import { formatDiagnostic } from "../../core/errors.ts";
import { type LabOptions, load } from "../common.ts";

export interface BundleOptions extends LabOptions {
  /** File to write; standard output when absent. */
  output?: string;
}

/** Writes the bundle of the topology; the summary goes to stderr. */
export async function bundleCommand(opts: BundleOptions): Promise<number> {
  const { model, file, digest } = await load(opts);
  for (const w of model.warnings) {
    console.error(formatDiagnostic({ pos: w.pos, message: `warning: ${w.message}`, hint: "" }));
  }
  const bundle = await makeBundle(model, { file, sha256: digest });
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  if (opts.output === undefined) await Deno.stdout.write(new TextEncoder().encode(text));
  else Deno.writeTextFileSync(opts.output, text);
  console.error(
    `Bundle of lab "${model.lab}" (digest ${short(bundle.digest)}): ` +
      `${model.hosts.length} host(s), ${model.networks.length} network(s), ` +
      `${model.containers.length} container(s)` +
      (opts.output === undefined ? "" : ` → ${opts.output}`),
  );
  return 0;
}
