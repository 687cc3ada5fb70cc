/**
 * `deno task test:doc`: runs the `@example` blocks of the public API (mod.ts and the modules its
 * symbols come from) as tests. Deno imports every export of a module into each of its examples;
 * with this project's `noUnusedLocals` that import alone fails type-checking, so the examples run
 * under a copy of deno.json with the unused-name options off (written beside it, removed after).
 * The Lab examples build real labs: run as root.
 *
 * @module
 */

/** Files whose JSDoc examples are the public API's documentation (mod.ts and its sources). */
export const DOC_FILES = [
  "mod.ts",
  "core/lab/fixture.ts",
  "core/lab/expect.ts",
  "core/checks/verdict.ts",
  "core/checks/ci_formats.ts",
  "core/checks/report.ts",
  "core/model/load.ts",
  "core/plan/plan.ts",
  "core/errors.ts",
  // Not in mod.ts, but pure and documented with examples: run those too.
  "core/lab/live_picture.ts",
  "core/model/attach_ops.ts",
];

const root = new URL("..", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
config.compilerOptions = { ...config.compilerOptions, noUnusedLocals: false };
const docConfig = `${root}.deno.doc.json`;
await Deno.writeTextFile(docConfig, JSON.stringify(config, null, 2));
try {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--doc", "--config", docConfig, ...DOC_FILES, ...Deno.args],
    cwd: root,
  }).spawn().status;
  Deno.exitCode = code;
} finally {
  await Deno.remove(docConfig);
}
