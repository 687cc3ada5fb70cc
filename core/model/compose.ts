/**
 * What Compose does to a file before it is a project: interpolation (with `.env` and
 * `--env-file`), `include`, `extends` (same file or another one), `profiles`, and nslab's own
 * keys under `x-nslab:` lifted to where nslab reads them. Works on located trees, so every
 * error still names its file, line and column, also inside included or extended files.
 * Files are read through the `readFile` given (the loader passes the real one).
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import type { Diagnostics } from "./diagnostics.ts";
import { type Located, parseYaml } from "./source.ts";
import { type Environment, interpolateTree, parseDotEnv } from "./interpolate.ts";
import { field, merge, withField, without } from "./merge.ts";
import type { SourcePos } from "./types.ts";
import { IMPAIR_KEYS } from "./impair.ts";

/** Inputs of {@link prepareCompose}: everything outside the file itself. */
export interface ComposeInputs {
  /** The process environment (wins over `.env` and `--env-file`, as in Compose). */
  env: Environment;
  /** `--env-file` paths, in order; omitted: `.env` beside the file, when it exists. */
  envFiles?: string[];
  /** `--profile` names (added to `COMPOSE_PROFILES`). */
  profiles?: string[];
  /** Reads a file's text, or returns null when it does not exist. */
  readFile(path: string): string | null;
}

/** The prepared tree and what the environment says about the project. */
export interface Prepared {
  tree: Located;
  /** `COMPOSE_PROJECT_NAME` from the environment or the env files, if set. */
  envProject: string | null;
}

/** nslab keys that may sit under `x-nslab:` at the top of the file. */
const TOP_NSLAB_KEYS = ["hosts", "checks", "underlay", "dns", "daemon"];
/** nslab keys that may sit under `x-nslab:` inside a service. */
const SERVICE_NSLAB_KEYS = ["host", "runtime"];

function servicesKey(tree: Located): "services" | "containers" {
  return field(tree, "containers") !== undefined ? "containers" : "services";
}

/** The project's variables: env files first, the process environment over them. */
export function projectEnvironment(
  file: string,
  inputs: ComposeInputs,
  diags: Diagnostics,
): Record<string, string> {
  const files = inputs.envFiles ?? [join(dirname(file), ".env")];
  const fromFiles: Record<string, string> = {};
  for (const path of files) {
    const text = inputs.readFile(path);
    if (text === null) {
      if (inputs.envFiles !== undefined) {
        diags.error(
          { file: path, line: 1, col: 1 },
          `Couldn't find env file: ${path}`,
          "pass an existing file to --env-file",
        );
      }
      continue;
    }
    Object.assign(fromFiles, parseDotEnv(text, { ...inputs.env, ...fromFiles }));
  }
  return { ...fromFiles, ...inputs.env };
}

/**
 * Applies interpolation, `include`, `extends`, `profiles` and `x-nslab` to a parsed file.
 * Problems are recorded in `diags`; the tree returned holds what could be prepared.
 */
export function prepareCompose(
  file: string,
  tree: Located,
  inputs: ComposeInputs,
  diags: Diagnostics,
): Prepared {
  const env = projectEnvironment(file, inputs, diags);
  const warned = new Set<string>();
  const load = new FileLoader(inputs, env, diags, warned);
  let out = interpolateTree(tree, env, diags, warned);
  out = load.includes(file, out, [file]);
  out = resolveExtends(file, out, load, diags);
  out = applyProfiles(out, activeProfiles(env, inputs.profiles ?? []));
  out = liftNslabKeys(out, diags);
  const envProject = env.COMPOSE_PROJECT_NAME;
  return {
    tree: out,
    envProject: envProject === undefined || envProject === "" ? null : envProject,
  };
}

/** Reads, parses and interpolates other files of the project, each once. */
class FileLoader {
  readonly #cache = new Map<string, Located | null>();
  constructor(
    readonly inputs: ComposeInputs,
    readonly env: Environment,
    readonly diags: Diagnostics,
    readonly warned: Set<string>,
  ) {}

  /**
   * The interpolated tree of `path`, or null (reported at `from`) when it cannot be read.
   * `env` is the included project's own (its `.env`); extended files share the project's.
   */
  tree(path: string, from: SourcePos, env: Environment = this.env): Located | null {
    if (this.#cache.has(path)) return this.#cache.get(path)!;
    const text = this.inputs.readFile(path);
    let tree: Located | null = null;
    if (text === null) {
      this.diags.error(
        from,
        `cannot read ${path}: no such file`,
        "check the path (relative to the file that names it)",
      );
    } else {
      const parsed = parseYaml(path, text, this.diags);
      tree = parsed === null ? null : interpolateTree(parsed, env, this.diags, this.warned);
    }
    this.#cache.set(path, tree);
    return tree;
  }

  /**
   * The tree with its `include:` files' services and networks added (each included file with its
   * own includes first). A name defined twice is Compose's conflict error.
   */
  includes(file: string, tree: Located, chain: string[]): Located {
    const list = field(tree, "include");
    let out = without(tree, "include");
    if (list === undefined) return out;
    if (list.kind !== "seq") {
      this.diags.error(list.pos, "include must be a list of files", "e.g. include: [other.yaml]");
      return out;
    }
    for (const item of list.items) {
      for (const rel of includePaths(item)) {
        const path = isAbsolute(rel) ? rel : join(dirname(file), rel);
        if (chain.includes(path)) {
          this.diags.error(
            item.pos,
            `include cycle: ${[...chain, path].join(" → ")}`,
            "remove one include",
          );
          continue;
        }
        // An included file is its own project directory: its .env (or the item's env_file),
        // over which the process environment wins (Compose's include).
        const envFiles = includeEnvFiles(item, dirname(file));
        const own = projectEnvironment(path, { ...this.inputs, envFiles }, this.diags);
        const sub = this.tree(path, item.pos, own);
        if (sub === null) continue;
        const included = resolveExtends(
          path,
          this.includes(path, sub, [...chain, path]),
          this,
          this.diags,
        );
        out = addIncluded(out, included, path, this.diags);
      }
    }
    return out;
  }
}

/** The long form's `env_file` (one or a list), relative to the including file; else undefined. */
function includeEnvFiles(item: Located, dir: string): string[] | undefined {
  const v = field(item, "env_file");
  const list = v?.kind === "scalar" ? [v] : v?.kind === "seq" ? v.items : [];
  const paths = list.flatMap((x) =>
    x.kind === "scalar" && typeof x.value === "string" ? [x.value] : []
  );
  if (paths.length === 0) return undefined;
  return paths.map((p) => isAbsolute(p) ? p : join(dir, p));
}

function includePaths(item: Located): string[] {
  if (item.kind === "scalar" && typeof item.value === "string") return [item.value];
  const p = field(item, "path");
  if (p?.kind === "scalar" && typeof p.value === "string") return [p.value];
  if (p?.kind === "seq") {
    return p.items.flatMap((x) =>
      x.kind === "scalar" && typeof x.value === "string" ? [x.value] : []
    );
  }
  return [];
}

function addIncluded(tree: Located, included: Located, path: string, diags: Diagnostics): Located {
  let out = tree;
  for (const section of ["services", "networks", "volumes", "secrets", "configs"]) {
    const theirs = field(included, section);
    if (theirs?.kind !== "map") continue;
    const key = section === "services" ? servicesKey(out) : section;
    const mine = field(out, key);
    const entries = mine?.kind === "map" ? [...mine.entries] : [];
    for (const e of theirs.entries) {
      if (entries.some((x) => x.key === e.key)) {
        diags.error(
          e.keyPos,
          `${section}.${e.key} conflicts with imported resource (included from ${path})`,
          "rename one of the two, or remove it from one file",
        );
        continue;
      }
      entries.push(e);
    }
    out = withField(out, key, { kind: "map", entries, pos: mine?.pos ?? theirs.pos });
  }
  return out;
}

/** Every service of the file with its `extends` chain merged in (Compose's merge rules). */
function resolveExtends(
  file: string,
  tree: Located,
  load: FileLoader,
  diags: Diagnostics,
): Located {
  const key = servicesKey(tree);
  const services = field(tree, key);
  if (services?.kind !== "map") return tree;
  const entries = services.entries.map((e) => ({
    ...e,
    value: extended(file, tree, e.key, e.value, load, diags, [`${file}#${e.key}`]),
  }));
  return withField(tree, key, { ...services, entries });
}

function extended(
  file: string,
  tree: Located,
  name: string,
  svc: Located,
  load: FileLoader,
  diags: Diagnostics,
  chain: string[],
): Located {
  const ext = field(svc, "extends");
  if (ext === undefined) return svc;
  const own = without(svc, "extends");
  const target = ext.kind === "scalar"
    ? ext.value
    : field(ext, "service")?.kind === "scalar"
    ? (field(ext, "service") as { value: unknown }).value
    : undefined;
  const fileField = field(ext, "file");
  if (typeof target !== "string") {
    diags.error(
      ext.pos,
      `extends of service "${name}" names no service`,
      "e.g. extends: { service: base }",
    );
    return own;
  }
  let baseFile = file;
  let baseTree: Located | null = tree;
  if (fileField?.kind === "scalar" && typeof fileField.value === "string") {
    baseFile = isAbsolute(fileField.value) ? fileField.value : join(dirname(file), fileField.value);
    baseTree = load.tree(baseFile, fileField.pos);
  }
  if (baseTree === null) return own;
  const base = field(field(baseTree, servicesKey(baseTree)), target);
  if (base === undefined) {
    diags.error(
      ext.pos,
      `cannot extend service "${name}": service "${target}" not found in ${baseFile}`,
      "name a service defined in that file",
    );
    return own;
  }
  const id = `${baseFile}#${target}`;
  if (chain.includes(id)) {
    diags.error(
      ext.pos,
      `circular reference with extends: ${[...chain, id].join(" → ")}`,
      "break the cycle",
    );
    return own;
  }
  const resolvedBase = extended(baseFile, baseTree, target, base, load, diags, [...chain, id]);
  return merge(resolvedBase, own, "");
}

/** Profiles enabled by `--profile` and `COMPOSE_PROFILES` (comma-separated). */
export function activeProfiles(env: Environment, given: string[]): Set<string> {
  const fromEnv = (env.COMPOSE_PROFILES ?? "").split(",").map((p) => p.trim()).filter((p) => p);
  return new Set([...given, ...fromEnv]);
}

/** The tree without the services whose `profiles:` are all inactive (`*` enables every one). */
function applyProfiles(tree: Located, active: Set<string>): Located {
  const key = servicesKey(tree);
  const services = field(tree, key);
  if (services?.kind !== "map") return tree;
  const entries = services.entries.filter((e) => {
    const p = field(e.value, "profiles");
    if (p?.kind !== "seq" || p.items.length === 0) return true;
    if (active.has("*")) return true;
    return p.items.some((x) => x.kind === "scalar" && active.has(String(x.value)));
  }).map((e) => ({ ...e, value: without(e.value, "profiles") }));
  return withField(tree, key, { ...services, entries });
}

/** `x-nslab:` keys moved to where nslab reads them, at the top and in each service. */
function liftNslabKeys(tree: Located, diags: Diagnostics): Located {
  let out = lift(tree, field(tree, "x-nslab"), TOP_NSLAB_KEYS, "the top level", diags);
  const key = servicesKey(out);
  const services = field(out, key);
  if (services?.kind !== "map") return out;
  const entries = services.entries.map((e) => ({
    ...e,
    value: liftAttachments(
      lift(e.value, field(e.value, "x-nslab"), SERVICE_NSLAB_KEYS, `service ${e.key}`, diags),
      e.key,
      diags,
    ),
  }));
  out = withField(out, key, { ...services, entries });
  return out;
}

/** A network attachment's `x-nslab:` (impairments: delay, jitter, loss, rate, down) lifted. */
function liftAttachments(service: Located, name: string, diags: Diagnostics): Located {
  const nets = field(service, "networks");
  if (nets?.kind !== "map") return service;
  const entries = nets.entries.map((n) => ({
    ...n,
    value: lift(
      n.value,
      field(n.value, "x-nslab"),
      [...IMPAIR_KEYS],
      `network ${n.key} of service ${name}`,
      diags,
    ),
  }));
  return withField(service, "networks", { ...nets, entries });
}

function lift(
  target: Located,
  ext: Located | undefined,
  allowed: string[],
  where: string,
  diags: Diagnostics,
): Located {
  if (ext === undefined || target.kind !== "map") return target;
  let out = without(target, "x-nslab");
  if (ext.kind !== "map") {
    diags.error(ext.pos, `x-nslab in ${where} must be a map`, `e.g. x-nslab: { ${allowed[0]}: … }`);
    return out;
  }
  for (const e of ext.entries) {
    if (!allowed.includes(e.key)) {
      diags.error(
        e.keyPos,
        `unknown key "${e.key}" in x-nslab of ${where}`,
        `valid keys here: ${allowed.join(", ")}`,
      );
    } else if (field(out, e.key) !== undefined && e.key !== "runtime") {
      diags.error(
        e.keyPos,
        `${e.key} is set both in x-nslab and outside it (${where})`,
        "keep one",
      );
    } else out = withField(out, e.key, e.value);
  }
  return out;
}
