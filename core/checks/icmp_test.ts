import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { echoRequest, inetChecksum, parseIcmp, parseIcmp6, sendFailure } from "./icmp.ts";
import { classifyError, parseNetDev } from "./probes.ts";

/** An IPv4 header (no options) from `src` carrying `payload` as ICMP. */
function ipv4(src: number[], payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  b[0] = 0x45;
  b[9] = 1;
  b.set(src, 12);
  b.set(payload, 20);
  return b;
}

Deno.test("echo requests carry a checksum that verifies to zero", () => {
  const req = echoRequest(0x1234, 0xbeef);
  assertEquals([req[0], req[4], req[5], req[6], req[7]], [8, 0x12, 0x34, 0xbe, 0xef]);
  assertEquals(inetChecksum(req), 0);
});

Deno.test("parses echo replies into id, seq and sender", () => {
  const reply = echoRequest(7, 9);
  reply[0] = 0;
  assertEquals(parseIcmp(ipv4([10, 0, 0, 2], reply)), {
    kind: "reply",
    id: 7,
    seq: 9,
    from: "10.0.0.2",
  });
});

Deno.test("maps a destination unreachable back to the echo request it quotes", () => {
  const quoted = ipv4([10, 0, 0, 1], echoRequest(3, 4));
  const err = new Uint8Array(8 + quoted.length);
  err[0] = 3;
  err[1] = 1;
  err.set(quoted, 8);
  assertEquals(parseIcmp(ipv4([10, 0, 0, 254], err)), {
    kind: "error",
    id: 3,
    seq: 4,
    from: "10.0.0.254",
    detail: "host unreachable (ICMP) from 10.0.0.254",
  });
});

Deno.test("ignores echo requests, truncated and non-ICMP packets", () => {
  assertEquals(parseIcmp(ipv4([1, 2, 3, 4], echoRequest(1, 1))), null);
  assertEquals(parseIcmp(new Uint8Array(10)), null);
  const udp = ipv4([1, 2, 3, 4], new Uint8Array(8));
  udp[9] = 17;
  assertEquals(parseIcmp(udp), null);
});

Deno.test("send errors and socket errors become observations", () => {
  assertEquals(sendFailure(101), { kind: "unreachable", detail: "no route (ENETUNREACH)" });
  assertEquals(sendFailure(22).kind, "unreachable");
  assertEquals(classifyError(new Deno.errors.ConnectionRefused("x")), { kind: "refused" });
  assertEquals(classifyError(new Error("Network is unreachable (os error 101)")), {
    kind: "unreachable",
    detail: "no route (ENETUNREACH)",
  });
  assertEquals(classifyError(new Error("No route to host (os error 113)")).kind, "unreachable");
  assertEquals(classifyError(new Error("boom")), { kind: "error", message: "boom" });
});

Deno.test("reads interface names from /proc/net/dev text", () => {
  const text = "Inter-|   Receive\n face |bytes\n    lo: 0 0\n  eth0: 1 2\n";
  assertEquals(parseNetDev(text), ["eth0", "lo"]);
});

Deno.test("ICMPv6: an echo reply and an unreachable quoting our request are matched", () => {
  const req = echoRequest(0x1234, 0x0007, true);
  assertEquals([req[0], req[2], req[3]], [128, 0, 0]); // the kernel fills in the checksum
  const reply = req.slice();
  reply[0] = 129;
  assertEquals(parseIcmp6(reply, "fd00::3"), {
    kind: "reply",
    id: 0x1234,
    seq: 7,
    from: "fd00::3",
  });
  // Destination unreachable, code 1: 8 bytes, the invoking IPv6 header (next header 58), our echo.
  const err = new Uint8Array(8 + 40 + req.length);
  err[0] = 1;
  err[1] = 1;
  err[8] = 0x60;
  err[8 + 6] = 58;
  err.set(req, 48);
  assertEquals(parseIcmp6(err, "fd00::1"), {
    kind: "error",
    id: 0x1234,
    seq: 7,
    from: "fd00::1",
    detail: "administratively prohibited (ICMPv6, a REJECT rule) from fd00::1",
  });
  const ns = new Uint8Array(24);
  ns[0] = 135; // neighbour solicitation: not ours
  assertEquals(parseIcmp6(ns, "fe80::1"), null);
});
