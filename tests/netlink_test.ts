/**
 * The netlink shim against the real kernel (root): every verb creates or changes an object that
 * `ip -j` / `bridge -j` then sees, and deleting it makes `ip` see it gone.
 */
import assert from "node:assert/strict";
import { createNetns, deleteNetns, listNetns, netnsFd } from "../core/kernel/netns/netns.ts";
import { Batch, closeHandle, handleFor } from "../core/kernel/netlink/client.ts";
import { linkAdd, linkDel, linkGet, linkList, linkSet } from "../core/kernel/netlink/link.ts";
import { addrAdd, addrDel, addrList } from "../core/kernel/netlink/addr.ts";
import { routeAdd, routeList, routeReplace } from "../core/kernel/netlink/route.ts";
import { fdbAppend, neighList, neighReplace } from "../core/kernel/netlink/neigh.ts";
import { NetlinkError } from "../core/kernel/netlink/errors.ts";
import { AF_BRIDGE, NUD_PERMANENT } from "../core/kernel/netlink/constants.ts";
import { bridgeJson, ipJson, labName, pings } from "./_nlt_support.ts";

type IpLink = {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  master?: string;
  flags: string[];
  ifalias?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
};

/** Two fresh namespaces `a` and `b`, removed afterwards whatever happens. */
async function withPair(fn: (a: string, b: string) => void | Promise<void>): Promise<void> {
  const base = labName();
  const [a, b] = [`${base}-a`, `${base}-b`];
  createNetns(a);
  createNetns(b);
  try {
    await fn(a, b);
  } finally {
    for (const n of [a, b]) {
      closeHandle(n);
      deleteNetns(n);
    }
    assert.deepEqual(listNetns().filter((n) => n.startsWith(base)), []);
  }
}

const links = (ns: string) => ipJson<IpLink[]>(["-n", ns, "-d", "link", "show"]);
const link = (ns: string, name: string) => links(ns).find((l) => l.ifname === name);

Deno.test("a veth is created with its peer directly in another namespace, enslaved and up", async () => {
  await withPair((a, b) => {
    const q = new Batch(handleFor(a));
    linkAdd(q, { kind: "bridge", name: "br0", index: 40 });
    linkAdd(q, {
      kind: "veth",
      name: "v0",
      index: 41,
      mtu: 1400,
      master: 40,
      peer: { name: "eth0", index: 7, netnsFd: netnsFd(b), mac: "02:42:ac:11:00:02", mtu: 1400 },
    });
    linkSet(q, 41, { up: true });
    q.flush();
    const v0 = link(a, "v0")!;
    assert.deepEqual([v0.ifindex, v0.mtu, v0.master, v0.linkinfo?.info_kind], [
      41,
      1400,
      "br0",
      "veth",
    ]);
    assert.ok(v0.flags.includes("UP"));
    const eth0 = link(b, "eth0")!;
    assert.deepEqual([eth0.ifindex, eth0.address, eth0.mtu], [7, "02:42:ac:11:00:02", 1400]);
    assert.equal(link(a, "eth0"), undefined, "the peer never appears in the creating namespace");
    // Break it: deleting one end removes both.
    linkDel(handleFor(b), "eth0");
    assert.equal(link(a, "v0"), undefined);
    assert.equal(linkGet(handleFor(a), "v0"), null);
  });
});

Deno.test("a vxlan carries id, local, dev, port and nolearning, and FDB/neighbour entries land on it", async () => {
  await withPair((a, b) => {
    const q = new Batch(handleFor(a));
    linkAdd(q, {
      kind: "veth",
      name: "eth0",
      index: 10,
      peer: { name: "p0", netnsFd: netnsFd(b) },
    });
    linkAdd(q, {
      kind: "vxlan",
      name: "vx0",
      index: 11,
      vni: 4242,
      local: "198.18.1.1",
      dev: 10,
      port: 4789,
      learning: false,
      proxy: true,
      mtu: 1450,
    });
    linkSet(q, 11, { up: true });
    neighReplace(q, { index: 11, address: "10.0.9.20", mac: "02:42:0a:00:09:14" });
    fdbAppend(q, { index: 11, mac: "02:42:0a:00:09:14", dst: "198.18.1.2" });
    // The kernel keeps a list of VTEPs only for the all-zeros (flood) and multicast MACs.
    fdbAppend(q, { index: 11, mac: "00:00:00:00:00:00", dst: "198.18.1.2" });
    fdbAppend(q, { index: 11, mac: "00:00:00:00:00:00", dst: "198.18.1.3" });
    q.flush();
    const vx = link(a, "vx0")!;
    const d = vx.linkinfo!.info_data!;
    assert.deepEqual([d.id, d.local, d.link, d.port, d.learning, d.proxy], [
      4242,
      "198.18.1.1",
      "eth0",
      4789,
      false,
      true,
    ]);
    const neigh = ipJson(["-n", a, "neigh", "show", "dev", "vx0"]);
    assert.deepEqual(neigh.map((n) => [n.dst, n.lladdr, n.state]), [[
      "10.0.9.20",
      "02:42:0a:00:09:14",
      ["PERMANENT"],
    ]]);
    const fdb = bridgeJson(["-n", a, "fdb", "show", "dev", "vx0"]);
    const unicast = fdb.filter((f) => f.mac === "02:42:0a:00:09:14");
    assert.deepEqual(unicast.map((f) => f.dst), ["198.18.1.2"]);
    assert.ok(
      unicast.every((f) => (f.flags as string[]).includes("self") && f.state === "permanent"),
    );
    const flood = fdb.filter((f) => f.mac === "00:00:00:00:00:00").map((f) => f.dst).sort();
    assert.deepEqual(
      flood,
      ["198.18.1.2", "198.18.1.3"],
      "append adds a second VTEP to the flood list",
    );
    // Our dumps agree with ip.
    const ours = neighList(handleFor(a)).filter((n) => n.index === 11);
    assert.deepEqual(ours.map((n) => [n.dst, n.mac, n.state]), [[
      "10.0.9.20",
      "02:42:0a:00:09:14",
      NUD_PERMANENT,
    ]]);
    const ourFdb = neighList(handleFor(a), AF_BRIDGE).filter((n) => n.index === 11 && n.dst !== "");
    assert.deepEqual(
      ourFdb.map((n) => `${n.mac} ${n.dst}`).sort(),
      fdb.map((f) => `${f.mac} ${f.dst}`).sort(),
    );
  });
});

Deno.test("a macvlan is created on a parent in one namespace and lands directly in another", async () => {
  await withPair((host, ctr) => {
    const h = handleFor(host);
    const q = new Batch(h);
    linkAdd(q, {
      kind: "veth",
      name: "eth0",
      index: 20,
      peer: { name: "peer", index: 21, netnsFd: netnsFd(host) },
    });
    linkAdd(q, {
      kind: "macvlan",
      name: "mv0",
      index: 30,
      parent: 20,
      mode: "private",
      netnsFd: netnsFd(ctr),
      mac: "02:00:00:00:00:30",
    });
    linkAdd(q, { kind: "macvlan", name: "shim", parent: 20, mode: "bridge" });
    q.flush();
    const mv = link(ctr, "mv0")!;
    assert.deepEqual([mv.ifindex, mv.address, mv.linkinfo?.info_kind], [
      30,
      "02:00:00:00:00:30",
      "macvlan",
    ]);
    assert.equal(mv.linkinfo?.info_data?.mode, "private");
    assert.equal(typeof mv.link_netnsid, "number", "its parent lives in another namespace");
    assert.equal(link(host, "mv0"), undefined);
    assert.equal(link(host, "shim")?.linkinfo?.info_data?.mode, "bridge");
  });
});

Deno.test("an 802.1Q vlan is created on its parent, or refused with a hint when the kernel lacks 8021q", async () => {
  await withPair((a, b) => {
    const q = new Batch(handleFor(a));
    linkAdd(q, { kind: "veth", name: "eth0", index: 20, peer: { name: "p", netnsFd: netnsFd(b) } });
    linkAdd(q, { kind: "vlan", name: "eth0.50", index: 21, parent: 20, id: 50 });
    try {
      q.flush();
      const v = link(a, "eth0.50")!;
      assert.equal(v.linkinfo?.info_data?.id, 50);
    } catch (e) {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.errnoName, "EOPNOTSUPP");
      assert.match(
        e.message,
        /Cannot add link "eth0\.50" in namespace ".*": this kernel does not support/,
      );
      assert.match(e.message, /8021q/);
    }
  });
});

Deno.test("linkSet changes mtu, address, name, master, alias and namespace as ip sees them", async () => {
  await withPair((a, b) => {
    const h = handleFor(a);
    const q = new Batch(h);
    linkAdd(q, { kind: "bridge", name: "br0", index: 50 });
    linkAdd(q, {
      kind: "veth",
      name: "x0",
      index: 51,
      peer: { name: "x1", index: 52, netnsFd: netnsFd(a) },
    });
    q.flush();
    linkSet(h, 51, {
      mtu: 1300,
      mac: "02:00:00:00:00:51",
      name: "renamed",
      master: 50,
      alias: "nslab:test",
      up: true,
    });
    const r = link(a, "renamed")!;
    assert.deepEqual([r.ifindex, r.mtu, r.address, r.master, r.ifalias], [
      51,
      1300,
      "02:00:00:00:00:51",
      "br0",
      "nslab:test",
    ]);
    assert.ok(r.flags.includes("UP"));
    linkSet(h, 51, { master: 0 });
    assert.equal(link(a, "renamed")!.master, undefined, "master 0 releases the port");
    linkSet(h, "x1", { netnsFd: netnsFd(b) });
    assert.equal(link(a, "x1"), undefined);
    assert.ok(link(b, "x1"));
    assert.equal(linkList(handleFor(b)).find((l) => l.name === "x1")?.kind, "veth");
  });
});

Deno.test("addresses and routes added through the shim carry real traffic, and stop when removed", async () => {
  await withPair((a, b) => {
    const q = new Batch(handleFor(a));
    linkAdd(q, {
      kind: "veth",
      name: "eth0",
      index: 9,
      peer: { name: "eth0", index: 9, netnsFd: netnsFd(b) },
    });
    linkSet(q, 1, { up: true });
    linkSet(q, 9, { up: true });
    addrAdd(q, { index: 9, address: "10.123.0.1", prefix: 24, dev: "eth0" });
    q.flush();
    const qb = new Batch(handleFor(b));
    linkSet(qb, 9, { up: true });
    addrAdd(qb, { index: 9, address: "10.123.0.2", prefix: 24 });
    routeAdd(qb, { dst: "default", via: "10.123.0.1", index: 9 });
    routeReplace(qb, { dst: "10.124.0.0/16", index: 9, src: "10.123.0.2" });
    qb.flush();
    addrAdd(handleFor(a), { index: 9, address: "10.124.5.5", prefix: 32 });
    const addrs = ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>([
      "-n",
      b,
      "addr",
      "show",
      "dev",
      "eth0",
    ]);
    assert.ok(addrs[0].addr_info.some((x) => x.local === "10.123.0.2" && x.prefixlen === 24));
    const routes = ipJson(["-n", b, "route", "show"]);
    assert.ok(
      routes.some((r) => r.dst === "default" && r.gateway === "10.123.0.1" && r.dev === "eth0"),
    );
    assert.ok(
      routes.some((r) =>
        r.dst === "10.124.0.0/16" && r.prefsrc === "10.123.0.2" && r.scope === "link"
      ),
    );
    assert.ok(
      routeList(handleFor(b)).some((r) =>
        r.dst === "default" && r.gateway === "10.123.0.1" && r.oif === 9
      ),
    );
    assert.ok(addrList(handleFor(b)).some((x) => x.address === "10.123.0.2" && x.prefix === 24));
    assert.ok(pings(b, "10.123.0.1"), "the gateway answers");
    assert.ok(pings(b, "10.124.5.5"), "the device route reaches a.");
    // Break it: without the address the same ping must fail.
    addrDel(handleFor(a), { index: 9, address: "10.124.5.5", prefix: 32 });
    assert.equal(pings(b, "10.124.5.5"), false);
  });
});

Deno.test("errors name the operation, object, namespace, errno, and the fix", async () => {
  await withPair((a) => {
    const h = handleFor(a);
    linkAdd(h, { kind: "bridge", name: "br0" });
    const dup = new Batch(h, { lab: "shop" });
    linkAdd(dup, { kind: "bridge", name: "br0" });
    assert.throws(() => dup.flush(), (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(
        e.message,
        `Cannot add link "br0" in namespace "${a}": a link with that name already exists (EEXIST); ` +
          `another lab or a leftover uses it — run "nslab down -p shop" or pick another lab name`,
      );
      assert.equal(e.exitCode, 1);
      return true;
    });
    assert.throws(() => linkSet(h, "nosuch0", { up: true }), (e: unknown) => {
      assert.ok(e instanceof NetlinkError);
      assert.equal(e.errnoName, "ENODEV");
      assert.match(
        e.message,
        /^Cannot set link "nosuch0" in namespace ".*": a device it refers to does not exist .*\(ENODEV\).*; create the parent/,
      );
      return true;
    });
    assert.throws(
      () => linkAdd(h, { kind: "veth", name: "v", master: 999, peer: { name: "p" } }),
      /ENODEV|EINVAL/,
    );
    assert.throws(
      () => routeAdd(h, { dst: "default", via: "10.99.0.1", index: 1 }),
      (e: unknown) => {
        assert.ok(e instanceof NetlinkError);
        assert.match(e.message, /Cannot add route "default via 10\.99\.0\.1" on "ifindex 1"/);
        assert.ok(!/^File exists$/.test(e.message));
        return true;
      },
    );
  });
});

Deno.test("a batch reports the first failure and keeps later requests' failures countable", async () => {
  await withPair((a) => {
    const h = handleFor(a);
    const q = new Batch(h);
    for (let i = 0; i < 600; i++) linkAdd(q, { kind: "bridge", name: `b${i}`, index: 100 + i });
    const before = h.sends;
    q.flush();
    assert.equal(h.sends - before, 2, "600 small requests fit in two datagrams (512 per datagram)");
    assert.equal(linkList(h).filter((l) => l.kind === "bridge").length, 600);
    const bad = new Batch(h);
    linkAdd(bad, { kind: "bridge", name: "ok1" });
    linkAdd(bad, { kind: "bridge", name: "b1" });
    linkAdd(bad, { kind: "bridge", name: "b2" });
    assert.throws(
      () => bad.flush(),
      /Cannot add link "b1".*\(1 later request\(s\) of the same batch failed too/,
    );
    assert.ok(linkGet(h, "ok1"), "requests before the failure took effect");
  });
});
