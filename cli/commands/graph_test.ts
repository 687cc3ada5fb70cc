import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { graphCommand, type GraphFormat } from "./graph.ts";
import { sampleModel } from "../../core/graph/_sample.ts";
import { toDot } from "../../core/graph/dot.ts";
import { toMermaid } from "../../core/graph/mermaid.ts";
import { toSvg } from "../../core/graph/svg.ts";
import { UsageError } from "../../core/errors.ts";

Deno.test("graph prints the format asked for", () => {
  const m = sampleModel();
  assertEquals(graphCommand(m, "mermaid"), toMermaid(m));
  assertEquals(graphCommand(m, "dot"), toDot(m));
  assertEquals(graphCommand(m, "svg"), toSvg(m));
  assert(graphCommand(m, "svg").startsWith("<svg"));
});

Deno.test("graph refuses an unknown format with a usage error naming the valid ones", () => {
  throws(
    () => graphCommand(sampleModel(), "png" as GraphFormat),
    (e) => e instanceof UsageError && e.message.includes("mermaid, dot, svg"),
  );
});
