import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { TopologyError, UsageError } from "../errors.ts";
import { loadTopology } from "./load.ts";
import { formatImpair, parseDuration, parsePercent, parseRate, readImpair } from "./impair.ts";
import { resolveLink, withImpair, withoutPartition, withPartition } from "./impair_edit.ts";
import { parseRange } from "./measure.ts";

const load = (text: string) => loadTopology({ file: "t.yaml", text }, { reserved: [] }).model;

function errors(text: string): string[] {
  try {
    load(text);
  } catch (e) {
    if (e instanceof TopologyError) {
      return e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`);
    }
    throw e;
  }
  return [];
}

Deno.test("impairment units: durations, percentages and tc rates", () => {
  equal(parseDuration("50ms"), 50);
  equal(parseDuration("1.5s"), 1500);
  equal(parseDuration("250us"), 0.25);
  equal(parseDuration("20"), 20);
  equal(parseDuration("fast"), null);
  equal(parsePercent("2%"), 2);
  equal(parsePercent("0.5"), 0.5);
  equal(parseRate("1mbit"), 1e6);
  equal(parseRate("500kbit"), 5e5);
  equal(parseRate("125kbps"), 1e6);
  equal(parseRate("1 mbps"), 8e6);
  equal(parseRate("fast"), null);
});

Deno.test("readImpair normalises, drops zeros and names every problem", () => {
  deepStrictEqual(
    readImpair({ delay: "50ms", jitter: "5ms", loss: "2%", rate: "1mbit", down: true }).spec,
    { delayMs: 50, jitterMs: 5, lossPct: 2, rateBit: 1e6, down: true },
  );
  equal(formatImpair(readImpair({ delay: "0ms", loss: "0%" }).spec), "");
  const bad = readImpair({ delay: "soon", jitter: "9ms", loss: "120%", rate: "1kbit" }).problems;
  deepStrictEqual(bad.map((p) => p.key), ["delay", "jitter", "loss", "rate"]);
});

Deno.test("declared impairments land on every replica's endpoint and on the host link", () => {
  const m = load(`name: t
hosts: { h1: { delay: 20ms, loss: 1% }, h2: {} }
networks: { lan: {} }
containers:
  api:
    host: h1
    deploy: { replicas: 2 }
    networks: { lan: { delay: 30ms, rate: 1mbit } }
  web: { host: h1, networks: [lan] }
`);
  deepStrictEqual(m.hosts.map((h) => h.impair), [{ delayMs: 20, lossPct: 1 }, undefined]);
  for (const name of ["api-1", "api-2"]) {
    const c = m.containers.find((x) => x.name === name)!;
    deepStrictEqual(c.endpoints[0].impair, { delayMs: 30, rateBit: 1e6 });
  }
  equal(m.containers.find((c) => c.name === "web")!.endpoints[0].impair, undefined);
});

Deno.test("bad impairment values are located errors with a fix, macvlan endpoints refused", () => {
  deepStrictEqual(
    errors(`name: t
networks: { lan: {} }
containers:
  web:
    networks:
      lan: { delay: soon, loss: 200% }
`),
    [
      '6:21: delay "soon" is not a duration up to 60s',
      '6:33: loss "200%" is not a percentage between 0% and 100%',
    ],
  );
  const mv = errors(`name: t
networks: { mv: { driver: macvlan } }
containers:
  web: { networks: { mv: { delay: 5ms } } }
`);
  equal(mv.length, 1);
  ok(mv[0].startsWith('4:26: impairments on "web"\'s macvlan endpoint'), mv[0]);
});

Deno.test("resolveLink: container, container:network, host; ambiguity and unknowns are usage errors", () => {
  const m = load(`name: t
hosts: { h1: {} }
networks: { a: {}, b: {} }
containers:
  web: { networks: [a, b] }
  db: { networks: [a] }
  api: { deploy: { replicas: 2 }, networks: [a] }
`);
  equal(resolveLink(m, "db").name, "db:a");
  equal(resolveLink(m, "web:b").name, "web:b");
  equal(resolveLink(m, "h1").kind, "host");
  throws(
    () => resolveLink(m, "web"),
    (e) => e instanceof UsageError && /name one: web:a, web:b/.test(e.message),
  );
  throws(() => resolveLink(m, "api"), /2 replicas; name one: api-1, api-2/);
  throws(() => resolveLink(m, "nope"), /not a container or host/);
  const slow = withImpair(m, "db", { delayMs: 5 });
  deepStrictEqual(slow.containers.find((c) => c.name === "db")!.endpoints[0].impair, {
    delayMs: 5,
  });
  equal(
    m.containers.find((c) => c.name === "db")!.endpoints[0].impair,
    undefined,
    "input untouched",
  );
  equal(
    withImpair(slow, "db", {}).containers.find((c) => c.name === "db")!.endpoints[0].impair,
    undefined,
  );
});

Deno.test("partitions: numbered, validated (two groups, known names, one group each), healed", () => {
  const m = load(`name: t
hosts: { h1: {}, h2: {} }
networks: { a: {} }
containers:
  web: { host: h1, networks: [a] }
  db: { host: h2, networks: [a] }
`);
  const one = withPartition(m, [["h1"], ["h2"]]);
  equal(one.id, 1);
  const two = withPartition(one.model, [["web"], ["db"]]);
  equal(two.id, 2);
  deepStrictEqual(withoutPartition(two.model, 1).partitions, [{
    id: 2,
    groups: [["web"], ["db"]],
  }]);
  equal(withoutPartition(two.model).partitions, undefined);
  throws(() => withPartition(m, [["h1"]]), /at least two non-empty groups/);
  throws(
    () => withPartition(m, [["h1"], ["nope"]]),
    /"nope" is not a container, service, network or host/,
  );
  throws(
    () => withPartition(m, [["h1"], ["web"]]),
    /web:a is in group 1 \(h1\) and in group 2 \(web\)/,
  );
});

Deno.test("measured ranges: comparisons and tolerances (relative for rtt/rate, points for loss)", () => {
  deepStrictEqual(parseRange("rtt", ">= 50ms"), { min: 50, max: Infinity });
  deepStrictEqual(parseRange("rtt", "100ms ± 10%"), { min: 90, max: 110 });
  deepStrictEqual(parseRange("loss", "2% ± 1%"), { min: 1, max: 3 });
  deepStrictEqual(parseRange("rate", "<= 1mbit"), { min: 0, max: 1e6 });
  deepStrictEqual(parseRange("rate", "1mbit +- 15%"), { min: 850000, max: 1150000 });
  equal(parseRange("rtt", "about 50ms"), null);
});

Deno.test("measured checks are read from checks: and their errors are located", () => {
  const m = load(`name: t
networks: { a: {} }
containers: { web: { networks: [a] }, db: { networks: [a] } }
checks:
  - { from: web, to: db, expect: { rtt: ">= 50ms", loss: "2% ± 1%" } }
  - { from: web, to: "db:80", expect: open }
`);
  deepStrictEqual(m.measures?.map((x) => [x.metric, x.min, x.max]), [["rtt", 50, Infinity], [
    "loss",
    1,
    3,
  ]]);
  equal(m.checks.length, 1);
  deepStrictEqual(
    errors(`name: t
networks: { a: {} }
containers: { web: { networks: [a] } }
checks:
  - { from: web, to: web, expect: { rtt: "soon" } }
  - { from: nobody, to: web, expect: { rate: "<= 1mbit" } }
`),
    [
      '5:42: rtt: "soon" is not a range',
      '6:13: a measured check needs from: a container or host, not "nobody"',
    ],
  );
});

Deno.test("Compose: impairments under an attachment's x-nslab and hosts under the top x-nslab", () => {
  const m = loadTopology({
    file: "compose.yaml",
    text: `name: t
x-nslab: { hosts: { h1: { delay: 20ms } } }
services:
  web:
    image: nginx
    networks:
      lan: { x-nslab: { delay: 30ms, loss: 1% } }
networks: { lan: {} }
`,
  }, { reserved: [] }).model;
  deepStrictEqual(m.hosts[0].impair, { delayMs: 20 });
  deepStrictEqual(m.containers[0].endpoints[0].impair, { delayMs: 30, lossPct: 1 });
  deepStrictEqual(
    errors(`name: t
services:
  web: { networks: { lan: { x-nslab: { delai: 30ms } } } }
networks: { lan: {} }
`),
    ['3:40: unknown key "delai" in x-nslab of network lan of service web'],
  );
});
