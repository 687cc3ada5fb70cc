/**
 * Shared helpers of the CLI verbs: finding and loading the topology, naming the lab.
 *
 * @module
 */

import { readMachine } from "../core/lab/alloc.ts";
import { isLabName } from "../core/kernel/journal.ts";
import type { Model } from "../core/model/types.ts";
import { digest, listStateDirs, readState } from "../core/lab/state.ts";
import { UsageError } from "../core/errors.ts";
import { type Bundle, parseBundle } from "../core/lab/bundle.ts";

/** Options every lab-addressing verb accepts. */
export interface LabOptions {
  file?: string;
  projectName?: string;
  uplink?: boolean;
  /** `--env-file`, repeatable. */
  envFile?: string[];
  /** `--profile`, repeatable. */
  profile?: string[];
}

/** The bundled default lab (the seed document as one topology). */
export const SEED_FILE = new URL("../topologies/seed.yaml", import.meta.url).pathname;

/** A loaded topology: its file, text digest and resolved model. */
export interface Loaded {
  file: string;
  digest: string;
  model: Model;
}

/**
 * The model loader (and with it the YAML parser), imported only by a verb that reads a topology:
 * `down -p NAME` and the other verbs on a running lab start faster without it.
 */
const loader = () => import("../core/model/load.ts");

/** Locates the topology file: `-f`, else nslab.yaml/compose.yaml/… in the current folder. */
export async function topologyPath(opts: LabOptions, fallback?: string): Promise<string> {
  if (opts.file) return opts.file;
  const found = (await loader()).findTopologyFile(Deno.cwd());
  if (found) return found;
  if (fallback) return fallback;
  throw new UsageError(
    "No topology file: none of nslab.yaml, compose.yaml, compose.yml, docker-compose.yml, " +
      "docker-compose.yaml is in this folder; pass one with -f FILE (try -f topologies/seed.yaml)",
  );
}

/** Reads, validates and resolves the topology (exit code 2 on any error, nothing touched). */
export async function load(opts: LabOptions, fallback?: string): Promise<Loaded> {
  const file = await topologyPath(opts, fallback);
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    throw new UsageError(`Cannot read topology file ${file}: ${(e as Error).message}`);
  }
  const { model } = (await loader()).loadTopology({ file, text }, {
    project: opts.projectName,
    uplink: opts.uplink,
    machine: readMachine(),
    envFiles: opts.envFile,
    profiles: opts.profile,
  });
  return { file, digest: await digest(text), model };
}

/**
 * A lab from a resolved bundle (`--bundle B`): its model as it was resolved, not resolved again
 * here. The lab name is the bundle's (`-p` may only repeat it); `--no-uplink` still applies, as
 * the uplink is this machine's choice. The digest is the bundle's.
 */
export async function loadBundle(
  path: string,
  opts: LabOptions,
): Promise<Loaded & { bundle: Bundle }> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(`Cannot read bundle ${path}: ${(e as Error).message}`);
  }
  const bundle = await parseBundle(text, path);
  if (opts.projectName !== undefined && opts.projectName !== bundle.lab) {
    throw new UsageError(
      `Cannot rename lab "${bundle.lab}" of bundle ${path} to "${opts.projectName}" (-p): names ` +
        `are resolved into the bundle; make another bundle with -p ${opts.projectName}`,
    );
  }
  if (opts.file !== undefined) {
    throw new UsageError("Give either --bundle or -f, not both: a bundle is already resolved");
  }
  const { chosenOnMachine: _chosen, ...model } = bundle.model;
  if (opts.uplink === false) model.underlay.uplink = null;
  return { file: path, digest: bundle.digest, model, bundle };
}

/** The lab a verb addresses: `-p NAME`, else the lab of the topology file. */
export async function labName(opts: LabOptions): Promise<string> {
  if (opts.projectName) {
    // It reaches paths (/run/nslab/<lab>) and namespace names: a usage error, not a crash.
    if (!isLabName(opts.projectName)) {
      throw new UsageError(
        `Invalid lab name ${JSON.stringify(opts.projectName)} (-p): use lowercase letters, ` +
          "digits, '-' and '_', starting with a letter or digit",
      );
    }
    return opts.projectName;
  }
  if (opts.file || (await loader()).findTopologyFile(Deno.cwd())) {
    return (await load(opts)).model.lab;
  }
  const running = listStateDirs();
  if (running.length === 1) return running[0];
  throw new UsageError(
    running.length === 0
      ? "No lab named: pass -p NAME or -f FILE (no lab is running)"
      : `Which lab? Several are running (${running.join(", ")}): pass -p NAME`,
  );
}

/** The model of a running lab (from its state), or a clear error. */
export async function runningModel(opts: LabOptions): Promise<Model> {
  const lab = await labName(opts);
  const state = readState(lab);
  if (!state) {
    throw new UsageError(`Lab "${lab}" is not up: start it with "nslab up -p ${lab} -f FILE"`);
  }
  return state.model;
}
