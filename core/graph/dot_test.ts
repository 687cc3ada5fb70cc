import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertSnapshot } from "../model/_snapshot.ts";
import { dotQuote, toDot } from "./dot.ts";
import { awkwardModel, requiredLabels, sampleModel } from "./_sample.ts";
import type { Model } from "../model/types.ts";

/** Every quoted string of a DOT text, unescaped, split into its lines. */
function dotLines(dot: string): string[] {
  return [...dot.matchAll(/"((?:[^"\\]|\\.)*)"/g)].flatMap((x) =>
    x[1].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c)).split("\n")
  );
}

function missing(m: Model, dot: string): string[] {
  const lines = dotLines(dot);
  return requiredLabels(m)
    .filter(({ text }) => !lines.some((l) => l === text || l.startsWith(`${text} (`)))
    .map(({ what, text }) => `${what}: ${text}`);
}

/** Braces outside quoted strings, in order. */
function braces(dot: string): string {
  return dot.replace(/"((?:[^"\\]|\\.)*)"/g, "").replace(/[^{}]/g, "");
}

Deno.test("DOT shows every host, network, container and published port", () => {
  for (const m of [sampleModel(), awkwardModel()]) assertEquals(missing(m, toDot(m)), []);
});

Deno.test("the DOT label check notices a missing port", () => {
  const m = sampleModel();
  assertEquals(missing(m, toDot(m).replace("10.77.0.11:8080→80/tcp", "")), [
    "port of web: 10.77.0.11:8080→80/tcp",
  ]);
});

Deno.test("DOT braces balance and every node id is quoted", () => {
  const dot = toDot(awkwardModel());
  let depth = 0;
  for (const b of braces(dot)) {
    depth += b === "{" ? 1 : -1;
    assert(depth >= 0);
  }
  assertEquals(depth, 0);
  for (const l of dot.split("\n")) {
    const edge = l.match(/^\s*(\S+) -- (\S+)/);
    if (edge) assert(edge[1].startsWith('"') && edge[2].startsWith('"'), l);
    const node = l.match(/^\s+("[^\s]*") \[label=/);
    if (l.includes("[label=") && !edge) assert(node, l);
  }
});

Deno.test("dotQuote escapes quotes, backslashes and newlines", () => {
  assertEquals(dotQuote('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
});

Deno.test("DOT draws hosts as clusters and the overlay tunnel between them", () => {
  const dot = toDot(sampleModel());
  assert(dot.includes('subgraph "cluster_h1" {'));
  assert(dot.includes('subgraph "cluster_h2" {'));
  assert(
    dot.includes(
      '"h1/net/mesh" -- "h2/net/mesh" [label="VXLAN VNI 4096 · UDP 4789\\n10.77.0.11 ↔ 10.77.0.12"',
    ),
  );
  assert(dot.includes('"h1/net/lan" -- "h1/eth0" [label="eth0.50"'));
  assert(dot.includes('"h1/ctr/sidecar" -- "h1/ctr/web"'));
});

Deno.test("DOT output matches the committed golden file", () => {
  assertSnapshot(new URL("testdata/sample.dot", import.meta.url), toDot(sampleModel()));
});

const hasDot = (() => {
  try {
    return new Deno.Command("dot", { args: ["-V"], stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "Graphviz accepts the DOT text and rejects a broken one",
  fn: async () => {
    // Never skipped: CI installs graphviz (scripts/setup.sh), and a skipped test cannot fail.
    assert(hasDot, "Graphviz's dot is missing: run scripts/setup.sh (it installs graphviz)");
    const run = async (text: string) => {
      const p = new Deno.Command("dot", {
        args: ["-Tsvg"],
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      })
        .spawn();
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode(text));
      await w.close();
      const out = await p.output();
      return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
    };
    const good = await run(toDot(awkwardModel()));
    assert(good.ok && !good.err.includes("syntax"), good.err);
    assert(!(await run(toDot(sampleModel()).replace(/}\s*$/, ""))).ok);
    assert(!(await run(toDot(sampleModel()).replace(" -- ", " -> "))).ok);
  },
});
