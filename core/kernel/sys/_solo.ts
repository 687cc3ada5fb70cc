/**
 * Test support: runs a TypeScript snippet in a fresh, single-threaded Deno process and returns what
 * it prints. For tests that count the process's file descriptors: `deno test --parallel` runs other
 * test modules on other threads of the same process, opening and closing descriptors meanwhile.
 *
 * @module
 */

/** This repository's root as a file URL (ends with `/`), for the snippet's imports. */
export const ROOT = new URL("../../../", import.meta.url).href;

/** Runs `code` (TypeScript, top-level await allowed); its stdout, or throws with its stderr. */
export async function solo(code: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("deno.json", ROOT).pathname, code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (out.code !== 0) throw new Error(`snippet exited ${out.code}: ${text(out.stderr)}`);
  return text(out.stdout);
}
