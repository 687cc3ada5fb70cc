/**
 * The embedded DNS's UDP sockets: libc sockets on the process's shared epoll loop, one receive
 * buffer for all of them. Many namespaces answered at once from the one loop, a late forwarded
 * answer after unlisten, a port already in use, and no fd left behind. Needs root.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import dnsPacket from "dns-packet";
import { buildRecords } from "../core/dns/records.ts";
import { DnsServer } from "../core/dns/server.ts";
import { shopModel } from "../core/dns/_testmodel.ts";
import { must, TestNamespaces } from "../core/dns/_testns.ts";
import { dnsObservation, DnsProber } from "../core/checks/dns_probe.ts";
import { Epoll } from "../core/kernel/sys/epoll.ts";
import { socketIn, withNetns } from "../core/kernel/netns/netns.ts";
import { libc, SOCK_DGRAM, sockaddrIn } from "../core/kernel/sys/ffi.ts";

const UPSTREAM = "10.99.0.53";

function query(name: string, id = 7): Uint8Array {
  return new Uint8Array(dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "A", name }],
  }));
}

/** The next datagram on `sock`, or null when none comes within `ms`. */
async function receiveWithin(sock: Deno.DatagramConn, ms: number): Promise<Uint8Array | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((r) => timer = setTimeout(() => r(null), ms));
  const got = sock.receive().then(([d]) => d, () => null);
  try {
    return await Promise.race([got, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** This process's open fd numbers. */
function fdSet(): Set<string> {
  return new Set([...Deno.readDirSync("/proc/self/fd")].map((e) => e.name));
}

function openFds(): number {
  return fdSet().size;
}

Deno.test("one loop answers many namespaces at once, each as its own container", async () => {
  await using nss = new TestNamespaces("dnsu");
  const namespaces: string[] = [];
  for (let i = 0; i < 24; i++) namespaces.push(await nss.add(`m${i}`));
  await using dns = new DnsServer(buildRecords(shopModel()));
  // Even namespaces answer as web (on front: proxy resolves), odd ones as db (not on front).
  await Promise.all(namespaces.map((ns, i) => dns.listen(ns, i % 2 === 0 ? "web" : "db")));
  const loop = new Epoll(2000);
  const prober = new DnsProber(loop);
  const PER_NS = 200;
  try {
    const results = await Promise.all(
      namespaces.flatMap((ns) =>
        Array.from({ length: PER_NS }, () => prober.query(ns, "127.0.0.11:53", "proxy", "A"))
      ),
    );
    for (let i = 0; i < namespaces.length; i++) {
      const mine = results.slice(i * PER_NS, (i + 1) * PER_NS);
      const want = i % 2 === 0
        ? { kind: "dns", rcode: "NOERROR", answers: ["172.20.0.30"] }
        : { kind: "dns", rcode: "NXDOMAIN", answers: [] };
      for (const r of mine) assertEquals(r, want, namespaces[i]);
    }
  } finally {
    prober.close();
    await loop.close();
  }
  const total = namespaces.length * PER_NS;
  // Each listen's reachability check sends one empty datagram, dropped by the server.
  assertEquals(dns.stats.received, total + namespaces.length);
  assertEquals([dns.stats.answered, dns.stats.dropped], [total, namespaces.length]);
  assertEquals(dns.stats.internalErrors, 0);
});

Deno.test("a forwarded answer that ends after unlisten is not sent, even on a reused fd", async () => {
  await using nss = new TestNamespaces("dnsu");
  const web = await nss.add("web");
  const up = await nss.add("up");
  await nss.linkUpstream(web, up, UPSTREAM);

  await using dns = new DnsServer(buildRecords(shopModel({ upstream: [UPSTREAM] })), {
    forwardTimeoutMs: 5000,
  });
  await dns.listen(web, "web");
  // The upstream takes the forwarded query and never answers.
  const upstream = withNetns(
    up,
    () => Deno.listenDatagram({ transport: "udp", hostname: UPSTREAM, port: 53 }),
  );
  const client = withNetns(
    web,
    () => Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
  );
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.11", port: 53 };
    await client.send(query("www.example.org"), to);
    const [forwarded] = await upstream.receive();
    assert(forwarded.length > 12, "the query reached the upstream");
    const failed = dns.stats.forwardFailed;

    // Unlisten ends the forward (SERVFAIL, once the socket is closed). A socket made at once
    // gets the lowest free fd, the old socket's number: bound to the same address, it would
    // carry that answer to the client.
    const opened = fdSet();
    const gone = dns.unlisten(web);
    const squatter = socketIn(web, SOCK_DGRAM);
    try {
      assert(opened.has(String(squatter)), "the listener's fd number was reused");
      const sa = sockaddrIn("127.0.0.11", 53);
      assertEquals(libc().bind(squatter, sa, sa.length), 0);
      await gone;
      assertEquals(dns.stats.forwardFailed, failed + 1, "the forward ended");
      assertEquals(await receiveWithin(client, 300), null, "no answer after unlisten");
    } finally {
      libc().close(squatter);
    }
    await dns.listen(web, "web");

    // The new socket answers.
    await client.send(query("proxy", 8), to);
    const answer = await receiveWithin(client, 2000);
    assert(answer !== null, "the new listener answers");
    assertEquals(answer[0] << 8 | answer[1], 8);
    assertEquals(dnsObservation(answer, "A"), {
      kind: "dns",
      rcode: "NOERROR",
      answers: ["172.20.0.30"],
    });
  } finally {
    upstream.close();
    client.close();
  }
});

Deno.test("listen explains a port another UDP socket holds", async () => {
  await using nss = new TestNamespaces("dnsu");
  const ns = await nss.add("busy");
  const holder = withNetns(
    ns,
    () => Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.11", port: 53 }),
  );
  try {
    await using dns = new DnsServer(buildRecords(shopModel()));
    const fds = openFds();
    let error = "";
    try {
      await dns.listen(ns, "web");
    } catch (e) {
      error = String(e);
    }
    assert(error.includes("another socket already uses it"), error);
    assert(error.includes(`ip netns exec ${ns} ss -lunp sport = :53`), error);
    assertEquals(dns.namespaces(), []);
    assertEquals(openFds(), fds, "the failed listen closed what it opened");
  } finally {
    holder.close();
  }
});

Deno.test("unlisten closes every socket listen opened", async () => {
  await using nss = new TestNamespaces("dnsu");
  const namespaces: string[] = [];
  for (let i = 0; i < 8; i++) namespaces.push(await nss.add(`f${i}`));
  await using dns = new DnsServer(buildRecords(shopModel()));
  // A first round opens what stays open on purpose: namespace fds, the process loop's epoll fd.
  for (const ns of namespaces) await dns.listen(ns, "web");
  await dns.close();
  const base = openFds();
  for (const ns of namespaces) await dns.listen(ns, "web");
  // Each namespace: one UDP and one TCP socket.
  assertEquals(openFds(), base + 2 * namespaces.length);
  const r = await must("ip", "netns", "exec", namespaces[0], "ss", "-Hlun", "sport", "=", ":53");
  assert(r.includes("127.0.0.11:53"), r);
  for (const ns of namespaces) await dns.unlisten(ns);
  assertEquals(openFds(), base);
  const gone = await must("ip", "netns", "exec", namespaces[0], "ss", "-Hlun", "sport", "=", ":53");
  assertEquals(gone.trim(), "");
});
