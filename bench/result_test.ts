import assert from "node:assert/strict";
import { formatMissing, formatTable, formatTargets, median, row, withRatios } from "./result.ts";
import { judge } from "./judge.ts";
import { formatValue, renderChart } from "./chart.ts";
import { parseArgs } from "./main.ts";

const cases = [{ id: "up", title: "Up", reference: "batch", target: "≤ 1.0× batch" }];

Deno.test("median takes the middle sample (upper middle for an even count) and refuses none", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 3);
  assert.throws(() => median([]), RangeError);
});

Deno.test("ratios divide by the case's reference subject; no reference gives null", () => {
  const rows = withRatios(
    [
      row("up", "nslab", [100, 300, 200], "ms"),
      row("up", "batch", [400], "ms"),
      row("x", "a", [1], "ms"),
    ],
    cases,
  );
  assert.equal(rows[0].value, 200);
  assert.equal(rows[0].ratio, 0.5);
  assert.equal(rows[1].ratio, 1);
  assert.equal(rows[2].ratio, null);
});

Deno.test("the table shows median, ratio, runs and the verdict, and escapes pipes in notes", () => {
  const rows = withRatios([
    row("up", "nslab", [200], "ms", { note: "a|b" }),
    row("up", "batch", [400], "ms"),
  ], cases);
  rows[0].verdict = "met";
  const t = formatTable(rows, cases);
  assert.match(
    t,
    /\| \*\*Up\*\* \| nslab \| 200 ms \| 0\.50× \| 1 \| a\\\|b; target ≤ 1\.0× batch: \*\*met\*\* \|/,
  );
  assert.ok(t.includes("|  | batch | 400 ms | 1.00× | 1 |  |"));
});

Deno.test("missing baselines are listed with the reason, or a sentence says every one ran", () => {
  assert.equal(formatMissing([]), "Every baseline ran.");
  assert.equal(
    formatMissing([{ case: "dns", subject: "Docker", why: "no engine" }]),
    "- dns / Docker: no engine",
  );
});

Deno.test("chart values are readable: ms, seconds above 10 s, qps with separators, MB", () => {
  assert.equal(formatValue(523.4, "ms"), "523 ms");
  assert.equal(formatValue(12_345, "ms"), "12.3 s");
  assert.equal(formatValue(65000.4, "queries/s"), "65,000 qps");
  assert.equal(formatValue(117.6, "MB"), "118 MB");
});

Deno.test("the chart has a panel per measured case, a bar per row, the target line, and escapes text", () => {
  const rows = withRatios(
    [row("up", "nslab <lib>", [200], "ms"), row("up", "batch", [400], "ms")],
    cases,
  );
  const svg = renderChart(rows, [...cases.map((c) => ({ ...c, targetValue: 300 })), {
    id: "none",
    title: "Empty",
  }], "m & d");
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/class="t"/g) ?? []).length, 1);
  assert.match(svg, /nslab &lt;lib&gt;/);
  assert.match(svg, /m &amp; d/);
  assert.match(svg, /stroke-dasharray="5,3"/);
  assert.ok(!svg.includes("Empty"));
});

Deno.test("arguments: defaults write a full run; --quick and --only write only with --write", () => {
  assert.deepEqual(parseArgs([]), { runs: 3, quick: false, only: [], write: true });
  assert.deepEqual(parseArgs(["--quick"]), { runs: 1, quick: true, only: [], write: false });
  assert.deepEqual(parseArgs(["--only", "dns,kernel", "--runs", "5"]), {
    runs: 5,
    quick: false,
    only: ["dns", "kernel"],
    write: false,
  });
  assert.throws(() => parseArgs(["--only", "nope"]), /unknown case "nope"/);
  assert.throws(() => parseArgs(["--runs", "0"]), /whole number/);
  assert.throws(() => parseArgs(["--fast"]), /unknown argument/);
});

Deno.test("the judge marks each goal's row met or missed and lists the targets with figures", () => {
  const cs = [
    { id: "up100", title: "Up 100", reference: "ip -batch script", target: "CLI ≤ 1.0× ip -batch" },
    { id: "dns", title: "DNS", reference: "Docker embedded DNS", target: "≥ 2.0× Docker" },
    { id: "checks", title: "Reach", target: "first run ≤ 1 s" },
  ];
  const { rows, targets } = judge(
    withRatios([
      row("up100", "nslab up + down (CLI)", [480], "ms"),
      row("up100", "ip -batch script", [400], "ms"),
      row("dns", "nslab embedded DNS", [90_000], "queries/s", {
        parts: { "p99 ms at 20k qps": 0.2 },
      }),
      row("dns", "Docker embedded DNS", [30_000], "queries/s"),
      row("checks", "nslab check: reach matrix, warm (library, 100)", [500], "ms", {
        parts: { "probes/s": 20_000 },
      }),
      row("checks", "Mininet pingall (100 hosts)", [10_000], "ms", { parts: { probes: 9_900 } }),
    ], cs),
    cs,
  );
  assert.equal(rows[0].verdict, "missed");
  assert.equal(rows[2].verdict, "met");
  assert.equal(rows[1].verdict, undefined);
  const table = formatTargets(targets);
  assert.ok(
    table.includes(
      "| Up 100 | CLI ≤ 1.0× ip -batch | nslab up + down (CLI): 480 ms (1.20×) | **missed** |",
    ),
  );
  assert.ok(
    table.includes(
      "| DNS at 127.0.0.11 | p99 ≤ 0.3 ms (at 20k queries/s) | p99 0.20 ms | **met** |",
    ),
  );
  assert.match(
    table,
    /Probe throughput \(100 containers\) .* 20,000 probes\/s \(20\.2× Mininet's 990\) \| \*\*met\*\*/,
  );
});
