import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import type { Answer } from "./records.ts";
import {
  CLASSIC_UDP_PAYLOAD,
  encodeError,
  encodeRcode,
  encodeResponse,
  MAX_UDP_PAYLOAD,
  parseQuery,
  type Query,
  RCODE,
  udpLimit,
  withId,
} from "./wire.ts";

// dns-packet is an independent codec: it builds the queries and checks the responses.
function query(
  name: string,
  type: string,
  opts: { id?: number; rd?: boolean; edns?: number; ednsVersion?: number } = {},
): Uint8Array {
  const additionals = opts.edns === undefined ? [] : [{
    type: "OPT",
    name: ".",
    udpPayloadSize: opts.edns,
    flags: 0,
    options: [],
  }];
  const buf = dnsPacket.encode({
    type: "query",
    id: opts.id ?? 0x1234,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: "IN" }],
    // deno-lint-ignore no-explicit-any
    additionals: additionals as any,
  });
  const out = new Uint8Array(buf);
  if (opts.ednsVersion !== undefined) out[out.length - 5] = opts.ednsVersion; // OPT: name, type, class, ext-rcode, VERSION, flags, rdlen
  return out;
}

function parsed(p: Uint8Array): Query {
  const r = parseQuery(p);
  if (r.kind !== "query") throw new Error(`expected a query, got ${JSON.stringify(r)}`);
  return r.query;
}

// deno-lint-ignore no-explicit-any
function decode(p: Uint8Array): any {
  return dnsPacket.decode(Buffer.from(p));
}

const a = (name: string, address: string): Answer => ({ type: "A", name, ttl: 600, address });

Deno.test("parses a query: id, RD, lower-cased name, type, class", () => {
  const q = parsed(query("Api.Example.", "AAAA", { id: 77 }));
  assertEquals(q.id, 77);
  assertEquals(q.rd, true);
  assertEquals(q.qname, "api.example");
  assertEquals(q.qtype, 28);
  assertEquals(q.qclass, 1);
  assertEquals(q.edns, null);
  assertEquals(parsed(query("web", "A", { rd: false })).rd, false);
});

Deno.test("parses EDNS: payload size, version", () => {
  const q = parsed(query("web", "A", { edns: 1232 }));
  assertEquals(q.edns, { udpSize: 1232, version: 0, dnssecOk: false });
  assertEquals(udpLimit(q), 1232);
  assertEquals(udpLimit(parsed(query("web", "A"))), CLASSIC_UDP_PAYLOAD);
  assertEquals(udpLimit(parsed(query("web", "A", { edns: 100 }))), CLASSIC_UDP_PAYLOAD);
  assertEquals(udpLimit(parsed(query("web", "A", { edns: 65000 }))), MAX_UDP_PAYLOAD);
  assertEquals(parsed(query("web", "A", { edns: 1232, ednsVersion: 1 })).edns?.version, 1);
});

Deno.test("the root name parses as an empty name", () => {
  assertEquals(parsed(query(".", "NS")).qname, "");
});

Deno.test("odd bytes in labels are escaped so they never match a lab name", () => {
  const p = query("abc.de", "A");
  p[13] = 0x2e; // "a" → "."
  assertEquals(parsed(p).qname, "\\046bc.de");
  p[13] = 0x00;
  assertEquals(parsed(p).qname, "\\000bc.de");
});

Deno.test("drops packets shorter than a header and responses", () => {
  assertEquals(parseQuery(new Uint8Array(11)).kind, "drop");
  const resp = query("web", "A");
  resp[2] |= 0x80;
  assertEquals(parseQuery(resp).kind, "drop");
});

Deno.test("unknown opcodes are NOTIMP", () => {
  const p = query("web", "A");
  p[2] = (p[2] & 0x87) | (2 << 3); // STATUS
  const r = parseQuery(p);
  assert(r.kind === "error");
  assertEquals(r.rcode, RCODE.NOTIMP);
  const resp = decode(encodeError(r));
  assertEquals(resp.id, 0x1234);
  assertEquals(resp.rcode, "NOTIMP");
  assertEquals(resp.opcode, "STATUS");
  assertEquals(resp.type, "response");
});

Deno.test("malformed queries are FORMERR", () => {
  const cases: [string, (p: Uint8Array) => Uint8Array][] = [
    ["zero questions", (p) => (p[5] = 0, p)],
    ["two questions", (p) => (p[5] = 2, p)],
    ["an answer record", (p) => (p[7] = 1, p)],
    ["label longer than 63", (p) => (p[12] = 64, p)],
    ["label past the end", (p) => (p[12] = 50, p)],
    ["compression pointer in the question", (p) => (p[12] = 0xc0, p[13] = 12, p)],
    ["missing type and class", (p) => p.subarray(0, p.length - 3)],
    ["additional record count without records", (p) => (p[11] = 1, p)],
  ];
  for (const [what, mutate] of cases) {
    const r = parseQuery(mutate(query("web.lab", "A")));
    assert(r.kind === "error", what);
    assertEquals(r.rcode, RCODE.FORMERR, what);
  }
  // Name longer than 255 bytes.
  const long = new Uint8Array(12 + 5 * 64 + 5);
  long[5] = 1;
  for (let i = 0; i < 5; i++) long[12 + i * 64] = 63;
  const r = parseQuery(long);
  assert(r.kind === "error" && r.rcode === RCODE.FORMERR);
});

Deno.test("two OPT records are FORMERR", () => {
  const p = query("web", "A", { edns: 1232 });
  const opt = p.subarray(p.length - 11);
  const twice = new Uint8Array(p.length + 11);
  twice.set(p);
  twice.set(opt, p.length);
  twice[11] = 2;
  const r = parseQuery(twice);
  assert(r.kind === "error" && r.rcode === RCODE.FORMERR);
});

Deno.test("encodes an authoritative A response that echoes the question", () => {
  const p = query("API", "A", { id: 9 });
  const q = parsed(p);
  const resp = decode(
    encodeResponse(q, p, RCODE.NOERROR, [a("api", "172.20.0.11"), a("api", "172.20.0.12")]),
  );
  assertEquals(resp.id, 9);
  assertEquals(resp.type, "response");
  assertEquals(resp.flag_aa, true);
  assertEquals(resp.flag_rd, true);
  assertEquals(resp.flag_ra, true);
  assertEquals(resp.flag_tc, false);
  assertEquals(resp.rcode, "NOERROR");
  assertEquals(resp.questions, [{ name: "API", type: "A", class: "IN" }]);
  assertEquals(
    resp.answers.map((x: { name: string; data: string; ttl: number }) => [x.name, x.data, x.ttl]),
    [
      ["API", "172.20.0.11", 600],
      ["API", "172.20.0.12", 600],
    ],
  );
});

Deno.test("encodes PTR and SRV with glue", () => {
  const p = query("10.0.20.172.in-addr.arpa", "PTR");
  const ptr = decode(
    encodeResponse(parsed(p), p, 0, [{
      type: "PTR",
      name: "10.0.20.172.in-addr.arpa",
      ttl: 600,
      target: "web",
    }]),
  );
  assertEquals(ptr.answers[0].data, "web");
  const s = query("_rest._tcp.api", "SRV");
  const srv = decode(encodeResponse(
    parsed(s),
    s,
    0,
    [
      {
        type: "SRV",
        name: "_rest._tcp.api",
        ttl: 600,
        srv: { priority: 0, weight: 0, port: 8000, target: "api-1" },
      },
      {
        type: "SRV",
        name: "_rest._tcp.api",
        ttl: 600,
        srv: { priority: 0, weight: 0, port: 8000, target: "api-2" },
      },
    ],
    [a("api-1", "172.20.0.11"), a("api-2", "172.20.0.12"), a("other", "1.2.3.4")],
  ));
  assertEquals(srv.answers.map((x: { data: unknown }) => x.data), [
    { priority: 0, weight: 0, port: 8000, target: "api-1" },
    { priority: 0, weight: 0, port: 8000, target: "api-2" },
  ]);
  assertEquals(
    srv.additionals.map((x: { name: string; data: string }) => `${x.name}=${x.data}`),
    ["api-1=172.20.0.11", "api-2=172.20.0.12", "other=1.2.3.4"],
  );
});

Deno.test("answers an EDNS query with an OPT record", () => {
  const p = query("web", "A", { edns: 1232 });
  const resp = decode(encodeResponse(parsed(p), p, 0, [a("web", "172.20.0.10")]));
  assertEquals(resp.additionals.length, 1);
  assertEquals(resp.additionals[0].type, "OPT");
  assertEquals(resp.additionals[0].udpPayloadSize, MAX_UDP_PAYLOAD);
});

Deno.test("BADVERS goes into the OPT record's extended rcode", () => {
  const p = query("web", "A", { edns: 1232, ednsVersion: 1 });
  const out = encodeRcode(parsed(p), p, RCODE.BADVERS);
  assertEquals(out[3] & 0x0f, 0);
  assertEquals(out[out.length - 11 + 5], 1); // extended rcode byte
});

Deno.test("truncates with TC and no records when the response exceeds the limit", () => {
  const p = query("many", "A");
  const q = parsed(p);
  const answers = Array.from({ length: 40 }, (_, i) => a("many", `10.0.0.${i + 1}`));
  const full = encodeResponse(q, p, 0, answers);
  assert(full.length > 512);
  assertEquals(decode(full).answers.length, 40);
  const cut = encodeResponse(q, p, 0, answers, [], udpLimit(q));
  assert(cut.length <= 512);
  const resp = decode(cut);
  assertEquals(resp.flag_tc, true);
  assertEquals(resp.answers, []);
  assertEquals(resp.questions[0].name, "many");
});

Deno.test("rcode-only responses keep the question", () => {
  const p = query("example.org", "A");
  const resp = decode(encodeRcode(parsed(p), p, RCODE.SERVFAIL));
  assertEquals(resp.rcode, "SERVFAIL");
  assertEquals(resp.questions[0].name, "example.org");
  assertEquals(resp.answers, []);
});

Deno.test("withId copies the packet with a new id", () => {
  const p = query("web", "A", { id: 1 });
  const q = withId(p, 0xbeef);
  assertEquals(decode(q).id, 0xbeef);
  assertEquals(decode(p).id, 1);
});

Deno.test("random bytes never make parseQuery throw", () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const base = query("api.back", "SRV", { edns: 1232 });
  for (let i = 0; i < 20000; i++) {
    const p = i % 2 === 0
      ? Uint8Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256))
      : base.map((b) => (rnd() < 0.1 ? Math.floor(rnd() * 256) : b));
    const r = parseQuery(p);
    if (r.kind === "query") encodeResponse(r.query, p, 0, [a(r.query.qname, "1.2.3.4")], [], 512);
    else if (r.kind === "error") encodeError(r);
  }
});
