import { deepEqual } from "node:assert/strict";
import { buildProgram } from "../program.ts";
import { completionScript } from "./completion.ts";

/** Runs the generated completion function in a real bash for the given words. */
async function complete(words: string[]): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/t.bash`;
    const body = completionScript(buildProgram(() => {}), "bash") + [
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
      `COMP_CWORD=${words.length - 1}`,
      "_nslab",
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    await Deno.writeTextFile(script, body);
    const out = await new Deno.Command("bash", { args: [script], cwd: dir, stdout: "piped" })
      .output();
    return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).sort();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("bash completion offers the verbs that match what was typed", async () => {
  deepEqual(await complete(["nslab", "ch"]), ["check"]);
  deepEqual(await complete(["nslab", "d"]), ["demo", "doctor", "down"]);
});

Deno.test("bash completion offers a verb's own options", async () => {
  deepEqual(await complete(["nslab", "check", "--fo"]), ["--format"]);
  deepEqual(await complete(["nslab", "up", "--no"]), ["--no-uplink"]);
});
