/**
 * Impairments on real labs, measured from inside the namespaces with real clients (ping, iperf3)
 * and with `nslab check`: delay through the AF_PACKET relay, loss through iptables statistic, rate
 * through tbf, link down, partitions across hosts, and the fixture's undo when a test throws.
 * Each test also shows the measurement failing where it must (relay stopped, impairment cleared).
 */

import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/input.ts";
import { measureLoss, measureRate, measureRtt } from "../core/checks/measure.ts";
import type { Observed } from "../core/checks/types.ts";
import { run } from "./_support/run.ts";

const suffix = () => Math.random().toString(36).slice(2, 7);

/** Two containers on one bridge; `a`'s endpoint gets `impair` from the file. */
function pair(name: string, impair: Record<string, string | boolean> = {}): TopologyInput {
  return {
    name,
    networks: { lan: { ipam: { config: [{ subnet: "172.29.7.0/24" }] } } },
    containers: {
      a: { networks: { lan: { ipv4_address: "172.29.7.10", ...impair } } },
      b: { networks: { lan: { ipv4_address: "172.29.7.20" } } },
    },
  } as TopologyInput;
}

/** `iptables -t mangle -S` inside a namespace. */
const mangle = (ns: string) => run(["ip", "netns", "exec", ns, "iptables", "-t", "mangle", "-S"]);

function value(o: Observed): number {
  assert(o.kind === "measured", `not measured: ${JSON.stringify(o)}`);
  return o.value;
}

Deno.test("declared delay 50ms on an endpoint: RTT 100ms ± 10% (both directions), gone when cleared", async () => {
  await using lab = await Lab.up(pair(`imd${suffix()}`, { delay: "50ms" }), { uplink: false });
  const rtt = value(await measureRtt(`${lab.name}-a`, "172.29.7.20"));
  assert(rtt >= 90 && rtt <= 110, `a → b RTT ${rtt} ms, expected 100 ms ± 10%`);
  const back = value(await measureRtt(`${lab.name}-b`, "172.29.7.10"));
  assert(back >= 90 && back <= 110, `b → a RTT ${back} ms, expected 100 ms ± 10%`);
  // The relay carries the traffic: stopped, nothing gets through; cleared, the delay is gone.
  lab.supervisor.relays.closeAll();
  assertEquals((await measureRtt(`${lab.name}-a`, "172.29.7.20")).kind, "timeout");
  {
    await using _clear = await lab.impair("a", { delay: "0ms" });
    const fast = value(await measureRtt(`${lab.name}-a`, "172.29.7.20"));
    assert(fast < 10, `without delay the RTT is ${fast} ms`);
  }
  // Jitter spreads the round trips around 2 × delay (each direction ± 20 ms, uniform).
  await using _jitter = await lab.impair("a", { delay: "50ms", jitter: "20ms" });
  const ping = await run([
    "ip",
    "netns",
    "exec",
    `${lab.name}-a`,
    "ping",
    "-n",
    "-c",
    "30",
    "-i",
    "0.05",
    "172.29.7.20",
  ]);
  const times = [...ping.stdout.matchAll(/icmp_seq=(\d+) .*time=([\d.]+) ms/g)]
    .filter((m) => m[1] !== "1").map((m) => Number(m[2]));
  const spread = Math.max(...times) - Math.min(...times);
  assert(times.length >= 25 && spread > 10, `jitter 20ms: RTTs ${times.join(", ")}`);
  assert(Math.min(...times) >= 55 && Math.max(...times) <= 150, `RTTs ${times.join(", ")}`);
});

Deno.test("loss 10% on an endpoint: round-trip loss of 2,000 echoes inside the binomial 99% interval", async () => {
  await using lab = await Lab.up(pair(`iml${suffix()}`), { uplink: false });
  {
    await using _lossy = await lab.impair("a:lan", { loss: "10%" });
    const rules = await mangle(`${lab.name}-a`);
    assert(rules.stdout.includes("--probability 0.1"), rules.stdout);
    // Dropped on the way out and on the way in: an echo survives with (1 - 0.1)² = 0.81.
    const n = 2000;
    const p = 1 - 0.9 * 0.9;
    const sd = Math.sqrt(n * p * (1 - p));
    const [lo, hi] = [n * p - 2.576 * sd, n * p + 2.576 * sd];
    const lost = (value(await measureLoss(`${lab.name}-a`, "172.29.7.20", n)) / 100) * n;
    assert(
      lost >= lo && lost <= hi,
      `${lost} of ${n} lost, expected ${lo.toFixed(0)}–${hi.toFixed(0)}`,
    );
  }
  // Undone: nothing is lost, and the chains are gone.
  assertEquals(value(await measureLoss(`${lab.name}-a`, "172.29.7.20", 200)), 0);
  const after = await mangle(`${lab.name}-a`);
  assert(!after.stdout.includes("NSLAB-IMPAIR"), after.stdout);
});

Deno.test("rate 1mbit on an endpoint: iperf3 throughput within ±15% both ways, unlimited without it", async () => {
  await using lab = await Lab.up(pair(`imr${suffix()}`), { uplink: false });
  const [a, b] = [`${lab.name}-a`, `${lab.name}-b`];
  {
    await using _slow = await lab.impair("a", { rate: "1mbit" });
    const qdisc = await run(["tc", "-n", a, "qdisc", "show", "dev", "eth0"]);
    assert(qdisc.stdout.includes("tbf"), qdisc.stdout);
    const out = value(await measureRate(a, b, "172.29.7.20"));
    assert(out >= 850_000 && out <= 1_150_000, `a → b ${out} bit/s, expected 1 mbit ± 15%`);
    const inward = value(await measureRate(b, a, "172.29.7.10"));
    assert(
      inward >= 850_000 && inward <= 1_150_000,
      `b → a ${inward} bit/s, expected 1 mbit ± 15%`,
    );
  }
  const free = value(await measureRate(a, b, "172.29.7.20"));
  assert(free > 1_150_000, `without the limit only ${free} bit/s`);
});

/** Ids of failing rows of a check report. */
const failing = (r: Awaited<ReturnType<Lab["check"]>>) =>
  r.results.filter((x) => !x.pass).map((x) => x.expectation.id).sort();

Deno.test("link down: exactly the pairs through that link fail, judged intact or accounted for", async () => {
  await using lab = await Lab.up({
    name: `imk${suffix()}`,
    networks: { lan: {} },
    containers: { a: { networks: ["lan"] }, b: { networks: ["lan"] }, c: { networks: ["lan"] } },
  } as TopologyInput, { uplink: false });
  assertEquals(failing(await lab.check({ only: ["reach"] })), []);
  {
    await using _down = await lab.link("a", "lan").down();
    const link = await run(["ip", "-n", `${lab.name}-a`, "link", "show", "eth0"]);
    assert(
      link.stdout.includes("NO-CARRIER") || link.stdout.includes("LOWERLAYERDOWN"),
      link.stdout,
    );
    const intact = await lab.check({ only: ["reach"], expectIntact: true });
    const touching = intact.results.filter((x) =>
      x.expectation.source === "a" || x.expectation.containers.includes("a")
    ).map((x) => x.expectation.id).sort();
    assert(touching.length >= 4, `pairs of a: ${touching}`);
    assertEquals(failing(intact), touching);
    // Accounted for, the cut rows expect unreachable; nothing can prove a alive or reachable
    // (positive controls), so exactly they stay red, as inconclusive — no other row.
    const accounted = await lab.check({ only: ["reach"] });
    assertEquals(failing(accounted), touching);
    assert(
      accounted.notes.some((n) => n.includes("expect unreachable")),
      accounted.notes.join("\n"),
    );
  }
  assertEquals(failing(await lab.check({ only: ["reach"], expectIntact: true })), []);
});

const OVERLAY = (name: string): TopologyInput => ({
  name,
  hosts: { h1: {}, h2: {} },
  networks: { mesh: { driver: "overlay", ipam: { config: [{ subnet: "10.12.0.0/24" }] } } },
  containers: {
    a: { host: "h1", expose: [80], networks: ["mesh"] },
    c: { host: "h1", expose: [80], networks: ["mesh"] },
    b: { host: "h2", expose: [80], networks: ["mesh"] },
  },
} as TopologyInput);

Deno.test("partition h1 | h2: overlay pairs across hosts fail, pairs within a host pass; heal: all green", async () => {
  await using lab = await Lab.up(OVERLAY(`imp${suffix()}`), { uplink: false });
  assertEquals(failing(await lab.check()), []);
  {
    await using _cut = await lab.partition(["h1"], ["h2"]);
    const report = await lab.check({ expectIntact: true });
    const crossing = report.results.filter((r) => {
      const e = r.expectation;
      const hostOf = (n: string) => (n === "b" || n === "h2" ? "h2" : n === "outside" ? "" : "h1");
      const to = e.containers.find((n) => n !== e.source) ?? e.target.split(" ")[0];
      return e.kind === "reach" && hostOf(e.source) !== hostOf(to);
    }).map((r) => r.expectation.id).sort();
    assert(crossing.some((id) => id.includes("a->b")), `cross-host rows: ${crossing}`);
    assertEquals(failing(report), crossing);
    // The overlay itself is cut: VXLAN between the hosts' underlay addresses is dropped.
    const h2 = lab.model.hosts.find((h) => h.name === "h2")!.address;
    const ping = await run(["ip", "netns", "exec", `${lab.name}-h1`, "ping", "-c1", "-W1", h2]);
    assert(ping.code !== 0, "h1 still reaches h2 on the underlay");
    // Accounted for: rows within a host pass; a cut row passes only where positive controls can
    // prove both ends alive (no one in h2's group but b here), so red rows are all crossing ones.
    const accounted = failing(await lab.check());
    assert(accounted.every((id) => crossing.includes(id)), `not crossing: ${accounted}`);
  }
  assertEquals(failing(await lab.check({ expectIntact: true })), []);
  // A delayed host link (its cable to the underlay) delays the overlay between the hosts only.
  await using _wan = await lab.impair("h2", { delay: "30ms" });
  const b = lab.model.containers.find((c) => c.name === "b")!.endpoints[0].address!;
  const c = lab.model.containers.find((c) => c.name === "c")!.endpoints[0].address!;
  const across = value(await measureRtt(`${lab.name}-a`, b));
  assert(across >= 54 && across <= 66, `a → b over the overlay: ${across} ms, expected 60 ± 10%`);
  assert(value(await measureRtt(`${lab.name}-a`, c)) < 10, "a → c (same host) must not be delayed");
});

Deno.test("a test that throws inside await using still heals its partition", async () => {
  await using lab = await Lab.up(OVERLAY(`imf${suffix()}`), { uplink: false });
  const b = lab.model.containers.find((c) => c.name === "b")!.endpoints[0].address!;
  const pingB = () => run(["ip", "netns", "exec", `${lab.name}-a`, "ping", "-c1", "-W1", b]);
  await assert.rejects(async () => {
    await using _cut = await lab.partition(["a"], ["b"]);
    assert((await pingB()).code !== 0, "the partition does not cut a from b");
    throw new Error("the test body fails");
  }, /the test body fails/);
  assertEquals(lab.model.partitions ?? [], []);
  assertEquals((await pingB()).code, 0);
  const rules = await mangle(`${lab.name}-a`);
  assert(!rules.stdout.includes("DROP"), rules.stdout);
});
