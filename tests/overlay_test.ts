/**
 * Overlay networks across two and three simulated hosts, proven with real clients (ping, curl,
 * getent, tcpdump, bridge) from inside the lab's namespaces — and broken on purpose (one FDB entry
 * deleted) to show exactly that path fails while the others keep working.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/load.ts";
import { assertNoNamespaces, capture, inNs, labName, run } from "./_ov_support.ts";

/** An overlay `mesh` with one responder container `pN` on each host `hN`. */
function meshTopology(hosts: number): TopologyInput {
  const h: Record<string, unknown> = {};
  const containers: Record<string, unknown> = {};
  for (let i = 1; i <= hosts; i++) {
    h[`h${i}`] = {};
    containers[`peer${i}`] = { host: `h${i}`, expose: [80], networks: ["mesh"] };
  }
  // a container on h2 that shares no network with the overlay members
  containers["lonely"] = { host: "h2", expose: [80], networks: ["side"] };
  return {
    hosts: h,
    networks: {
      mesh: { driver: "overlay", ipam: { config: [{ subnet: "10.10.0.0/24" }] } },
      side: { driver: "bridge" },
    },
    containers,
  } as TopologyInput;
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "two hosts: overlay members ping, curl and resolve each other by name across the underlay",
  ...opts,
  async fn(t) {
    const name = labName();
    try {
      await using lab = await Lab.up(meshTopology(2), { name, uplink: false });
      const m = lab.model;
      const addr = (c: string) => lab.inspect(c).endpoints[0].address!;

      await t.step("ping and curl by name in both directions", async () => {
        assertEquals((await inNs(name, "peer1", ["ping", "-c1", "-W2", "-q", "peer2"])).code, 0);
        assertEquals((await inNs(name, "peer2", ["ping", "-c1", "-W2", "-q", "peer1"])).code, 0);
        assertEquals(
          (await inNs(name, "peer1", ["curl", "-s", "-m", "3", "http://peer2/"])).out,
          "peer2\n",
        );
        assertEquals(
          (await inNs(name, "peer2", ["curl", "-s", "-m", "3", "http://peer1/"])).out,
          "peer1\n",
        );
      });

      await t.step(
        "names resolve across hosts, and not for a container off the overlay",
        async () => {
          const r = await inNs(name, "peer1", ["getent", "hosts", "peer2"]);
          assertEquals(r.code, 0);
          assertMatch(r.out, new RegExp(`^${addr("peer2").replaceAll(".", "\\.")}\\s+peer2`));
          assert((await inNs(name, "lonely", ["getent", "hosts", "peer1"])).code !== 0);
          assert(
            (await inNs(name, "lonely", ["ping", "-c1", "-W1", "-q", addr("peer1")])).code !== 0,
          );
        },
      );

      await t.step(
        "the container's overlay interface has MTU 1450 and a full frame fits",
        async () => {
          const link = JSON.parse(
            (await inNs(name, "peer1", ["ip", "-j", "link", "show", "eth0"])).out,
          );
          assertEquals(link[0].mtu, 1450);
          // 1422 bytes of ICMP payload + 28 = 1450, encapsulated into a 1500-byte underlay frame
          const big = await inNs(name, "peer1", [
            "ping",
            "-c1",
            "-W2",
            "-q",
            "-M",
            "do",
            "-s",
            "1422",
            "peer2",
          ]);
          assertEquals(big.code, 0, big.out);
          const tooBig = await inNs(name, "peer1", [
            "ping",
            "-c1",
            "-W1",
            "-q",
            "-M",
            "do",
            "-s",
            "1423",
            "peer2",
          ]);
          assert(
            tooBig.code !== 0,
            "a 1451-byte packet must not leave a 1450-MTU interface unfragmented",
          );
        },
      );

      await t.step("the traffic crosses the underlay as VXLAN over UDP 4789", async () => {
        const cap = await capture(
          `${name}-underlay`,
          m.underlay.bridge,
          ["udp", "port", "4789"],
          4,
        );
        const p = await inNs(name, "peer1", ["ping", "-c2", "-i", "0.2", "-W2", "-q", "peer2"]);
        assertEquals(p.code, 0);
        const out = await cap.done;
        const h1 = m.hosts.find((h) => h.name === "h1")!.address;
        const h2 = m.hosts.find((h) => h.name === "h2")!.address;
        const vni = m.networks.find((n) => n.name === "mesh")!.vxlan!.vni;
        assertEquals(vni, 4096);
        assertMatch(out, new RegExp(`${h1}\\.\\d+ > ${h2}\\.4789: VXLAN.*vni ${vni}`));
        assertMatch(out, new RegExp(`${h2}\\.\\d+ > ${h1}\\.4789: VXLAN.*vni ${vni}`));
        assertMatch(out, new RegExp(`${addr("peer1")} > ${addr("peer2")}: ICMP echo request`));
      });
    } finally {
      await assertNoNamespaces(name);
    }
  },
});

Deno.test({
  name: "three hosts: deleting one FDB entry breaks exactly that path, re-adding it heals it",
  ...opts,
  async fn(t) {
    const name = labName();
    try {
      await using lab = await Lab.up(meshTopology(3), { name, uplink: false });
      const m = lab.model;
      const vx = m.networks.find((n) => n.name === "mesh")!.vxlan!.device;
      const host = (h: string) => m.hosts.find((x) => x.name === h)!;
      const pairs = [["peer1", "peer2"], ["peer1", "peer3"], ["peer2", "peer3"], [
        "peer3",
        "peer1",
      ]];
      const reach = async (a: string, b: string) =>
        (await inNs(name, a, ["curl", "-s", "-m", "2", `http://${b}/`])).out === `${b}\n`;

      await t.step("every pair on the overlay reaches each other by name", async () => {
        for (const [a, b] of pairs) assert(await reach(a, b), `${a} → ${b}`);
      });

      await t.step("h1 holds FDB and neighbour entries exactly for the remote peers", async () => {
        const fdb = JSON.parse(
          (await run(["bridge", "-n", `${name}-h1`, "-j", "fdb", "show", "dev", vx])).out,
        ) as { mac: string; dst?: string }[];
        const remote = fdb.filter((e) => e.dst).map((e) => `${e.mac}@${e.dst}`).sort();
        const expected = ["peer2", "peer3"].map((c) =>
          `${lab.inspect(c).endpoints[0].mac}@${host(lab.inspect(c).host).address}`
        ).sort();
        assertEquals(remote, expected);
      });

      const p2 = lab.inspect("peer2").endpoints[0];
      const del = [
        "bridge",
        "-n",
        `${name}-h1`,
        "fdb",
        "del",
        p2.mac,
        "dev",
        vx,
        "dst",
        host("h2").address,
        "self",
      ];
      await t.step(
        "without h1's entry for peer2, peer1 cannot reach peer2; every other path works",
        async () => {
          assertEquals((await run(del)).code, 0);
          assert(!(await reach("peer1", "peer2")), "peer1 → peer2 must fail without its FDB entry");
          assert(
            (await inNs(name, "peer1", ["ping", "-c1", "-W1", "-q", p2.address!])).code !== 0,
            "ping peer1 → peer2 must fail too",
          );
          assert(await reach("peer1", "peer3"), "peer1 → peer3 is another path");
          assert(await reach("peer3", "peer2"), "peer3 → peer2 does not use h1's table");
          assert(await reach("peer3", "peer1"), "peer3 → peer1 still works");
        },
      );

      await t.step("putting the entry back heals the path", async () => {
        const add = [
          "bridge",
          "-n",
          `${name}-h1`,
          "fdb",
          "append",
          p2.mac,
          "dev",
          vx,
          "dst",
          host("h2").address,
          "self",
          "permanent",
        ];
        assertEquals((await run(add)).code, 0);
        assert(await reach("peer1", "peer2"));
      });

      await t.step("check passes for the whole lab", async () => {
        const report = await lab.check();
        assertEquals(report.results.filter((r) => !r.pass).map((r) => r.expectation.id), []);
      });
    } finally {
      await assertNoNamespaces(name);
    }
  },
});
