import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseUpstream } from "./forward.ts";

Deno.test("parses an upstream address with the default port 53", () => {
  assertEquals(parseUpstream("10.0.0.53"), { hostname: "10.0.0.53", port: 53 });
  assertEquals(parseUpstream(" 10.0.0.53 "), { hostname: "10.0.0.53", port: 53 });
});

Deno.test("parses an upstream address with a port", () => {
  assertEquals(parseUpstream("10.0.0.53:5353"), { hostname: "10.0.0.53", port: 5353 });
});

Deno.test("rejects what is not an IPv4 address and port", () => {
  for (
    const bad of ["", "dns.example", "10.0.0", "10.0.0.256", "10.0.0.1:0", "10.0.0.1:70000", "::1"]
  ) {
    assertEquals(parseUpstream(bad), null, bad);
  }
});

Deno.test("never forwards to the embedded server itself", () => {
  assertEquals(parseUpstream("127.0.0.11"), null);
  assertEquals(parseUpstream("127.0.0.11:53"), null);
  assertEquals(parseUpstream("127.0.0.11:5353"), { hostname: "127.0.0.11", port: 5353 });
});
