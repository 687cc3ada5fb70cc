/**
 * Fuzzing the embedded DNS through real sockets: more than 100,000 random and mutated packets
 * (UDP datagrams and TCP frames) at 127.0.0.11 inside a `dnst-…` namespace, then a normal `dig`
 * must still get the right answer. Needs root.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import dnsPacket from "dns-packet";
import { buildRecords } from "../core/dns/records.ts";
import { DnsServer } from "../core/dns/server.ts";
import { shopModel } from "../core/dns/_testmodel.ts";
import { nsRun, TestNamespaces } from "../core/dns/_testns.ts";
import { withNetns } from "../core/kernel/netns/netns.ts";

const SEED = Number(Deno.env.get("DNS_FUZZ_SEED") ?? Date.now() % 1_000_000);
const UDP_PACKETS = 100_000;
const TCP_CONNECTIONS = 300;
const FRAMES_PER_CONNECTION = 20;

/** xorshift32: reproducible with DNS_FUZZ_SEED. */
function prng(seed: number) {
  let x = (seed | 0) || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  return {
    float: next,
    int: (n: number) => Math.floor(next() * n),
    bytes: (n: number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

type Rng = ReturnType<typeof prng>;

const NAMES = ["web", "api", "api-1.back", "_rest._tcp.api", "10.0.20.172.in-addr.arpa", "x.y"];
const TYPES = ["A", "AAAA", "PTR", "SRV", "MX", "TXT", "ANY", "AXFR"] as const;

function validQuery(r: Rng): Uint8Array {
  const edns = r.float() < 0.5;
  return new Uint8Array(dnsPacket.encode({
    type: "query",
    id: r.int(65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: TYPES[r.int(TYPES.length)], name: NAMES[r.int(NAMES.length)] }],
    additionals: edns
      ? [{ type: "OPT", name: ".", udpPayloadSize: r.int(5000), flags: 0, options: [] }]
      : [],
  } as dnsPacket.Packet));
}

function header(r: Rng, counts: [number, number, number, number]): Uint8Array {
  const h = r.bytes(12);
  h[2] &= 0x7f; // a query
  h[2] &= 0x87; // opcode 0
  for (let i = 0; i < 4; i++) {
    h[4 + 2 * i] = counts[i] >> 8;
    h[5 + 2 * i] = counts[i] & 0xff;
  }
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One hostile packet; the kinds rotate so every kind gets ~1/10 of the run. */
function hostile(r: Rng, i: number): Uint8Array {
  switch (i % 10) {
    case 0: // random bytes
      return r.bytes(r.int(600));
    case 1: { // bit flips in a valid query
      const q = validQuery(r);
      for (let k = 1 + r.int(4); k > 0; k--) q[r.int(q.length)] ^= 1 << r.int(8);
      return q;
    }
    case 2: { // byte replacement, truncation or extension
      const q = validQuery(r);
      q[r.int(q.length)] = r.int(256);
      if (r.float() < 0.5) return q.subarray(0, r.int(q.length));
      return concat(q, r.bytes(r.int(64)));
    }
    case 3: // truncated headers
      return r.bytes(r.int(12));
    case 4: { // bad label lengths
      const name = Uint8Array.of(64 + r.int(192), ...r.bytes(r.int(20)));
      return concat(header(r, [1, 0, 0, 0]), name, r.bytes(4));
    }
    case 5: { // compression loops: in the question and in an additional record
      const self = Uint8Array.of(0xc0, 12);
      if (r.float() < 0.5) return concat(header(r, [1, 0, 0, 0]), self, r.bytes(4));
      const q = concat(header(r, [1, 0, 0, 1]), Uint8Array.of(3, 119, 101, 98, 0, 0, 1, 0, 1));
      const at = q.length;
      return concat(q, Uint8Array.of(0xc0 | (at >> 8), at & 0xff, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0));
    }
    case 6: // huge counts
      return concat(
        header(r, [r.int(65536), r.int(65536), r.int(65536), r.int(65536)]),
        r.bytes(r.int(300)),
      );
    case 7: { // EDNS oddities: many OPTs, odd versions, rdlen past the end
      const q = validQuery(r);
      const opt = Uint8Array.of(
        0,
        0,
        41,
        r.int(256),
        r.int(256),
        0,
        r.int(256),
        0,
        0,
        r.int(256),
        r.int(256),
      );
      const n = 1 + r.int(3);
      const out = concat(q, ...Array.from({ length: n }, () => opt));
      out[11] = (q[11] + n) & 0xff;
      return out;
    }
    case 8: { // any opcode, QR set, odd class
      const q = validQuery(r);
      q[2] = r.int(256);
      return q;
    }
    default: // oversized datagrams now and then, else a valid query
      return r.float() < 0.02 ? r.bytes(1000 + r.int(60000)) : validQuery(r);
  }
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what} (seed ${SEED})`);
    await new Promise((res) => setTimeout(res, 1));
  }
}

Deno.test(`the DNS server survives 100k+ hostile packets and still answers (seed ${SEED})`, async () => {
  const r = prng(SEED);
  await using nss = new TestNamespaces("dnst");
  const ns = await nss.add("fuzz");
  await using dns = new DnsServer(buildRecords(shopModel()), { tcpIdleTimeoutMs: 500 });
  await dns.listen(ns, "web");
  const started = Date.now();

  // UDP: batches, each fully received by the server before the next (no kernel drops).
  const sock = withNetns(
    ns,
    () => Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
  );
  let responses = 0;
  let malformedResponses = 0;
  const drain = (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      try {
        const [d] = await sock.receive(buf);
        responses++;
        if (d.length < 12 || (d[2] & 0x80) === 0) malformedResponses++;
      } catch {
        return;
      }
    }
  })();
  const to = { transport: "udp" as const, hostname: "127.0.0.11", port: 53 };
  let sent = 0;
  try {
    const base = dns.stats.received;
    while (sent < UDP_PACKETS) {
      const batch = [];
      let bytes = 0;
      while (batch.length < 64 && bytes < 64_000 && sent + batch.length < UDP_PACKETS) {
        const p = hostile(r, sent + batch.length);
        bytes += p.length + 600;
        batch.push(p);
      }
      await Promise.all(batch.map((p) => sock.send(p, to)));
      sent += batch.length;
      await until(
        `the server to receive ${sent} datagrams`,
        () => dns.stats.received - base >= sent,
        10_000,
      );
    }
    const answered = dns.stats.answered;
    await until(`${answered} UDP responses`, () => responses >= answered, 10_000);
  } finally {
    sock.close();
    await drain;
  }

  const udpMs = Date.now() - started;
  // TCP: pipelined hostile frames per connection; oversized frames; abrupt closes.
  const before = dns.stats.received;
  let frames = 0;
  for (let c = 0; c < TCP_CONNECTIONS; c++) {
    const conn = await withNetns(ns, () => Deno.connect({ hostname: "127.0.0.11", port: 53 }));
    try {
      const parts: Uint8Array[] = [];
      const mode = c % 4;
      for (let k = 0; k < FRAMES_PER_CONNECTION; k++) {
        const p = mode === 3 && k === FRAMES_PER_CONNECTION - 1
          ? r.bytes(5000) // over the frame limit: the server must close
          : hostile(r, c * FRAMES_PER_CONNECTION + k).subarray(0, 4000);
        parts.push(Uint8Array.of(p.length >> 8, p.length & 0xff), p);
        frames++;
      }
      let stream = concat(...parts);
      if (mode === 2) stream = stream.subarray(0, r.int(stream.length)); // cut mid-frame
      await conn.write(stream).catch(() => 0);
      if (mode === 1) continue; // abrupt close, responses unread
      await conn.closeWrite().catch(() => {});
      // Read until the server closes (EOF after our closeWrite, or the oversize/idle close).
      const buf = new Uint8Array(65536);
      while ((await conn.read(buf).catch(() => null)) !== null) { /* discard */ }
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
  const tcpReceived = dns.stats.received - before;

  // An idle connection is closed by the server (tcpIdleTimeoutMs).
  const idle = await withNetns(ns, () => Deno.connect({ hostname: "127.0.0.11", port: 53 }));
  try {
    assertEquals(await idle.read(new Uint8Array(16)), null);
  } finally {
    idle.close();
  }

  console.log(
    `UDP phase ${udpMs} ms; fuzz seed ${SEED}: ${sent} datagrams + ${frames} TCP frames in ${
      Date.now() - started
    } ms; ` +
      `stats ${JSON.stringify(dns.stats)}`,
  );
  assert(sent + tcpReceived >= 100_000, "at least 100k packets reached the server");
  assert(tcpReceived > TCP_CONNECTIONS, `TCP frames were served (${tcpReceived})`);
  assert(dns.stats.oversized >= TCP_CONNECTIONS / 4 - 1, "oversized frames closed connections");
  assert(dns.stats.formerr > 1000 && dns.stats.notimp > 100, "malformed packets were answered");
  assert(responses > 10_000, `responses came back (${responses})`);
  assertEquals(malformedResponses, 0);
  assertEquals(dns.stats.internalErrors, 0);

  // Still alive and correct, over UDP and TCP, with real dig.
  for (const proto of ["+notcp", "+tcp"]) {
    const d = await nsRun(ns, "dig", "@127.0.0.11", proto, "+time=2", "+tries=1", "+short", "api");
    assertEquals(d.stdout.trim().split("\n").sort(), ["172.20.0.11", "172.20.0.12"], d.stderr);
  }

  // And the check can fail: with the server gone, the same query gets no answer.
  await dns.unlisten(ns);
  const dead = await nsRun(ns, "dig", "@127.0.0.11", "+time=1", "+tries=1", "+short", "api");
  assertEquals(dead.code, 9, dead.stdout);
});
