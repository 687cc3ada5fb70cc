/**
 * Pieces every verb's definition shares: the options that address a lab (`-f`, `-p`, …), a
 * repeatable option, and the "Examples:" block of a verb's help.
 *
 * @module
 */

import type { Command } from "commander";

/** Receives each verb's promise of an exit code (program.ts waits for it; main.ts exits). */
export type RunVerb = (p: Promise<number> | number) => void;

/** The "Examples:" block after a verb's help, one `$ command` per line. */
export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
}

/** Commander's way to let an option repeat: each value is appended to the list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the options that say which lab a verb is about: `-f`, `-p`, `--env-file`, `--profile`. */
export function labOptions(cmd: Command): Command {
  return cmd
    .option(
      "-f, --file <file>",
      "topology file (default: nslab.yaml, compose.yaml, … in this folder)",
    )
    .option("-p, --project-name <name>", "lab name (overrides the file's name:)")
    .option(
      "--env-file <file>",
      "variables for ${…} in the file, repeatable (default: .env beside the file)",
      collect,
    )
    .option("--profile <name>", "enable services of this Compose profile, repeatable", collect);
}
