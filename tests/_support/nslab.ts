/**
 * Test helper: the CLI as a user runs it (`deno run cli/main.ts …` from the repo root, no
 * colours), for integration tests that drive `up`, `check` and `down` through the real binary.
 *
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname;

/** The `nslab ARGS…` command, to spawn (e.g. to kill it mid-way). */
export function nslabCommand(args: string[], cwd = ROOT): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--config", `${ROOT}deno.json`, `${ROOT}cli/main.ts`, ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Runs `nslab ARGS…` to the end: exit code, stdout, stderr.
 *
 * @example
 * const r = await nslab(["check", "-p", "ck1", "--only", "isolation"]);
 */
export async function nslab(
  args: string[],
  cwd = ROOT,
): Promise<{ code: number; out: string; err: string }> {
  const o = await nslabCommand(args, cwd).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** true when `path` exists (a state file, a `/proc/PID` entry). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
