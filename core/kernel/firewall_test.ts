import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { culprit, failedLine, restoreArgs } from "./firewall.ts";

const rules = [
  "# header",
  "*nat",
  ":DOCKER - [0:0]",
  "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
  "COMMIT",
  "*filter",
  ":DOCKER-USER - [0:0]",
  "-A FORWARD -j DOCKER-USER",
  "-A FORWARD -j NOPE",
  "COMMIT",
  "",
].join("\n");

Deno.test("reads the line number from both iptables-restore message styles", () => {
  assertEquals(failedLine("iptables-restore: line 15 failed: No chain/target/match"), 15);
  assertEquals(
    failedLine("iptables-restore v1.8.9 (nf_tables): x\nError occurred at line: 5\n"),
    5,
  );
  assertEquals(failedLine("iptables-restore: unable to initialize table 'nat'"), null);
});

Deno.test("points at the rejected rule and its table", () => {
  assertEquals(culprit(rules, "Error occurred at line: 4"), {
    line: 4,
    text: "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    table: "nat",
  });
});

Deno.test("points at the rule naming a missing chain when the kernel refused the COMMIT", () => {
  assertEquals(culprit(rules, "Chain 'NOPE' does not exist\nError occurred at line: 10"), {
    line: 9,
    text: "-A FORWARD -j NOPE",
    table: "filter",
  });
});

Deno.test("keeps the COMMIT line when nothing in the table explains the failure", () => {
  assertEquals(culprit(rules, "Error occurred at line: 10"), {
    line: 10,
    text: "COMMIT",
    table: "filter",
  });
});

Deno.test("gives no culprit for a line number outside the ruleset or no line at all", () => {
  assertEquals(culprit(rules, "line 99 failed"), null);
  assertEquals(culprit(rules, "Killed"), null);
});

Deno.test("enters the pinned namespace with nsenter and never flushes", () => {
  assertEquals(restoreArgs("shop-h1"), [
    "nsenter",
    "--net=/run/netns/shop-h1",
    "iptables-restore",
    "--noflush",
    "-w",
  ]);
});

Deno.test("the IPv6 ruleset goes to ip6tables-restore, the same way", () => {
  assertEquals(restoreArgs("shop-h1", "ipv6"), [
    "nsenter",
    "--net=/run/netns/shop-h1",
    "ip6tables-restore",
    "--noflush",
    "-w",
  ]);
});

Deno.test("refuses namespace names that would escape /run/netns", () => {
  let threw = false;
  try {
    restoreArgs("../etc");
  } catch {
    threw = true;
  }
  assertEquals(threw, true);
});
