import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { nameFailingFamily } from "./families.ts";
import type { CheckResult, Expectation } from "./types.ts";

function row(id: string, pass: boolean, hint = pass ? "" : "no answer"): CheckResult {
  const expectation = { id } as Expectation;
  return { expectation, observed: { kind: "timeout" }, pass, hint };
}

Deno.test("a pair failing in one family only says which family fails", () => {
  const out = nameFailingFamily([
    row("reach:a->b@n:tcp/80", true),
    row("reach:a->b@n/ipv6:tcp/80", false),
    row("reach:b->a@n:icmp", false),
    row("reach:b->a@n/ipv6:icmp", true),
  ]);
  assertEquals(out.map((r) => r.hint), [
    "",
    "only IPv6 fails for this pair (IPv4 passes): an IPv6 route, address or ip6tables rule? " +
    "no answer",
    "only IPv4 fails for this pair (IPv6 passes): an IPv4 route, address or iptables rule? " +
    "no answer",
    "",
  ]);
});

Deno.test("both families failing, or a row without a twin, keep their hints", () => {
  const rows = [
    row("reach:a->b@n:tcp/80", false),
    row("reach:a->b@n/ipv6:tcp/80", false),
    row("reach:a->c@m:icmp", false),
  ];
  assertEquals(nameFailingFamily(rows).map((r) => r.hint), ["no answer", "no answer", "no answer"]);
});
