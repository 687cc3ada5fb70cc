/** `nslab k8s`: the Kubernetes objects that run a lab's parts on a cluster's nodes. */
import { stringify } from "yaml";
import { makeBundle } from "../../core/lab/bundle.ts";
import { k8sObjects } from "../../core/lab/k8s.ts";
import { UsageError } from "../../core/errors.ts";
import type { Model } from "../../core/model/types.ts";
import { type LabOptions, load, loadBundle } from "../common.ts";

export interface K8sCommandOptions extends LabOptions {
  bundle?: string;
  /** `HOST=NODE`, repeatable. */
  node?: string[];
  /** `DEV` (every host) or `HOST=DEV`, repeatable. */
  underlayDev?: string[];
  image: string;
  namespace: string;
  output?: string;
}

/**
 * Host → value: the file's per-host value, then `DEV`-for-all flags, then `HOST=VALUE` flags (the
 * most specific wins). A host the model lacks is a usage error.
 */
export function perHost(
  model: Model,
  flag: string,
  flags: string[],
  fromFile: (h: Model["hosts"][number]) => string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of model.hosts) {
    const v = fromFile(h);
    if (v !== undefined) out[h.name] = v;
  }
  const all = flags.filter((f) => !f.includes("="));
  for (const v of all) for (const h of model.hosts) out[h.name] = v;
  for (const f of flags.filter((x) => x.includes("="))) {
    const [host, value] = [f.slice(0, f.indexOf("=")), f.slice(f.indexOf("=") + 1)];
    if (!model.hosts.some((h) => h.name === host) || value === "") {
      throw new UsageError(
        `Invalid ${flag} "${f}": give HOST=VALUE with one of the hosts ` +
          model.hosts.map((h) => `"${h.name}"`).join(", "),
      );
    }
    out[host] = value;
  }
  return out;
}

/** Prints (or writes) the objects as YAML documents; returns the exit code. */
export async function k8sCommand(opts: K8sCommandOptions): Promise<number> {
  const bundle = opts.bundle !== undefined
    ? (await loadBundle(opts.bundle, opts)).bundle
    : await load(opts).then(({ model, file, digest }) =>
      makeBundle(model, { file, sha256: digest })
    );
  const { model } = bundle;
  const objects = k8sObjects(bundle, {
    namespace: opts.namespace,
    image: opts.image,
    nodes: perHost(model, "--node", opts.node ?? [], (h) => h.node),
    underlayDevs: perHost(model, "--underlay-dev", opts.underlayDev ?? [], (h) => h.underlayDev),
  });
  const text = objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
  if (opts.output === undefined) await Deno.stdout.write(new TextEncoder().encode(text));
  else Deno.writeTextFileSync(opts.output, text);
  console.error(
    `Lab "${bundle.lab}" (digest ${bundle.digest.slice(0, 12)}) on Kubernetes: ` +
      `${objects.length} objects${opts.output === undefined ? "" : ` → ${opts.output}`}`,
  );
  return 0;
}
