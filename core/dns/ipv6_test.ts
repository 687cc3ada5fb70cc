import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { buildRecords } from "./records.ts";
import { lookup, rotate } from "./lookup.ts";
import { reverse6ToAddress, reverseName6 } from "./reverse6.ts";
import { encodeResponse, parseQuery } from "./wire.ts";
import { loadTopologyObject } from "../model/load.ts";
import type { TopologyInput } from "../model/input.ts";

const model = loadTopologyObject({
  name: "v6dns",
  networks: {
    front: {
      enable_ipv6: true,
      ipam: { config: [{ subnet: "172.20.0.0/24" }, { subnet: "fd00:1::/64" }] },
    },
    plain: { ipam: { config: [{ subnet: "172.21.0.0/24" }] } },
  },
  containers: {
    web: { networks: ["front", "plain"] },
    api: { deploy: { replicas: 2 }, networks: ["front"] },
    old: { networks: ["plain"] },
  },
} as unknown as TopologyInput, { reserved: [] }).model;
const table = buildRecords(model);

const aaaa = (requester: string, name: string) =>
  lookup(table, requester, name, "AAAA").answers.map((a) => a.type === "AAAA" ? a.address : "?");

Deno.test("AAAA answers the IPv6 addresses on the shared network, replicas in order", () => {
  assertEquals(aaaa("web", "api"), ["fd00:1::3", "fd00:1::4"]);
  assertEquals(aaaa("api-1", "web"), ["fd00:1::2"]);
  assertEquals(aaaa("web", "api-2.front"), ["fd00:1::4"]);
});

Deno.test("a name without an address of the asked family is an empty NOERROR, not NXDOMAIN", () => {
  const r = lookup(table, "web", "old", "AAAA");
  assertEquals([r.rcode, r.answers, r.forward], ["NOERROR", [], false]);
  assertEquals(lookup(table, "web", "old", "A").answers.length, 1);
});

Deno.test("AAAA follows the same scoping as A: a name on no shared network is NXDOMAIN", () => {
  assertEquals(lookup(table, "old", "api", "AAAA").rcode, "NXDOMAIN");
});

Deno.test("ip6.arpa PTR answers <container>.<network>; an unused address of a lab subnet is NXDOMAIN", () => {
  const ptr = lookup(table, "web", reverseName6("fd00:1::3"), "PTR");
  assertEquals(ptr.answers.map((a) => a.type === "PTR" ? a.target : "?"), ["api-1.front"]);
  const unused = lookup(table, "web", reverseName6("fd00:1::99"), "PTR");
  assertEquals([unused.rcode, unused.forward], ["NXDOMAIN", false]);
});

Deno.test("reverse names are 32 nibbles, lowest first, and read back", () => {
  const name = reverseName6("fd00:1::3");
  assertEquals(name.split(".").length, 34);
  assert(name.startsWith("3.0.0.0.") && name.endsWith(".1.0.0.0.0.0.d.f.ip6.arpa"), name);
  assertEquals(reverse6ToAddress(name), "fd00:1::3");
  assertEquals(reverse6ToAddress("3.0.ip6.arpa"), null);
});

Deno.test("round robin turns the AAAA records as it turns the A records", () => {
  const answers = lookup(table, "web", "api", "ANY").answers;
  const first = (turn: number, type: string) => rotate(answers, turn).find((a) => a.type === type)!;
  assertEquals(
    [first(0, "AAAA"), first(1, "AAAA")].map((a) => a.type === "AAAA" && a.address),
    ["fd00:1::3", "fd00:1::4"],
  );
  assertEquals(
    [first(0, "A"), first(1, "A")].map((a) => a.type === "A" && a.address),
    ["172.20.0.3", "172.20.0.4"],
  );
});

Deno.test("an AAAA answer is 16 bytes of address on the wire", () => {
  const query = Uint8Array.from([
    0x12,
    0x34,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    3,
    ...new TextEncoder().encode("web"),
    0,
    0,
    28,
    0,
    1,
  ]);
  const parsed = parseQuery(query);
  if (parsed.kind !== "query") throw new Error(`not a query: ${parsed.kind}`);
  const bytes = encodeResponse(parsed.query, query, 0, [
    { type: "AAAA", name: "web", ttl: 600, address: "fd00:1::2" },
  ]);
  const rdata = bytes.slice(bytes.length - 16);
  assertEquals(Array.from(rdata.slice(0, 4)), [0xfd, 0, 0, 1]);
  assertEquals(rdata[15], 2);
  assertEquals(Array.from(bytes.slice(bytes.length - 18, bytes.length - 16)), [0, 16]);
});
