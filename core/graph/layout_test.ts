import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertSnapshot } from "../model/_snapshot.ts";
import { layout } from "./layout.ts";
import { type LineShape, type Scene, textBounds, type TextShape, textWidth } from "./scene.ts";
import { layoutVariants, sampleModel } from "./_sample.ts";

type Box = { x: number; y: number; w: number; h: number };

const intersects = (a: Box, b: Box, slack = 0.5) =>
  a.x + slack < b.x + b.w && b.x + slack < a.x + a.w && a.y + slack < b.y + b.h &&
  b.y + slack < a.y + a.h;

const texts = (s: Scene) => s.shapes.filter((x): x is TextShape => x.kind === "text");

/** Pairs of texts whose estimated boxes overlap. */
function overlappingTexts(s: Scene): string[] {
  const t = texts(s);
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    for (let j = i + 1; j < t.length; j++) {
      if (intersects(textBounds(t[i]), textBounds(t[j]))) {
        out.push(`"${t[i].text}" × "${t[j].text}"`);
      }
    }
  }
  return out;
}

/** Texts crossed by a line: any line for left-aligned text, horizontal lines for centred labels. */
function crossedTexts(s: Scene): string[] {
  const lines = s.shapes.filter((x): x is LineShape => x.kind === "line");
  const out: string[] = [];
  for (const t of texts(s)) {
    const b = textBounds(t);
    for (const l of lines) {
      if (t.anchor === "middle" && l.x1 === l.x2) continue; // labels centred on their own wire
      const lb = {
        x: Math.min(l.x1, l.x2) - (l.y1 === l.y2 ? 0 : l.width / 2),
        y: Math.min(l.y1, l.y2) - (l.x1 === l.x2 ? 0 : l.width / 2),
        w: Math.abs(l.x2 - l.x1) + (l.y1 === l.y2 ? 0 : l.width),
        h: Math.abs(l.y2 - l.y1) + (l.x1 === l.x2 ? 0 : l.width),
      };
      if (intersects(b, lb)) out.push(`"${t.text}" crossed by a ${l.stroke} line`);
    }
  }
  return out;
}

for (const { name, model } of layoutVariants()) {
  Deno.test(`no two texts overlap (${name})`, () => {
    assertEquals(overlappingTexts(layout(model)), []);
  });
  Deno.test(`no line runs through a text (${name})`, () => {
    assertEquals(crossedTexts(layout(model)), []);
  });
  Deno.test(`every text lies inside the canvas (${name})`, () => {
    const s = layout(model);
    for (const t of texts(s)) {
      const b = textBounds(t);
      assert(
        b.x >= 0 && b.y >= 0 && b.x + b.w <= s.width && b.y + b.h <= s.height,
        `"${t.text}" is outside`,
      );
    }
  });
}

Deno.test("the overlap check catches two texts drawn on top of each other", () => {
  const s = layout(sampleModel());
  const victim = texts(s).find((t) => t.text === "web")!;
  s.shapes.push({ ...victim, text: "intruder", x: victim.x + 3 });
  assertEquals(overlappingTexts(s).length, 1);
});

Deno.test("the crossing check catches a label written over a network segment", () => {
  const s = layout(sampleModel());
  const seg = s.shapes.find((x): x is LineShape =>
    x.kind === "line" && x.stroke === "#2563eb" && x.width === 5
  )!;
  s.shapes.push({
    ...texts(s)[0],
    text: "on the line",
    x: seg.x1 + 20,
    y: seg.y1 + 4,
    anchor: "start",
  });
  assert(crossedTexts(s).some((c) => c.startsWith('"on the line"')));
});

Deno.test("port tags and address pills fit inside their boxes", () => {
  const s = layout(sampleModel());
  const rects = s.shapes.filter((x) => x.kind === "rect");
  for (const t of texts(s).filter((t) => t.text.includes("→") || /^eth\d /.test(t.text))) {
    const b = textBounds(t);
    assert(
      rects.some((r) =>
        r.x <= b.x && r.y <= b.y && r.x + r.w >= b.x + b.w && r.y + r.h >= b.y + b.h
      ),
      `"${t.text}" sticks out of its tag`,
    );
  }
});

Deno.test("each container is a box that holds its name", () => {
  const m = sampleModel();
  const s = layout(m);
  for (const c of m.containers) {
    const t = texts(s).find((x) => x.text === c.name && x.bold)!;
    assert(t, `no bold label for ${c.name}`);
    const b = textBounds(t);
    assert(
      s.shapes.some((r) =>
        r.kind === "rect" && r.x < b.x && r.y < b.y && r.x + r.w > b.x + b.w &&
        r.y + r.h > b.y + b.h && r.w < 400
      ),
      `${c.name} has no box`,
    );
  }
});

Deno.test("every attachment has a dot on its segment, and crossing without attaching has none", () => {
  const m = sampleModel();
  const s = layout(m);
  const dots = s.shapes.filter((x) => x.kind === "circle");
  const endpoints = m.containers.reduce((a, c) => a + c.endpoints.length, 0);
  // one dot per endpoint, one per host eth0 on the underlay, one for the uplink
  assertEquals(dots.length - 1, endpoints + m.hosts.length + 1); // legend sample dot
});

Deno.test("overlay rows line up across hosts and a tunnel joins them", () => {
  const s = layout(sampleModel());
  const mesh = texts(s).filter((t) => t.text === "mesh");
  assertEquals(mesh.length, 2);
  assertEquals(mesh[0].y, mesh[1].y);
  const tunnel = texts(s).find((t) => t.text === "VXLAN VNI 4096 · UDP 4789")!;
  assert(tunnel && texts(s).some((t) => t.text === "10.77.0.11 ↔ 10.77.0.12"));
  assert(Math.abs(tunnel.y - mesh[0].y) < 20);
});

Deno.test("a wider name widens its column instead of spilling into the next", () => {
  const m = sampleModel();
  const before = layout(m).width;
  m.containers[0].name = "a-very-long-container-name-that-needs-room";
  const s = layout(m);
  assert(s.width > before);
  assertEquals(overlappingTexts(s), []);
});

Deno.test("text width estimate is 0.61 em per character", () => {
  assertEquals(textWidth("abcd", 10), 24.4);
  assertEquals(textWidth("→", 10), 6.1);
});

Deno.test("layout matches the committed golden file", () => {
  const actual = JSON.stringify(layout(sampleModel()), null, 1) + "\n";
  assertSnapshot(new URL("testdata/sample.layout.json", import.meta.url), actual);
});
