/**
 * The layout is a rule, not a wish: no import cycle between files, and imports only point down
 * the pipeline — model < plan < kernel < {dns, runtime, checks, graph} < lab < cli, where dns
 * sits below runtime (the supervisor serves DNS) — see docs/architecture.md. Only shipped code
 * counts: everything in core/ and cli/ that is not a test, and the `_` files it imports (test
 * kits may reach into tests/). Reads the source files; needs no root.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));

/** Layer of each folder; files outside these (core/errors.ts, core/poll.ts) are shared by all. */
const LAYERS: [prefix: string, layer: number, name: string][] = [
  ["core/model/", 0, "model"],
  ["core/plan/", 1, "plan"],
  ["core/kernel/", 2, "kernel"],
  ["core/dns/", 3, "dns"],
  ["core/runtime/", 4, "runtime"],
  ["core/checks/", 4, "checks"],
  ["core/graph/", 4, "graph"],
  ["core/lab/", 5, "lab"],
  ["cli/", 6, "cli"],
  ["mod.ts", 6, "mod"],
];
/** Shared by every layer; they import nothing from the layers. */
const SHARED = new Set(["core/errors.ts", "core/poll.ts"]);

function layerOf(file: string): { layer: number; name: string } | null {
  for (const [prefix, layer, name] of LAYERS) if (file.startsWith(prefix)) return { layer, name };
  return null;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const path = dir === "" ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory && !e.name.startsWith(".") && e.name !== "testdata") {
      out.push(...sourceFiles(path));
    } else if (e.isFile && e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']+\.(?:ts|json))\1/g;

/** Relative imports of a file (static, `export … from`, dynamic), as repository paths. */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file))
    .replace(/\/\*[\s\S]*?\*\//g, "") // doc comments show imports in their examples
    .replace(/^\s*\/\/.*$/gm, "");
  const out = new Set<string>();
  for (const m of text.matchAll(SPECIFIER)) {
    out.add(relative(ROOT, normalize(join(ROOT, dirname(file), m[2]))));
  }
  return [...out];
}

/** Shipped code, with what it imports: non-`_` non-test files and the files they reach. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  const todo = [...sourceFiles("core"), ...sourceFiles("cli"), "mod.ts"].filter((f) =>
    !f.endsWith("_test.ts") && !f.split("/").pop()!.startsWith("_")
  );
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (g.has(f)) continue;
    const targets = importsOf(f).filter((t) => t.endsWith(".ts"));
    g.set(f, targets);
    todo.push(...targets);
  }
  return g;
}

/** Strongly connected components with more than one file (or a file importing itself). */
function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      on.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** Imports that point up the pipeline, or sideways between two folders of the same layer. */
function layerBreaks(g: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of g) {
    const a = layerOf(from);
    for (const to of targets) {
      if (SHARED.has(to)) continue;
      const b = layerOf(to);
      if (SHARED.has(from) || a === null || b === null) {
        out.push(`${from} → ${to} (outside the layers)`);
      } else if (b.layer > a.layer || (b.layer === a.layer && a.name !== b.name)) {
        out.push(`${from} (${a.name}) → ${to} (${b.name})`);
      }
    }
  }
  return out.sort();
}

Deno.test("no import cycle between files", () => {
  const g = graph();
  assert(g.size > 100 && g.get("core/kernel/apply.ts")!.includes("core/kernel/sections.ts"));
  assertEquals(cycles(g), []);
});

Deno.test("imports point down: model < plan < kernel < dns < {runtime, checks, graph} < lab < cli", () => {
  assertEquals(layerBreaks(graph()), []);
});

Deno.test("the checks can fail: a cycle and an upward import are found", () => {
  const g = new Map([
    ["core/plan/a.ts", ["core/kernel/b.ts"]],
    ["core/kernel/b.ts", ["core/plan/a.ts"]],
    ["core/model/c.ts", ["core/model/c.ts"]],
  ]);
  assertEquals(cycles(g), [["core/kernel/b.ts", "core/plan/a.ts"], ["core/model/c.ts"]]);
  assertEquals(layerBreaks(g), ["core/plan/a.ts (plan) → core/kernel/b.ts (kernel)"]);
});
