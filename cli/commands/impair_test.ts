import { deepStrictEqual, ok } from "node:assert/strict";
import { formatLinkTable, parseGroups } from "./impair.ts";

Deno.test("partition groups: each word a group, commas inside one", () => {
  deepStrictEqual(parseGroups(["h1", "web, db", "api,"]), [["h1"], ["web", "db"], ["api"]]);
});

Deno.test("link ls table: one row per link, dashes for nothing, partitions below", () => {
  const text = formatLinkTable([
    {
      name: "web:lan",
      kind: "endpoint",
      device: "t-web/eth0",
      state: "up",
      impair: "delay 50ms",
      mechanisms: ["relay rl01234567"],
    },
    { name: "h1", kind: "host", device: "t-h1/eth0", state: "up", impair: "", mechanisms: [] },
  ], ["1: h1 | h2"]);
  const lines = text.split("\n");
  ok(lines[1].startsWith("web:lan") && lines[1].endsWith("relay rl01234567"), lines[1]);
  ok(/^h1\s+host\s+t-h1\/eth0\s+up\s+-\s+-$/.test(lines[2]), lines[2]);
  deepStrictEqual(lines.at(-1), "partitions: 1: h1 | h2");
});
