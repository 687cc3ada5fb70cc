/**
 * The library fixture as users run it: the example file passes in parallel with a copy of
 * itself, and a test that throws inside `await using` still leaves nothing behind.
 */

import assert, { deepEqual } from "node:assert/strict";
import { Lab } from "../mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function namespaces(): string[] {
  const out = new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.split(" ")[0]).filter(
    Boolean,
  );
}

Deno.test("two copies of the fixture example pass at the same time", async () => {
  const copy = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--allow-all",
        "--config",
        `${ROOT}deno.json`,
        `${ROOT}examples/fixture_test.ts`,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const runs = await Promise.all([copy(), copy()]);
  for (const r of runs) {
    const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, out);
    assert.match(out, /ok \| 2 passed \| 0 failed/);
  }
  deepEqual(namespaces().filter((n) => n.startsWith("ex")), []);
});

Deno.test("a test that throws mid-lab still tears everything down", async () => {
  const lab = `fx${crypto.randomUUID().slice(0, 6)}`;
  let seen: string[] = [];
  await assert.rejects(async () => {
    await using l = await Lab.up({
      name: "fx",
      networks: { net: {} },
      containers: { a: { networks: ["net"], expose: [80] }, b: { networks: ["net"] } },
    }, { name: lab, uplink: false });
    seen = namespaces().filter((n) => n.startsWith(`${lab}-`));
    assert.equal((await l.exec("a", ["true"])).code, 0);
    throw new Error("the test failed here");
  }, /the test failed here/);
  assert(seen.length >= 3, `the lab was up: ${seen}`);
  deepEqual(namespaces().filter((n) => n.startsWith(`${lab}-`)), []);
  await assert.rejects(() => Deno.stat(`/run/nslab/${lab}`));
});
