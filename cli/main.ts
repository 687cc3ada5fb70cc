/**
 * The `nslab` command line: the entry point, and the only place that calls `Deno.exit`. Exit
 * codes: 0 success, 1 checks failed or runtime failure, 2 usage or topology errors.
 *
 * The verbs and their options live in cli/program.ts, parsed by commander: an npm package, whose
 * loading (Deno's npm resolver, then the package) costs each call ~25 ms on this project's VM.
 * `down -p NAME`, the form scripts and the bench run after each `up`, is recognised here and
 * runs without it; every other command line goes through the full parser.
 *
 * @module
 */

/** The options of a `down` recognised without the full parser. */
export interface QuickDown {
  projectName: string;
  timings: boolean;
}

/**
 * `down -p NAME` / `down --project-name NAME` / `--project-name=NAME`, optionally with
 * `--timings`, in any order; null for anything else (help, `--all`, `-f`, an unknown option, a
 * repeated one), which the full parser then handles, errors included.
 */
export function quickDown(args: readonly string[]): QuickDown | null {
  if (args[0] !== "down") return null;
  let projectName: string | null = null;
  let timings = false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === "--timings" && !timings) timings = true;
    else if (
      (a === "-p" || a === "--project-name") && projectName === null && i + 1 < args.length
    ) {
      projectName = args[++i];
    } else if (a.startsWith("--project-name=") && projectName === null) {
      projectName = a.slice("--project-name=".length);
    } else return null;
  }
  if (projectName === null || projectName.startsWith("-")) return null;
  return { projectName, timings };
}

/** Runs the command line `args`; resolves to the exit code. */
async function run(args: string[]): Promise<number> {
  const quick = quickDown(args);
  if (!quick) return (await import("./program.ts")).runProgram(args);
  try {
    return await (await import("./commands/down.ts")).downCommand(quick);
  } catch (e) {
    return (await import("./program.ts")).report(e);
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
