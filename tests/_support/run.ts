/**
 * Test helper: run a real client (args array, never through a shell) and collect its exit code
 * and output. Shared by the integration tests and namespace test kits so each one does not carry
 * its own copy of the `Deno.Command` plumbing.
 *
 * @module
 */

/** Exit code and decoded output of a finished command. */
export interface RunResult {
  /** Exit code (non-zero when the command failed). */
  code: number;
  /** Decoded standard output. */
  stdout: string;
  /** Decoded standard error. */
  stderr: string;
  /** `stdout + stderr`, for assertions that only care what the command said. */
  out: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Text written to the command's stdin (stdin is closed, `null`, when absent). */
  stdin?: string;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Working directory of the command. */
  cwd?: string;
}

/**
 * Runs `cmd[0]` with arguments `cmd.slice(1)` (no shell) and waits for it to exit.
 * Never throws on a non-zero exit: callers assert on `code`.
 *
 * @example
 * const r = await run(["ip", "netns", "exec", ns, "ping", "-c1", "10.0.0.2"]);
 */
export async function run(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const o = await child.output();
  const dec = new TextDecoder();
  const stdout = dec.decode(o.stdout);
  const stderr = dec.decode(o.stderr);
  return { code: o.code, stdout, stderr, out: stdout + stderr };
}
