import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertSnapshot } from "../model/_snapshot.ts";
import {
  type Answer,
  buildRecords,
  dockerOrder,
  normalizeName,
  QTYPES,
  reverseName,
} from "./records.ts";
import { lookup, rotate } from "./lookup.ts";
import { shopModel, testModel } from "./_testmodel.ts";
import { loadTopologyObject } from "../model/load.ts";

const table = buildRecords(shopModel());
const fwdTable = buildRecords(shopModel({ upstream: ["10.99.0.53"] }));

function addrs(requester: string, name: string, table0 = table): string[] {
  return lookup(table0, requester, name, "A").answers.map((a) => a.type === "A" ? a.address : "?");
}

function rcode(requester: string, name: string, type: number | string = "A", t = table) {
  return lookup(t, requester, name, type).rcode;
}

Deno.test("resolves a container name to its address on the shared network", () => {
  assertEquals(addrs("proxy", "web"), ["172.20.0.10"]);
});

Deno.test("resolves a replica name and the service name to every replica", () => {
  assertEquals(addrs("web", "api-1"), ["172.20.0.11"]);
  assertEquals(addrs("web", "api-2"), ["172.20.0.12"]);
  assertEquals(addrs("web", "api"), ["172.20.0.11", "172.20.0.12"]);
});

Deno.test("answers from the first shared network that knows the name, in Docker's order", () => {
  // db shares only back with api-1: back address only.
  assertEquals(addrs("db", "api-1"), ["172.21.0.11"]);
  // api-2 shares front and back with api-1: Docker's resolver stops at the first network that
  // knows the name — back before front (by name; both external) — so one address, as dockerd
  // 20.10 answers.
  assertEquals(addrs("api-2", "api-1"), ["172.21.0.11"]);
});

Deno.test("Docker's order: internal networks after the others, docker_gwbridge last, then by name", () => {
  const nets = [
    { name: "docker_gwbridge", internal: false },
    { name: "a-internal", internal: true },
    { name: "zeta", internal: false },
    { name: "beta", internal: false },
  ];
  assertEquals(dockerOrder(nets).map((n) => n.name), [
    "beta",
    "zeta",
    "a-internal",
    "docker_gwbridge",
  ]);
});

Deno.test("resolves network aliases only on the network that declares them", () => {
  assertEquals(addrs("proxy", "www"), ["172.20.0.10"]);
  assertEquals(addrs("db", "backend"), ["172.21.0.11", "172.21.0.12"]);
  assertEquals(rcode("proxy", "backend"), "NXDOMAIN");
});

Deno.test("resolves the hostname", () => {
  assertEquals(addrs("proxy", "webhost"), ["172.20.0.10"]);
});

Deno.test("resolves <name>.<network> on that network only", () => {
  assertEquals(addrs("api-2", "api-1.back"), ["172.21.0.11"]);
  assertEquals(addrs("api-2", "api-1.front"), ["172.20.0.11"]);
  assertEquals(addrs("api-1", "api.back"), ["172.21.0.11", "172.21.0.12"]);
  assertEquals(addrs("db", "backend.back"), ["172.21.0.11", "172.21.0.12"]);
  // The answer carries the name that was asked.
  assertEquals(lookup(table, "api-2", "API-1.back.", "A").answers[0].name, "api-1.back");
  // web is not on back: NXDOMAIN, not forwarded even with upstream servers.
  assertEquals(lookup(fwdTable, "web", "api-1.back", "A"), {
    rcode: "NXDOMAIN",
    answers: [],
    forward: false,
  });
  // A name that does not exist on a network the requester is on.
  assertEquals(rcode("web", "nobody.front", "A", fwdTable), "NXDOMAIN");
});

Deno.test("names are case-insensitive and tolerate a trailing dot", () => {
  assertEquals(addrs("proxy", "WEB."), ["172.20.0.10"]);
  assertEquals(addrs("proxy", "Api"), ["172.20.0.11", "172.20.0.12"]);
  assertEquals(addrs("api-1", "DB.Back."), ["172.21.0.20"]);
  assertEquals(normalizeName("A.B."), "a.b");
});

Deno.test("answers carry the table TTL: 600 by default, configurable", () => {
  assertEquals(lookup(table, "proxy", "web", "A").answers[0].ttl, 600);
  const t = buildRecords(shopModel(), { ttl: 5 });
  assertEquals(lookup(t, "proxy", "web", "A").answers[0].ttl, 5);
  const t2 = buildRecords(shopModel({ ttl: 30 }));
  assertEquals(lookup(t2, "proxy", "web", "A").answers[0].ttl, 30);
  assertEquals(buildRecords(shopModel({ ttl: 0 })).ttl, 600);
});

Deno.test("a container on another network is NXDOMAIN (scoping)", () => {
  assertEquals(rcode("web", "db"), "NXDOMAIN");
  assertEquals(rcode("db", "web"), "NXDOMAIN");
  assertEquals(rcode("vault", "web"), "NXDOMAIN");
  assertEquals(rcode("web", "vault"), "NXDOMAIN");
  // Known-but-hidden names are never forwarded.
  assertEquals(lookup(fwdTable, "web", "db", "A").forward, false);
});

Deno.test("the default network gives no names, as in Docker", () => {
  assertEquals(rcode("legacy", "legacy"), "NXDOMAIN");
  const t = buildRecords(shopModel(), { defaultNetworkDns: true });
  assertEquals(addrs("legacy", "legacy", t), ["172.17.0.2"]);
});

Deno.test("AAAA, MX, TXT and other types on a known name are an empty NOERROR", () => {
  for (const type of ["AAAA", "MX", "TXT", "CNAME", "SOA", "NS", 99, "TYPE65"]) {
    assertEquals(lookup(table, "proxy", "web", type), {
      rcode: "NOERROR",
      answers: [],
      forward: false,
    }, String(type));
  }
  assertEquals(lookup(table, "proxy", "web", QTYPES.AAAA).rcode, "NOERROR");
});

Deno.test("AAAA on an unknown name is NXDOMAIN like A", () => {
  assertEquals(rcode("proxy", "nothing", "AAAA"), "NXDOMAIN");
});

Deno.test("ANY returns every record of the name", () => {
  assertEquals(addrs("web", "api").length, 2);
  assertEquals(lookup(table, "web", "api", "ANY").answers.length, 2);
  assertEquals(lookup(table, "web", "_rest._tcp.api", "ANY").answers.length, 2);
});

Deno.test("zone transfers and unknown type names are NOTIMP", () => {
  assertEquals(rcode("web", "web", "AXFR"), "NOTIMP");
  assertEquals(rcode("web", "web", "IXFR"), "NOTIMP");
  assertEquals(rcode("web", "web", "BOGUS"), "NOTIMP");
  assertEquals(rcode("web", "web", -1), "NOTIMP");
  assertEquals(rcode("web", "web", 70000), "NOTIMP");
  assertEquals(rcode("web", "web", "TYPE70000"), "NOTIMP");
});

Deno.test("PTR answers a container address with the container name, scoped", () => {
  assertEquals(reverseName("172.20.0.10"), "10.0.20.172.in-addr.arpa");
  const r = lookup(table, "proxy", "10.0.20.172.in-addr.arpa.", "PTR");
  assertEquals(r.rcode, "NOERROR");
  assertEquals(r.answers, [{
    type: "PTR",
    name: "10.0.20.172.in-addr.arpa",
    ttl: 600,
    target: "web.front", // nslab's own format: <container>.<network> as the file names them
  }]);
  const api = lookup(table, "db", reverseName("172.21.0.12"), "PTR");
  assertEquals(api.answers.map((a) => a.type === "PTR" && a.target), ["api-2.back"]);
  // db is not on front: api-2's front address is not visible to it.
  assertEquals(rcode("db", reverseName("172.20.0.12"), "PTR"), "NXDOMAIN");
  // A on a reverse name: known, no A record.
  assertEquals(lookup(table, "proxy", reverseName("172.20.0.10"), "A").answers, []);
  assertEquals(rcode("proxy", reverseName("172.20.0.10"), "A"), "NOERROR");
});

Deno.test("PTR in a Compose file answers what Docker does: <compose name>.<Docker network>", () => {
  const m = loadTopologyObject({
    name: "shop",
    services: {
      web: { networks: ["front"] },
      db: { container_name: "main-db", networks: ["front"] },
      cache: {},
    },
    networks: { front: {} },
  }, { reserved: [], uplink: false }).model;
  const t = buildRecords(m);
  const ptr = (from: string, to: string, net: string) => {
    const ep = m.containers.find((c) => c.name === to)!.endpoints.find((e) => e.network === net)!;
    return lookup(t, from, reverseName(ep.address!), "PTR").answers.map((a) =>
      a.type === "PTR" && a.target
    );
  };
  assertEquals(ptr("db", "web", "front"), ["shop-web-1.shop_front"]);
  assertEquals(ptr("web", "db", "front"), ["main-db.shop_front"]); // container_name
  assertEquals(ptr("cache", "cache", "default"), ["shop-cache-1.shop_default"]);
});

Deno.test("reverse names inside lab subnets are never forwarded", () => {
  const unused = lookup(fwdTable, "web", reverseName("172.20.0.200"), "PTR");
  assertEquals(unused, { rcode: "NXDOMAIN", answers: [], forward: false });
  const outside = lookup(fwdTable, "web", reverseName("192.0.2.1"), "PTR");
  assertEquals(outside.forward, true);
});

Deno.test("SRV answers named ports with the container names and glue", () => {
  const r = lookup(table, "web", "_rest._tcp.api", "SRV");
  assertEquals(r.rcode, "NOERROR");
  assertEquals(r.answers, [
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
  ]);
  assertEquals(
    r.additional?.map((a) => a.type === "A" && `${a.name}=${a.address}`),
    ["api-1=172.20.0.11", "api-2=172.20.0.12"],
  );
  const pg = lookup(table, "api-1", "_PG._TCP.DB.", "SRV");
  assertEquals(pg.answers.map((a) => a.type === "SRV" && a.srv.port), [5432]);
  assertEquals(pg.additional?.map((a) => a.type === "A" && a.address), ["172.21.0.20"]);
  assertEquals(
    lookup(table, "api-1", "_stats._udp.db", "SRV").answers.map((a) =>
      a.type === "SRV" && a.srv.port
    ),
    [5433],
  );
});

Deno.test("SRV is scoped, needs the right protocol, and ignores unnamed ports", () => {
  assertEquals(rcode("web", "_pg._tcp.db", "SRV"), "NXDOMAIN");
  assertEquals(rcode("api-1", "_pg._udp.db", "SRV"), "NXDOMAIN");
  assertEquals(lookup(table, "api-1", "_rest._tcp.api", "A").answers, []);
  assertEquals(rcode("api-1", "_rest._tcp.api", "A"), "NOERROR");
  assertEquals(rcode("web", "_9000._tcp.api", "SRV"), "NXDOMAIN");
  // The SRV name with a network suffix.
  assertEquals(lookup(table, "api-1", "_pg._tcp.db.back", "SRV").answers.length, 1);
});

Deno.test("container:X containers resolve as X", () => {
  assertEquals(addrs("side", "api"), ["172.20.0.11", "172.20.0.12"]);
  assertEquals(rcode("side", "db"), "NXDOMAIN");
  // and have no names of their own
  assertEquals(rcode("web", "side"), "NXDOMAIN");
});

Deno.test("none and host containers, and unknown requesters, are REFUSED", () => {
  assertEquals(lookup(table, "sealed", "web", "A"), {
    rcode: "REFUSED",
    answers: [],
    forward: false,
  });
  assertEquals(rcode("tool", "web"), "REFUSED");
  assertEquals(rcode("ghost", "web"), "REFUSED");
  assertEquals(rcode("web", "sealed"), "NXDOMAIN");
  assertEquals(rcode("web", "tool"), "NXDOMAIN");
});

Deno.test("names outside the lab are NXDOMAIN without upstream servers", () => {
  assertEquals(lookup(table, "web", "example.org", "A"), {
    rcode: "NXDOMAIN",
    answers: [],
    forward: false,
  });
});

Deno.test("names outside the lab are forwarded when upstream servers are set", () => {
  assertEquals(lookup(fwdTable, "web", "example.org.", "A"), {
    rcode: "NOERROR",
    answers: [],
    forward: true,
  });
  assertEquals(lookup(fwdTable, "side", "example.org", "MX").forward, true);
  assertEquals(fwdTable.upstream, ["10.99.0.53"]);
});

Deno.test("containers attached only to internal networks never forward", () => {
  assertEquals(lookup(fwdTable, "vault", "example.org", "A"), {
    rcode: "NXDOMAIN",
    answers: [],
    forward: false,
  });
});

Deno.test("a container on internal and non-internal networks may forward", () => {
  const t = buildRecords(testModel(
    [{ name: "in", subnet: "10.1.0.0/24", internal: true }, { name: "out", subnet: "10.2.0.0/24" }],
    [{
      name: "c",
      endpoints: [{ network: "in", address: "10.1.0.2" }, { network: "out", address: "10.2.0.2" }],
    }],
    { upstream: ["10.9.9.9"] },
  ));
  assertEquals(lookup(t, "c", "example.org", "A").forward, true);
});

Deno.test("network names themselves are in the lab and never forwarded", () => {
  assertEquals(lookup(fwdTable, "web", "front", "A").forward, false);
  assertEquals(lookup(fwdTable, "web", "x.back", "A").forward, false);
});

Deno.test("no duplicate addresses when name, service and alias coincide", () => {
  const t = buildRecords(testModel(
    [{ name: "n", subnet: "10.1.0.0/24" }],
    [
      {
        name: "a",
        hostname: "a",
        endpoints: [{ network: "n", address: "10.1.0.2", aliases: ["a"] }],
      },
      { name: "b", endpoints: [{ network: "n", address: "10.1.0.3" }] },
    ],
  ));
  assertEquals(addrs("b", "a", t), ["10.1.0.2"]);
});

Deno.test("a network without a subnet provides no records", () => {
  const m = testModel([{ name: "n", subnet: "10.1.0.0/24" }], [
    { name: "a", endpoints: [{ network: "n", address: "10.1.0.2" }] },
    { name: "b", endpoints: [{ network: "n", address: "10.1.0.3" }] },
  ]);
  m.networks[0].hasSubnet = false;
  const t = buildRecords(m);
  assertEquals(rcode("a", "b", "A", t), "NXDOMAIN");
});

Deno.test("buildRecords matches the committed golden table", () => {
  const maps = (_k: string, v: unknown) =>
    v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v;
  const actual = JSON.stringify(buildRecords(shopModel()), maps, 1) + "\n";
  assertSnapshot(new URL("testdata/shop.records.json", import.meta.url), actual);
});

Deno.test("rotate moves A records round robin and leaves others in place", () => {
  const a = (address: string): Answer => ({ type: "A", name: "x", ttl: 1, address });
  const ptr: Answer = { type: "PTR", name: "x", ttl: 1, target: "t" };
  const list = [a("1"), a("2"), a("3")];
  const firsts = [0, 1, 2, 3, -1].map((t) => (rotate(list, t)[0] as { address: string }).address);
  assertEquals(firsts, ["1", "2", "3", "1", "3"]);
  assertEquals(rotate(list, 1).map((x) => (x as { address: string }).address), ["2", "3", "1"]);
  assertEquals(rotate([ptr, a("1"), a("2")], 1), [ptr, a("2"), a("1")]);
  assertEquals(rotate([a("1")], 5), [a("1")]);
  assert(rotate(list, 0) === list);
});

Deno.test("every container address has exactly one PTR", () => {
  const m = shopModel();
  for (const c of m.containers) {
    for (const ep of c.endpoints) {
      if (ep.network === "default") continue;
      const peer = m.containers.find((x) =>
        x.name !== c.name && x.endpoints.some((e) => e.network === ep.network)
      );
      if (peer === undefined) continue;
      const r = lookup(table, peer.name, reverseName(ep.address!), "PTR");
      assertEquals(
        r.answers.map((x) => x.type === "PTR" && x.target),
        [`${c.name}.${ep.network}`],
        ep.address,
      );
    }
  }
});

Deno.test("a host-scoped network on two hosts gives names only within each host; overlays span hosts; docker_gwbridge gives none", async () => {
  const { loadTopologyObject } = await import("../model/load.ts");
  const { model } = loadTopologyObject({
    hosts: { h1: {}, h2: {} },
    networks: { mesh: { driver: "overlay" }, back: { driver: "bridge" } },
    containers: {
      a: { host: "h1", networks: ["mesh", "back"] },
      b: { host: "h2", networks: ["mesh", "back"] },
      c: { host: "h1", networks: ["back"] },
    },
  }, { project: "t", uplink: false, reserved: [] });
  const t = buildRecords(model);
  const ep = (c: string, n: string) =>
    model.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === n)!.address;
  // b is on another host: only its overlay address, never its h2-local back or gwbridge address
  assertEquals(addrs("a", "b", t), [ep("b", "mesh")]);
  // c shares h1's back with a
  assertEquals(addrs("a", "c", t), [ep("c", "back")]);
  assertEquals(addrs("a", "c.back", t), [ep("c", "back")]);
  // c shares nothing with b (their back networks are two L2 domains)
  assertEquals(rcode("c", "b", "A", t), "NXDOMAIN");
  assertEquals(rcode("b", "c.back", "A", t), "NXDOMAIN");
  assert(![...t.networks.values()].some((r) => r.network === "docker_gwbridge"));
});

Deno.test("a macvlan network is one segment across hosts: its names resolve from every host", async () => {
  const { loadTopologyObject } = await import("../model/load.ts");
  const { model } = loadTopologyObject({
    hosts: { h1: {}, h2: {} },
    networks: { lan: { driver: "macvlan" } },
    containers: { a: { host: "h1", networks: ["lan"] }, b: { host: "h2", networks: ["lan"] } },
  }, { project: "t", uplink: false, reserved: [] });
  const t = buildRecords(model);
  const ep = (c: string) => model.containers.find((x) => x.name === c)!.endpoints[0].address;
  assertEquals(addrs("a", "b", t), [ep("b")]);
  assertEquals(addrs("b", "a.lan", t), [ep("a")]);
});

Deno.test("a container's own dns: servers take its outside names, as Docker forwards them", () => {
  const m = loadTopologyObject({
    name: "t",
    dns: { upstream: ["10.9.9.9"] },
    services: { a: { dns: ["10.8.8.8", "fd00::53"] }, b: {} },
  }, { reserved: [] }).model;
  const t = buildRecords(m);
  assertEquals(lookup(t, "a", "example.org", "A"), {
    rcode: "NOERROR",
    answers: [],
    forward: true,
    upstream: ["10.8.8.8"],
  });
  assertEquals(lookup(t, "b", "example.org", "A"), {
    rcode: "NOERROR",
    answers: [],
    forward: true,
  });
  assertEquals(lookup(t, "a", "b", "A").forward, false); // lab names never leave
});
