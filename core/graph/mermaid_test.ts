import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertSnapshot } from "../model/_snapshot.ts";
import { mermaidText, toMermaid } from "./mermaid.ts";
import { awkwardModel, requiredLabels, sampleModel } from "./_sample.ts";
import type { Model } from "../model/types.ts";

const decode = (s: string) =>
  s.replaceAll("#quot;", '"').replaceAll("#lt;", "<").replaceAll("#gt;", ">").replaceAll(
    "#35;",
    "#",
  );

/** The label lines of a Mermaid text (quoted strings split at `<br/>`), decoded. */
function mermaidLines(text: string): string[] {
  text = text.slice(text.indexOf("flowchart TB")); // the front matter is YAML, not labels
  return [...text.matchAll(/"([^"]*)"/g)].flatMap((x) => x[1].split("<br/>").map(decode));
}

function missing(m: Model, text: string): string[] {
  const lines = mermaidLines(text);
  return requiredLabels(m)
    .filter(({ text }) => !lines.some((l) => l === text || l.startsWith(`${text} (`)))
    .map(({ what, text }) => `${what}: ${text}`);
}

Deno.test("Mermaid shows every host, network, container and published port", () => {
  for (const m of [sampleModel(), awkwardModel()]) assertEquals(missing(m, toMermaid(m)), []);
});

Deno.test("the Mermaid label check notices a missing host", () => {
  const m = sampleModel();
  assertEquals(missing(m, toMermaid(m).replace('["h2<br/>', '["x<br/>')), ["host h2: h2"]);
});

Deno.test("Mermaid node ids are generated; names only appear escaped inside quotes", () => {
  const text = toMermaid(awkwardModel());
  const body = text.split("\n").slice(4); // after the title front matter
  for (const l of body) {
    const outside = l.replace(/"[^"]*"/g, '""');
    assert(!/[<>&\\]/.test(outside.replace(/\[\/|\\\]/g, "")), `unquoted special in: ${l}`);
    assertEquals((l.match(/"/g) ?? []).length % 2, 0, `odd quotes in: ${l}`);
  }
  const ids = [...text.matchAll(/^\s+(n\d+)[[(]/gm)].map((x) => x[1]);
  assertEquals(new Set(ids).size, ids.length);
  assert(mermaidLines(text).includes('we"b'));
  assert(mermaidLines(text).includes("end"));
});

Deno.test("Mermaid subgraphs open and close in pairs, one per host", () => {
  const lines = toMermaid(sampleModel()).split("\n").map((l) => l.trim());
  assertEquals(lines.filter((l) => l.startsWith("subgraph ")).length, 2);
  assertEquals(lines.filter((l) => l === "end").length, 2);
  assertEquals(lines[3], "flowchart TB");
});

Deno.test("Mermaid edges carry addresses and the VXLAN tunnel", () => {
  const text = toMermaid(sampleModel());
  assert(text.includes(`---|"eth0 172.20.0.10"|`));
  assert(text.includes(`-.-|"VXLAN VNI 4096 · UDP 4789<br/>10.77.0.11 ↔ 10.77.0.12"|`));
});

Deno.test("mermaidText escapes quotes, angle brackets and hashes", () => {
  assertEquals(mermaidText('a"<b>#\nc'), "a#quot;#lt;b#gt;#35;<br/>c");
});

Deno.test("Mermaid output matches the committed golden file", () => {
  assertSnapshot(new URL("testdata/sample.mmd", import.meta.url), toMermaid(sampleModel()));
});
