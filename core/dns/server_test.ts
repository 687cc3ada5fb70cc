import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import { buildRecords } from "./records.ts";
import { DnsServer } from "./server.ts";
import { shopModel } from "./_testmodel.ts";

// DnsServer.answer() without sockets: the packet-level behaviour, no root needed.

function q(name: string, type: string, opts: { cls?: string; edns?: boolean } = {}): Uint8Array {
  return new Uint8Array(dnsPacket.encode({
    type: "query",
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    // deno-lint-ignore no-explicit-any
    questions: [{ name, type: type as any, class: (opts.cls ?? "IN") as any }],
    additionals: opts.edns
      ? [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: [] }]
      : [],
  } as dnsPacket.Packet));
}

function ask(
  s: DnsServer,
  p: Uint8Array,
  requester = "web",
  transport: "udp" | "tcp" = "udp",
  // deno-lint-ignore no-explicit-any
): any {
  const out = s.answer(p, requester, transport);
  assert(out instanceof Uint8Array, "answered synchronously");
  return dnsPacket.decode(Buffer.from(out));
}

Deno.test("answers A authoritatively with the id and RD of the query", () => {
  const s = new DnsServer(buildRecords(shopModel()));
  const r = ask(s, q("proxy", "A"));
  assertEquals([r.id, r.flag_aa, r.flag_rd, r.flag_ra, r.rcode], [
    4242,
    true,
    true,
    true,
    "NOERROR",
  ]);
  assertEquals(r.answers.map((a: { data: string }) => a.data), ["172.20.0.30"]);
  assertEquals(s.stats.answered, 1);
});

Deno.test("rotates a service's addresses on every query", () => {
  const s = new DnsServer(buildRecords(shopModel()));
  const first = () => ask(s, q("api", "A")).answers[0].data;
  assertEquals([first(), first(), first()], ["172.20.0.11", "172.20.0.12", "172.20.0.11"]);
});

Deno.test("setTable changes the answers of the next query", () => {
  const s = new DnsServer(buildRecords(shopModel()));
  assertEquals(ask(s, q("proxy", "A")).answers.length, 1);
  const m = shopModel();
  m.containers = m.containers.filter((c) => c.name !== "proxy");
  s.setTable(buildRecords(m));
  assertEquals(ask(s, q("proxy", "A")).rcode, "NXDOMAIN");
});

Deno.test("classes other than IN are REFUSED", () => {
  const s = new DnsServer(buildRecords(shopModel()));
  assertEquals(ask(s, q("version.bind", "TXT", { cls: "CH" })).rcode, "REFUSED");
});

Deno.test("requesters without DNS are REFUSED", () => {
  const s = new DnsServer(buildRecords(shopModel()));
  assertEquals(ask(s, q("web", "A"), "sealed").rcode, "REFUSED");
});

Deno.test("a forwarded name without a forwarder is SERVFAIL", () => {
  const s = new DnsServer(buildRecords(shopModel({ upstream: ["10.99.0.53"] })));
  assertEquals(ask(s, q("example.org", "A")).rcode, "SERVFAIL");
});

Deno.test("truncation applies to UDP only", () => {
  const m = shopModel();
  const proxy = m.containers.find((c) => c.name === "proxy")!;
  for (let i = 1; i <= 60; i++) {
    m.containers.push({
      ...structuredClone(proxy),
      name: `many-${i}`,
      service: "many",
      endpoints: [{ ...proxy.endpoints[0], address: `172.20.0.${100 + i}` }],
    });
  }
  const s = new DnsServer(buildRecords(m));
  const udp = ask(s, q("many", "A"));
  assertEquals([udp.flag_tc, udp.answers.length], [true, 0]);
  assertEquals(s.stats.truncated, 1);
  assertEquals(ask(s, q("many", "A", { edns: true })).answers.length, 60);
  const tcp = ask(s, q("many", "A"), "web", "tcp");
  assertEquals([tcp.flag_tc, tcp.answers.length], [false, 60]);
});

Deno.test("runts and responses are dropped, garbage is FORMERR", () => {
  const s = new DnsServer(buildRecords(shopModel()));
  assertEquals(s.answer(new Uint8Array(5), "web", "udp"), null);
  const resp = q("web", "A");
  resp[2] |= 0x80;
  assertEquals(s.answer(resp, "web", "udp"), null);
  const bad = q("web", "A").subarray(0, 14);
  assertEquals(ask(s, bad).rcode, "FORMERR");
  assertEquals([s.stats.dropped, s.stats.formerr], [2, 1]);
});
