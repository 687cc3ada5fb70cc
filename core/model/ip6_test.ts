import { deepStrictEqual, equal } from "node:assert/strict";
import {
  type Cidr6,
  containsCidr6,
  formatCidr6,
  formatIp6,
  lastOf6,
  overlaps6,
  parseCidr6,
  parseIp6,
} from "./ip6.ts";

function cidrOf(text: string): Cidr6 {
  const r = parseCidr6(text);
  if (!r.ok) throw new Error(`${text}: ${r.reason}`);
  return r.cidr;
}

Deno.test("parses every text form of an address to the same number", () => {
  const one = 0xfd000000000000000000000000000001n;
  equal(parseIp6("fd00::1"), one);
  equal(parseIp6("FD00:0:0:0:0:0:0:1"), one);
  equal(parseIp6("fd00:0000::0001"), one);
  equal(parseIp6("::"), 0n);
  equal(parseIp6("::ffff:10.0.0.1"), 0xffff0a000001n);
});

Deno.test("refuses what is not an IPv6 address", () => {
  for (
    const bad of [
      "",
      "fd00",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      "g::1",
      "12345::",
      "::1.2.3.256",
      "10.0.0.1",
    ]
  ) {
    equal(parseIp6(bad), null, bad);
  }
});

Deno.test("writes the canonical text of RFC 5952", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group stays
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of equal runs
    ["0:0:0:0:0:0:0:0", "::"],
    ["fd00:0:0:0:0:0:0:0", "fd00::"],
    ["0:0:0:0:0:0:0:1", "::1"],
  ];
  for (const [text, canonical] of cases) equal(formatIp6(parseIp6(text)!), canonical, text);
});

Deno.test("a prefix with host bits set is refused with its normalised form", () => {
  deepStrictEqual(parseCidr6("fd00:1::5/64"), {
    ok: false,
    reason: "hostbits",
    normalized: "fd00:1::/64",
  });
  deepStrictEqual(parseCidr6("fd00::/129"), { ok: false, reason: "syntax" });
  deepStrictEqual(parseCidr6("fd00::"), { ok: false, reason: "syntax" });
  equal(formatCidr6(cidrOf("FD00:0001:0::/48")), "fd00:1::/48");
});

Deno.test("containment and overlap follow the prefix lengths", () => {
  const c = cidrOf;
  equal(formatIp6(lastOf6(c("fd00::/64"))), "fd00::ffff:ffff:ffff:ffff");
  equal(containsCidr6(c("fd00::/48"), c("fd00:0:0:5::/64")), true);
  equal(containsCidr6(c("fd00:0:0:5::/64"), c("fd00::/48")), false);
  equal(overlaps6(c("fd00::/48"), c("fd00:0:0:5::/64")), true);
  equal(overlaps6(c("fd00::/64"), c("fd00:0:0:1::/64")), false);
});
