import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { formatJson, formatJunit, formatTable, reportPassed, xmlEscape } from "./report.ts";
import { judge } from "./judge.ts";
import { exp, report } from "./_report_sample.ts";

Deno.test("table: failures first, a hint per failure, summary alone on the last line", () => {
  const lines = formatTable(report(), { color: false }).split("\n");
  assert(lines[0].includes("SOURCE") && lines[0].includes("HINT"));
  assert(lines[1].startsWith("FAIL") && lines[2].startsWith("FAIL"), lines.join("\n"));
  assert(lines[3].startsWith("PASS"));
  assert(lines.some((l) => l.includes("DNAT rule missing?")));
  assert(lines.some((l) => l.includes("note: something was not checked")));
  assert(lines.some((l) => l.startsWith("3 probes in 12 ms")));
  assertEquals(lines.at(-1), "1 passed, 2 failed");
});

Deno.test("table: colour only when asked", () => {
  assert(!formatTable(report(), { color: false }).includes("\x1b["));
  const colored = formatTable(report(), { color: true });
  assert(colored.includes("\x1b[31mFAIL\x1b[0m") && colored.includes("\x1b[32mPASS\x1b[0m"));
  assertEquals(colored.split("\n").at(-1), "1 passed, 2 failed");
});

Deno.test("json: the whole report with passed and failed counts", () => {
  const j = JSON.parse(formatJson(report()));
  assertEquals([j.passed, j.failed, j.probes, j.lab], [1, 2, 3, "shop"]);
  assertEquals(j.results[1].observed, { kind: "timeout" });
  assertEquals(j.results[1].expectation.id, "reach:web->db");
});

Deno.test("junit: well-formed XML with one failure element per failed check", async () => {
  const xml = formatJunit(report());
  assert(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>`));
  assertEquals((xml.match(/<failure /g) ?? []).length, 2);
  assert(xml.includes(`tests="3" failures="2"`));
  assert(xml.includes("db &lt;&amp;&gt; &quot;x&quot;"));
  // An independent XML parser must accept it.
  const py = new Deno.Command("python3", {
    args: [
      "-c",
      "import sys,xml.dom.minidom as m; d=m.parseString(sys.stdin.read()); print(len(d.getElementsByTagName('testcase')))",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = py.stdin.getWriter();
  await w.write(new TextEncoder().encode(xml));
  await w.close();
  const out = await py.output();
  assertEquals(new TextDecoder().decode(out.stderr), "");
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "3");
});

Deno.test("xmlEscape escapes markup and drops control characters XML forbids", () => {
  assertEquals(xmlEscape(`a<b>&'"\x01c`), "a&lt;b&gt;&amp;&apos;&quot;c");
});

Deno.test("judge: isolation passes on silence, fails on any answer including a reset", () => {
  const iso = exp("isolation:x->y", { kind: "isolation", expect: { kind: "unreachable" } });
  assert(judge(iso, { kind: "timeout" }).pass);
  assert(judge(iso, { kind: "unreachable", detail: "no route" }).pass);
  assert(!judge(iso, { kind: "refused" }).pass);
  assert(!judge(iso, { kind: "answered", by: "y" }).pass);
  assert(!judge(iso, { kind: "error", message: "no such namespace" }).pass);
});

Deno.test("judge: answeredBy fails when another container answers, naming it", () => {
  const v = judge(exp("r"), { kind: "answered", by: "db" });
  assert(!v.pass && v.hint.includes(`"db"`));
});

Deno.test("judge: dns addresses are compared as sets; nxdomain leaks are called out", () => {
  const a = exp("d", {
    kind: "dns",
    probe: { kind: "dns", netns: "n", name: "api", type: "A" },
    expect: { kind: "addresses", addresses: ["10.0.0.2", "10.0.0.3"] },
  });
  assert(judge(a, { kind: "dns", rcode: "NOERROR", answers: ["10.0.0.3", "10.0.0.2"] }).pass);
  assert(!judge(a, { kind: "dns", rcode: "NOERROR", answers: ["10.0.0.3"] }).pass);
  assert(judge(a, { kind: "timeout" }).hint.includes("DNS listener down?"));
  const nx = { ...a, expect: { kind: "nxdomain" as const } };
  assert(judge(nx, { kind: "dns", rcode: "NXDOMAIN", answers: [] }).pass);
  assert(
    judge(nx, { kind: "dns", rcode: "NOERROR", answers: ["10.0.0.9"] }).hint.includes("leaks"),
  );
});

Deno.test("judge: interfaces exact vs at least", () => {
  const exact = exp("i", {
    kind: "iface",
    probe: { kind: "iface", netns: "n" },
    expect: { kind: "interfaces", names: ["lo"], exact: true },
  });
  assert(judge(exact, { kind: "interfaces", names: ["lo"] }).pass);
  assertEquals(judge(exact, { kind: "interfaces", names: ["eth0", "lo"] }).hint, "unexpected eth0");
  const atLeast = {
    ...exact,
    expect: { kind: "interfaces" as const, names: ["eth0"], exact: false },
  };
  assert(judge(atLeast, { kind: "interfaces", names: ["docker0", "eth0", "lo"] }).pass);
  assertEquals(judge(atLeast, { kind: "interfaces", names: ["lo"] }).hint, "missing eth0");
});

Deno.test("table: a failing run leads with its causes; inconclusive rows say so; an empty run checked nothing", () => {
  const r = report();
  r.causes = ["neighbour table overflow: arp_cache refused 12 new entries during this run"];
  r.results[0] = { ...r.results[0], pass: false, inconclusive: true, hint: "inconclusive: …" };
  const lines = formatTable(r, { color: false }).split("\n");
  assert(lines[0].startsWith("cause: neighbour table overflow"), lines.join("\n"));
  assert(lines.some((l) => l.startsWith("INCONCLUSIVE")), lines.join("\n"));
  assert(/\(1 inconclusive\)$/.test(lines.at(-1)!), lines.at(-1));
  assert(formatJunit(r).includes("cause: neighbour table overflow"));
  const empty = { ...report(), results: [] };
  assertEquals(formatTable(empty, { color: false }).split("\n").at(-1), "nothing was checked");
  assertEquals(reportPassed(empty), false);
});
