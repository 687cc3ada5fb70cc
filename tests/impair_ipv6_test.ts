/**
 * Impairments on a dual-stack lab, measured with `ping -6` from inside the namespaces: a partition
 * cuts IPv6 between its groups (not only IPv4), and loss drops IPv6 packets, through the same
 * NSLAB-IMPAIR mangle chains in ip6tables. Each test also shows the cut disappearing when its
 * ip6tables rules are flushed, so the IPv6 side is what the assertions measure.
 */

import assert from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/input.ts";
import { run } from "./_support/run.ts";

const suffix = () => Math.random().toString(36).slice(2, 7);

/** a, b and c on one dual-stack bridge (subnets chosen by nslab: the lab's ULA /64). */
const DUAL = (name: string) => ({
  name,
  networks: { lan: { enable_ipv6: true } },
  containers: { a: { networks: ["lan"] }, b: { networks: ["lan"] }, c: { networks: ["lan"] } },
} as TopologyInput);

const inNs = (ns: string, argv: string[]) => run(["ip", "netns", "exec", ns, ...argv]);
/** `ip6tables -t mangle -S` inside a namespace. */
const mangle6 = async (ns: string) => (await inNs(ns, ["ip6tables", "-t", "mangle", "-S"])).stdout;

async function dualLab(prefix: string) {
  const lab = await Lab.up(DUAL(`${prefix}${suffix()}`), { uplink: false });
  const v6 = (name: string) =>
    lab.model.containers.find((c) => c.name === name)!.endpoints[0].ipv6!.address;
  /** Whether `from` gets an answer to `ping -6` from `to` (up to 2 echoes, one must return). */
  const ping6 = async (from: string, to: string) =>
    (await inNs(`${lab.name}-${from}`, ["ping", "-6", "-n", "-c", "2", "-W", "1", v6(to)]))
      .code === 0;
  return { lab, v6, ping6 };
}

Deno.test("partition a,c | b on a dual-stack network: ping -6 across fails, within passes; heal: passes", async () => {
  const { lab, v6, ping6 } = await dualLab("i6p");
  await using _lab = lab;
  assert(await ping6("a", "b"), "a → b over IPv6 before any partition");
  {
    await using _cut = await lab.partition(["a", "c"], ["b"]);
    assert(!(await ping6("a", "b")), "the partition leaves IPv6 flowing from a to b");
    assert(!(await ping6("b", "a")), "the partition leaves IPv6 flowing from b to a");
    assert(await ping6("a", "c"), "a → c (same group) must still pass over IPv6");
    const rules = await mangle6(`${lab.name}-a`);
    assert(rules.includes(`-A NSLAB-IMPAIR-OUT -d ${v6("b")}/128 -o eth0`), rules);
    assert(rules.includes("-A POSTROUTING -j NSLAB-IMPAIR-OUT"), rules);
    // The ip6tables rules are what cuts IPv6: flushed, a and b reach each other again.
    for (const ns of ["a", "b"]) {
      for (const chain of ["NSLAB-IMPAIR-IN", "NSLAB-IMPAIR-OUT"]) {
        await inNs(`${lab.name}-${ns}`, ["ip6tables", "-t", "mangle", "-F", chain]);
      }
    }
    assert(await ping6("a", "b"), "with the ip6tables rules flushed IPv6 passes");
  }
  assert(await ping6("a", "b"), "healed: a → b over IPv6");
  assert(await ping6("b", "a"), "healed: b → a over IPv6");
  const left = await mangle6(`${lab.name}-a`);
  assert(!left.includes("NSLAB-IMPAIR"), `heal leaves ip6tables chains behind:\n${left}`);
});

Deno.test("loss 100% on a dual-stack endpoint drops IPv6 too; cleared, ping -6 passes", async () => {
  const { lab, ping6 } = await dualLab("i6l");
  await using _lab = lab;
  {
    await using _lossy = await lab.impair("a:lan", { loss: "100%" });
    const rules = await mangle6(`${lab.name}-a`);
    assert(
      rules.includes("-A NSLAB-IMPAIR-IN -i eth0 -m statistic --mode random --probability 1"),
      rules,
    );
    assert(!(await ping6("a", "b")), "loss 100% on a:lan leaves IPv6 from a flowing");
    assert(!(await ping6("b", "a")), "loss 100% on a:lan leaves IPv6 to a flowing");
    assert(await ping6("b", "c"), "b → c is not impaired");
  }
  assert(await ping6("a", "b"), "loss cleared: a → b over IPv6");
  const left = await mangle6(`${lab.name}-a`);
  assert(!left.includes("NSLAB-IMPAIR"), `clearing leaves ip6tables chains behind:\n${left}`);
});
