/**
 * The lab's name, chosen as Compose chooses the project name, and checked: it names every
 * namespace of the lab (`<lab>-<container>`), so it must be short and safe in file names.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { SourcePos } from "./types.ts";
import { byteLength, LAB_PATTERN, MAX_LAB, normalizeLabName } from "./names.ts";

/** Where a lab's name may come from, besides the file's `name:`. */
export interface LabNameSources {
  /** The topology file (errors about a name given outside it point at its first line). */
  file: string;
  /** `-p/--project-name`: wins over everything else. */
  project?: string;
  /** `COMPOSE_PROJECT_NAME` (environment or env file): wins over `name:`, as in Compose. */
  envProject?: string | null;
  /** Fallback lab name (the file's folder), already normalised; null when there is none. */
  folderName: string | null;
}

/** The lab's name: `-p`, else COMPOSE_PROJECT_NAME, else `name:`, else the folder's name. */
export function labName(
  opts: LabNameSources,
  nameKey: string | undefined,
  diags: Diagnostics,
  positions: Positions,
): string {
  const top: SourcePos = { file: opts.file, line: 1, col: 1 };
  let name: string;
  let pos: SourcePos;
  let from: string;
  if (opts.project !== undefined) {
    [name, pos, from] = [opts.project, top, "the project name (-p)"];
  } else if (opts.envProject) {
    [name, pos, from] = [opts.envProject, top, "COMPOSE_PROJECT_NAME"];
  } else if (nameKey !== undefined) {
    [name, pos, from] = [nameKey, positions.of(["name"]), "name"];
  } else if (opts.folderName !== null) {
    [name, pos, from] = [opts.folderName, top, "the folder name"];
  } else {
    diags.error(
      top,
      "the lab has no name",
      "set name: in the topology, or pass a name (-p NAME, or Lab.up(topology, { name }))",
    );
    return "lab";
  }
  if (name === "") {
    diags.error(pos, `${from} is empty`, "use a short name such as shop");
    return "lab";
  }
  if (!LAB_PATTERN.test(name)) {
    const fixed = normalizeLabName(name);
    diags.error(
      pos,
      `${from} "${name}" must contain only lowercase letters, digits, dashes and underscores ` +
        "and start with a letter or digit",
      fixed ? `use "${fixed}"` : "use a short name such as shop",
    );
    return "lab";
  }
  if (byteLength(name) > MAX_LAB) {
    diags.error(
      pos,
      `${from} "${name.slice(0, 40)}…" is ${byteLength(name)} bytes; lab names are at most ` +
        `${MAX_LAB} (the namespace <lab>-<container> must fit a file name of /run/netns)`,
      "use a shorter name" + (from === "the folder name" ? " with name: or -p" : ""),
    );
  }
  return name;
}
