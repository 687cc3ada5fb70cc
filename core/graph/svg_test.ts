import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertSnapshot } from "../model/_snapshot.ts";
import { toSvg, xmlEscape } from "./svg.ts";
import { awkwardModel, requiredLabels, sampleModel } from "./_sample.ts";
import type { Model } from "../model/types.ts";

const unescape = (s: string) =>
  s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll(
    "&#39;",
    "'",
  )
    .replaceAll("&amp;", "&");

/** The text lines of an SVG, as a viewer shows them. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((x) => unescape(x[1]));
}

/** Labels of the model that the SVG does not show as a line (or a line's first word). */
function missing(m: Model, svg: string): string[] {
  const lines = svgTexts(svg);
  return requiredLabels(m)
    .filter(({ text }) => !lines.some((l) => l === text || l.startsWith(`${text} (`)))
    .map(({ what, text }) => `${what}: ${text}`);
}

Deno.test("the SVG shows every host, network, container and published port", () => {
  for (const m of [sampleModel(), awkwardModel()]) assertEquals(missing(m, toSvg(m)), []);
});

Deno.test("the label check notices a container left out of the picture", () => {
  const m = sampleModel();
  const svg = toSvg(m).replace(/<text[^>]*>db<\/text>/, "");
  assertEquals(missing(m, svg), ["container db: db"]);
});

Deno.test("the SVG is self-contained: no external fonts, styles, images or scripts", () => {
  const svg = toSvg(sampleModel());
  for (const bad of ["<style", "@import", "url(", "href", "<script", "<image", "<foreignObject"]) {
    assert(!svg.includes(bad), `found ${bad}`);
  }
  assert(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
});

Deno.test("the SVG is well-formed: tags balance and every name is escaped", () => {
  const svg = toSvg(awkwardModel());
  assert(!/&(?!(amp|lt|gt|quot|#39);)/.test(svg), "raw & in output");
  const stack: string[] = [];
  for (const [tag, close, name, selfClose] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (selfClose) continue;
    if (close) assertEquals(stack.pop(), name, `unbalanced ${tag}`);
    else stack.push(name);
  }
  assertEquals(stack, []);
  assert(svgTexts(svg).includes('we"b'));
  assert(svgTexts(svg).includes("a\\b<c>&d"));
});

Deno.test("xmlEscape escapes the five XML specials", () => {
  assertEquals(
    xmlEscape(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});

Deno.test("the SVG matches the committed golden file", () => {
  assertSnapshot(new URL("testdata/sample.svg", import.meta.url), toSvg(sampleModel()));
});

const rsvg = (() => {
  try {
    return new Deno.Command("rsvg-convert", { args: ["--version"], stdout: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "a real SVG renderer (rsvg-convert) accepts the SVG and rejects a broken one",
  fn: async () => {
    // Never skipped: CI installs librsvg2-bin (scripts/setup.sh), and a skipped test cannot fail.
    assert(rsvg, "rsvg-convert is missing: run scripts/setup.sh (it installs librsvg2-bin)");
    const render = async (svg: string) => {
      const p = new Deno.Command("rsvg-convert", {
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode(svg));
      await w.close();
      const out = await p.output();
      return out.success && out.stdout.length > 0;
    };
    const svg = toSvg(awkwardModel());
    assert(await render(svg));
    assert(!(await render(svg.replace("</svg>", ""))));
  },
});
