/**
 * Loading a topology: file or object → shape check → resolution → {@link Model}, or a
 * {@link TopologyError} carrying every problem found (file:line:col, what is wrong, how to fix).
 * Pure: what IPAM must avoid on the machine comes in as a value ({@link MachineView}, read by
 * `core/lab/alloc.ts`), and nothing here reads or touches the machine.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { TopologyError } from "../errors.ts";
import type { Model, SharedNetwork } from "./types.ts";
import type { TopologyInput } from "./input.ts";
import { Diagnostics } from "./diagnostics.ts";
import { fromObject, type Located, parseYaml } from "./source.ts";
import { checkShape } from "./shape.ts";
import { prepareCompose } from "./compose.ts";
import { resolveModel } from "./resolve.ts";
import { normalizeLabName, uplinkName } from "./names.ts";
import { declareImpairments } from "./impair.ts";
import { readMeasures } from "./measure.ts";

export type { TopologyInput } from "./input.ts";
export { topologySchema } from "./json_schema.ts";
export { summarize, ulaLine } from "./summary.ts";

/** What the loader needs to know about the machine (`readMachine()` in `core/lab/alloc.ts`). */
export interface MachineView {
  /** Routes in the machine's root namespace: automatic subnets stay off them. */
  routes: { cidr: string; iface: string }[];
  /** Underlays recorded by labs on the machine (their uplink routes may not exist yet). */
  underlays: { lab: string; subnet: string }[];
  /** Networks of running labs that a Compose file may join as `external: true`. */
  networks?: SharedNetwork[];
}

/** Options of {@link loadTopology} and {@link loadTopologyObject}. */
export interface LoadOptions {
  /** Lab name (`-p/--project-name`); wins over the file's `name:`. */
  project?: string;
  /**
   * Prefixes already routed on the machine (IPAM skips pools overlapping them). Default: those of
   * `machine`, minus this lab's own uplink and underlay.
   */
  reserved?: string[];
  /** The machine as it is (default: an empty machine, nothing reserved). */
  machine?: MachineView;
  /** Create the uplink from the machine's root namespace (default true). */
  uplink?: boolean;
  /**
   * Variables for `${…}` interpolation, over those of the env files (Compose's rule). Default:
   * this process's environment for files, none for objects.
   */
  env?: Record<string, string>;
  /** `--env-file` paths (repeatable); default `.env` beside the file when it exists. */
  envFiles?: string[];
  /** `--profile` names; `COMPOSE_PROFILES` adds to them. */
  profiles?: string[];
}

function readTextOrNull(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** File names found without `-f`, in order (Compose's plus nslab.yaml first). */
export const TOPOLOGY_FILES = [
  "nslab.yaml",
  "compose.yaml",
  "compose.yml",
  "docker-compose.yml",
  "docker-compose.yaml",
];

/**
 * The topology file in `cwd`: the first of {@link TOPOLOGY_FILES} that exists, or null.
 *
 * @example
 * ```ts
 * const file = findTopologyFile(Deno.cwd()) ?? "topologies/seed.yaml";
 * ```
 */
export function findTopologyFile(cwd: string): string | null {
  for (const name of TOPOLOGY_FILES) {
    const path = join(cwd, name);
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there: try the next name
    }
  }
  return null;
}

function folderNameOf(file: string): string | null {
  try {
    const name = normalizeLabName(basename(dirname(resolve(file))));
    return name === "" ? null : name;
  } catch {
    return null;
  }
}

function machineReserved(opts: LoadOptions): (lab: string) => string[] {
  if (opts.reserved) {
    const list = opts.reserved;
    return () => list;
  }
  // Other labs' recorded underlays too: their uplink route may not exist yet (a parallel `up`).
  const machine = opts.machine ?? { routes: [], underlays: [] };
  return (lab) => [
    ...machine.routes.filter((r) => r.iface !== uplinkName(lab)).map((r) => r.cidr),
    ...machine.underlays.filter((u) => u.lab !== lab).map((u) => u.subnet),
  ];
}

function build(
  file: string,
  parse: (d: Diagnostics) => Located | null,
  folderName: string | null,
  opts: LoadOptions,
): { model: Model } {
  const diags = new Diagnostics();
  try {
    const parsed = parse(diags);
    diags.throwIfAny();
    const prepared = prepareCompose(file, parsed!, {
      env: opts.env ?? (file === "<object>" ? {} : Deno.env.toObject()),
      // An object has no folder: no .env is read for it unless named.
      envFiles: opts.envFiles ?? (file === "<object>" ? [] : undefined),
      profiles: opts.profiles,
      readFile: readTextOrNull,
    }, diags);
    diags.throwIfAny();
    const { value, positions } = checkShape(prepared.tree, diags, file);
    const model = resolveModel(
      value,
      {
        file,
        project: opts.project,
        envProject: prepared.envProject,
        reserved: machineReserved(opts),
        uplink: opts.uplink ?? true,
        shared: opts.machine?.networks ?? [],
        folderName,
      },
      diags,
      positions,
    );
    declareImpairments(value, positions, model, diags);
    const measures = readMeasures((value as { checks?: unknown }).checks, model, positions, diags);
    if (measures.length) model.measures = measures;
    diags.throwIfAny();
    if (!opts.reserved) model.chosenOnMachine = true;
    return { model };
  } catch (e) {
    if (e instanceof TopologyError) throw e;
    // A defect in nslab, not in the file: still no stack trace for the user.
    throw new TopologyError([{
      pos: { file, line: 1, col: 1 },
      message: `internal error while reading the topology: ${(e as Error)?.message ?? e}`,
      hint: "please report this with the topology file",
    }]);
  }
}

/**
 * Parses, validates and resolves a topology file.
 *
 * @example
 * ```ts
 * const text = Deno.readTextFileSync("topologies/seed.yaml");
 * const { model } = loadTopology({ file: "topologies/seed.yaml", text }, { reserved: [] });
 * console.log(model.containers.map((c) => c.name));
 * ```
 */
export function loadTopology(
  source: { file: string; text: string },
  opts: LoadOptions = {},
): { model: Model } {
  return build(
    source.file,
    (d) => parseYaml(source.file, source.text, d),
    folderNameOf(source.file),
    opts,
  );
}

/**
 * Validates and resolves a topology given as an object; positions in errors are
 * `<object>:path.to.key`. The lab needs a name (`name:` or `opts.project`).
 *
 * @example
 * ```ts
 * const { model } = loadTopologyObject({ name: "t1", containers: { web: { ports: ["8080:80"] } } });
 * ```
 */
export function loadTopologyObject(obj: TopologyInput, opts: LoadOptions = {}): { model: Model } {
  return build("<object>", (d) => fromObject(obj, d), null, opts);
}
