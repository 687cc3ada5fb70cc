/**
 * The embedded DNS with real clients: `dig` and glibc's `getent` inside test namespaces
 * (`dnst-…`) query 127.0.0.11, served by a DnsServer in this process. Needs root.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { buildRecords, type RecordTable } from "../core/dns/records.ts";
import { DnsServer } from "../core/dns/server.ts";
import { shopModel, testModel } from "../core/dns/_testmodel.ts";
import { nsRun, TestNamespaces } from "../core/dns/_testns.ts";

const UPSTREAM = "10.99.0.53";

/** The shop lab of the unit tests, plus 100 replicas of `many` on front (for truncation). */
function labTable(opts: { upstream?: boolean; webOnBack?: boolean } = {}): RecordTable {
  const m = shopModel({ upstream: opts.upstream ? [UPSTREAM] : [] });
  const front = m.containers.find((c) => c.name === "proxy")!;
  for (let i = 1; i <= 100; i++) {
    m.containers.push({
      ...structuredClone(front),
      name: `many-${i}`,
      service: "many",
      replica: i,
      hostname: `many-${i}`,
      endpoints: [{ ...front.endpoints[0], address: `172.20.0.${100 + i}`, aliases: [] }],
    });
  }
  if (opts.webOnBack) {
    const web = m.containers.find((c) => c.name === "web")!;
    web.endpoints.push({
      ...web.endpoints[0],
      network: "back",
      address: "172.21.0.10",
      aliases: [],
    });
  }
  return buildRecords(m);
}

/** The upstream's own lab: `www.example.org` is an alias there. */
function upstreamTable(): RecordTable {
  return buildRecords(testModel(
    [{ name: "pub", subnet: "198.51.100.0/24" }],
    [
      {
        name: "ext",
        endpoints: [{ network: "pub", address: "198.51.100.7", aliases: ["www.example.org"] }],
      },
      { name: "resolver", endpoints: [{ network: "pub", address: "198.51.100.53" }] },
    ],
  ));
}

interface Dig {
  code: number;
  status: string;
  flags: string[];
  answers: string[];
  raw: string;
}

/** `dig` inside `ns` against 127.0.0.11; parses status, header flags and answer lines. */
async function dig(ns: string, ...args: string[]): Promise<Dig> {
  const r = await nsRun(
    ns,
    "dig",
    "@127.0.0.11",
    "+time=2",
    "+tries=1",
    "+noall",
    "+comments",
    "+answer",
    ...args,
  );
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? "";
  const flags = /;; flags: ([a-z ]*);/.exec(r.stdout)?.[1].trim().split(/\s+/) ?? [];
  const answers = r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith(";")).map((l) => {
    const f = l.split(/\s+/);
    return `${f[0]} ${f[1]} ${f[3]} ${f.slice(4).join(" ")}`;
  });
  return { code: r.code, status, flags, answers, raw: r.stdout + r.stderr };
}

/** The answers' data fields only (addresses, PTR names, SRV data). */
async function data(ns: string, ...args: string[]): Promise<string[]> {
  const d = await dig(ns, ...args);
  assertEquals(d.status, "NOERROR", d.raw);
  return d.answers.map((a) => a.split(" ").slice(3).join(" "));
}

Deno.test("embedded DNS answers real dig and getent inside namespaces", async (t) => {
  await using nss = new TestNamespaces("dnst");
  const web = await nss.add("web");
  const db = await nss.add("db");
  const api = await nss.add("api1");
  const vault = await nss.add("vault");
  const up = await nss.add("up");
  await nss.linkUpstream(web, up, UPSTREAM);

  await using dns = new DnsServer(labTable({ upstream: true }), { forwardTimeoutMs: 500 });
  await using upstream = new DnsServer(upstreamTable(), { address: UPSTREAM });
  await dns.listen(web, "web");
  await dns.listen(db, "db");
  await dns.listen(api, "api-1");
  await dns.listen(vault, "vault");
  await upstream.listen(up, "resolver");

  await t.step("A for a container name, authoritative, TTL 600", async () => {
    const d = await dig(web, "proxy", "A");
    assertEquals(d.status, "NOERROR", d.raw);
    assert(d.flags.includes("aa") && d.flags.includes("ra") && d.flags.includes("rd"), d.raw);
    assertEquals(d.answers, ["proxy. 600 A 172.20.0.30"]);
  });

  await t.step("replica names, service name, hostname and alias", async () => {
    assertEquals(await data(web, "api-1"), ["172.20.0.11"]);
    assertEquals((await data(web, "api")).sort(), ["172.20.0.11", "172.20.0.12"]);
    assertEquals((await dig(db, "webhost")).status, "NXDOMAIN"); // db is not on front
    assertEquals(await data(api, "webhost"), ["172.20.0.10"]);
    assertEquals(await data(api, "WWW."), ["172.20.0.10"]);
    assertEquals((await data(db, "backend")).sort(), ["172.21.0.11", "172.21.0.12"]);
  });

  await t.step("the address on the shared network only", async () => {
    assertEquals(await data(db, "api-1"), ["172.21.0.11"]);
    assertEquals(await data(api, "db"), ["172.21.0.20"]);
  });

  await t.step("<name>.<network>", async () => {
    assertEquals(await data(api, "api-2.back"), ["172.21.0.12"]);
    assertEquals(await data(api, "api-2.front"), ["172.20.0.12"]);
    assertEquals((await dig(web, "api-2.back")).status, "NXDOMAIN");
  });

  await t.step("scoping: a container on another network is NXDOMAIN", async () => {
    for (const [ns, name] of [[web, "db"], [db, "web"], [vault, "web"], [web, "vault"]]) {
      const d = await dig(ns, name);
      assertEquals(d.status, "NXDOMAIN", `${ns} → ${name}: ${d.raw}`);
    }
  });

  await t.step("round robin: both replicas come back and the order changes", async () => {
    const orders = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const a = await data(web, "api");
      assertEquals([...a].sort(), ["172.20.0.11", "172.20.0.12"]);
      orders.add(a.join(","));
    }
    assertEquals(orders.size, 2);
  });

  await t.step("AAAA, MX and TXT on a known name are empty NOERROR", async () => {
    for (const type of ["AAAA", "MX", "TXT"]) {
      const d = await dig(web, "proxy", type);
      assertEquals([d.status, d.answers], ["NOERROR", []], `${type}: ${d.raw}`);
    }
    assertEquals((await dig(web, "nothing-here", "AAAA")).status, "NXDOMAIN");
  });

  await t.step(
    "PTR: dig -x and getent hosts ADDRESS give <container>.<network>, as Docker does",
    async () => {
      assertEquals(await data(web, "-x", "172.20.0.30"), ["proxy.front."]);
      assertEquals(await data(db, "-x", "172.21.0.12"), ["api-2.back."]);
      assertEquals((await dig(db, "-x", "172.20.0.12")).status, "NXDOMAIN");
      const g = await nsRun(web, "getent", "hosts", "172.20.0.30");
      assertEquals([g.code, g.stdout.trim().split(/\s+/)], [0, ["172.20.0.30", "proxy.front"]]);
    },
  );

  await t.step("SRV for a named port, with glue", async () => {
    const d = await dig(api, "_pg._tcp.db", "SRV", "+additional");
    assertEquals(d.status, "NOERROR", d.raw);
    assertEquals(d.answers, ["_pg._tcp.db. 600 SRV 0 0 5432 db.", "db. 600 A 172.21.0.20"]);
    const rest = await data(web, "_rest._tcp.api", "SRV");
    assertEquals(rest.sort(), ["0 0 8000 api-1.", "0 0 8000 api-2."]);
    assertEquals((await dig(web, "_pg._tcp.db", "SRV")).status, "NXDOMAIN");
  });

  await t.step("TCP queries (dig +tcp), several per connection", async () => {
    assertEquals(await data(web, "+tcp", "proxy"), ["172.20.0.30"]);
    const r = await nsRun(web, "dig", "@127.0.0.11", "+tcp", "+keepopen", "+short", "proxy", "web");
    assertEquals(r.stdout.trim().split("\n"), ["172.20.0.30", "172.20.0.10"]);
  });

  await t.step("a large answer is truncated over UDP and complete over TCP", async () => {
    const before = dns.stats.truncated;
    const cut = await dig(web, "+ignore", "many");
    assert(cut.flags.includes("tc"), cut.raw);
    assertEquals(cut.answers, []);
    assertEquals(dns.stats.truncated, before + 1);
    const noEdns = await dig(web, "+ignore", "+noedns", "web");
    assert(!noEdns.flags.includes("tc"), "small answers are not truncated");
    // dig retries over TCP by itself.
    const full = await data(web, "many");
    assertEquals(full.length, 100);
    // glibc too (no EDNS: the 512-byte limit), getent ahostsv4 lists every address.
    const g = await nsRun(web, "getent", "ahostsv4", "many");
    assertEquals(g.code, 0, g.stderr);
    const addrs = new Set(g.stdout.trim().split("\n").map((l) => l.split(/\s+/)[0]));
    assertEquals(addrs.size, 100);
    assert(dns.stats.truncated >= before + 2, "glibc's first (UDP) answer was truncated");
  });

  await t.step("getent hosts uses resolv.conf (127.0.0.11, ndots:0)", async () => {
    const g = await nsRun(web, "getent", "hosts", "proxy");
    assertEquals([g.code, g.stdout.trim().split(/\s+/)], [0, ["172.20.0.30", "proxy"]]);
    const miss = await nsRun(web, "getent", "hosts", "db");
    assertEquals(miss.code, 2, "db is on another network");
  });

  await t.step("names outside the lab are forwarded to the upstream", async () => {
    const d = await dig(web, "www.example.org");
    assertEquals([d.status, d.answers], ["NOERROR", ["www.example.org. 600 A 198.51.100.7"]]);
    const tcp = await dig(web, "+tcp", "www.example.org");
    assertEquals(tcp.answers, ["www.example.org. 600 A 198.51.100.7"], "forwarded over TCP too");
    const missing = await dig(web, "nothing.example.org");
    assertEquals(missing.status, "NXDOMAIN", "the upstream's NXDOMAIN passes through");
    // Lab names are never forwarded, even when hidden from the requester.
    const forwarded = dns.stats.forwarded;
    assertEquals((await dig(web, "db")).status, "NXDOMAIN");
    assertEquals(dns.stats.forwarded, forwarded);
  });

  await t.step("containers only on internal networks never forward", async () => {
    const forwarded = dns.stats.forwarded;
    assertEquals((await dig(vault, "www.example.org")).status, "NXDOMAIN");
    assertEquals(dns.stats.forwarded, forwarded);
  });

  await t.step("forwarding off: no upstream in the table → NXDOMAIN", async () => {
    dns.setTable(labTable({ upstream: false }));
    try {
      assertEquals((await dig(web, "www.example.org")).status, "NXDOMAIN");
    } finally {
      dns.setTable(labTable({ upstream: true }));
    }
    assertEquals((await dig(web, "www.example.org")).status, "NOERROR");
  });

  await t.step("a dead upstream gives SERVFAIL", async () => {
    await upstream.unlisten(up);
    try {
      const failed = dns.stats.forwardFailed;
      const d = await dig(web, "+time=5", "www.example.org");
      assertEquals(d.status, "SERVFAIL", d.raw);
      assertEquals(dns.stats.forwardFailed, failed + 1);
    } finally {
      await upstream.listen(up, "resolver");
    }
    assertEquals((await dig(web, "www.example.org")).status, "NOERROR");
  });

  await t.step("setTable changes answers at once (network connect)", async () => {
    assertEquals((await dig(web, "db")).status, "NXDOMAIN");
    dns.setTable(labTable({ upstream: true, webOnBack: true }));
    assertEquals(await data(web, "db"), ["172.21.0.20"]);
    assertEquals(await data(db, "web"), ["172.21.0.10"]);
    dns.setTable(labTable({ upstream: true }));
    assertEquals((await dig(web, "db")).status, "NXDOMAIN");
  });

  await t.step("malformed queries get FORMERR, unknown opcodes NOTIMP", async () => {
    const formerr = dns.stats.formerr;
    const notimp = dns.stats.notimp;
    const r = await nsRun(web, "dig", "@127.0.0.11", "+time=2", "+tries=1", "+opcode=2", "web");
    assert(/status: NOTIMP/.test(r.stdout), r.stdout);
    assertEquals(dns.stats.notimp, notimp + 1);
    const q = await nsRun(web, "dig", "@127.0.0.11", "+time=2", "+tries=1", "+header-only", "web");
    assert(/status: FORMERR/.test(q.stdout), q.stdout);
    assertEquals(dns.stats.formerr, formerr + 1);
  });

  await t.step("broken on purpose: after unlisten, dig times out and getent fails", async () => {
    await dns.unlisten(web);
    const d = await dig(web, "+time=1", "proxy");
    assertEquals(d.code, 9, `dig should get no reply: ${d.raw}`);
    const tcp = await dig(web, "+time=1", "+tcp", "proxy");
    assert(tcp.code !== 0, "TCP is closed too");
    const g = await nsRun(web, "getent", "hosts", "proxy");
    assert(g.code !== 0, "getent must fail without the server");
    await dns.listen(web, "web");
    assertEquals(await data(web, "proxy"), ["172.20.0.30"]);
  });

  await t.step("listening twice in one namespace for another container is refused", async () => {
    await dns.listen(web, "web"); // same requester: nothing happens
    let error = "";
    try {
      await dns.listen(web, "db");
    } catch (e) {
      error = String(e);
    }
    assert(error.includes("already serves"), error);
    // Two concurrent listens for the same container end in one working listener.
    await dns.unlisten(web);
    await Promise.all([dns.listen(web, "web"), dns.listen(web, "web")]);
    assertEquals(dns.namespaces().filter((n) => n === web), [web]);
    assertEquals(await data(web, "proxy"), ["172.20.0.30"]);
  });

  assertEquals(dns.stats.internalErrors, 0);
});

Deno.test("listen explains a loopback that is down", async () => {
  await using nss = new TestNamespaces("dnst");
  const ns = await nss.add("lodown", { loUp: false });
  await using dns = new DnsServer(labTable());
  let error = "";
  try {
    await dns.listen(ns, "web");
  } catch (e) {
    error = String(e);
  }
  assert(error.includes(`ip -n ${ns} link set lo up`), error);
});
