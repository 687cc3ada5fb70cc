/**
 * docker0 with the daemon's `ipv6: true` + `fixed-cidr-v6`, and a port on `[::1]`: `network_mode: bridge` containers get
 * IPv6 addresses from that prefix, reach each other over it (`curl -6`), and a port they publish
 * answers on the host's IPv6 address from another host; `nslab check` proves it in both
 * families, and deleting one container's IPv6 address fails exactly its IPv6 rows. The `[::1]`
 * port answers on the host's loopback only (through the loopback proxy), and its row fails alone
 * when the host rejects loopback connections to it.
 */

import assert, { deepStrictEqual, equal } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/load.ts";
import { hostAddress6 } from "../core/model/underlay6.ts";
import { assertNoNamespaces, inNs } from "./_ov_support.ts";
import { failingIds, v6LabName } from "./_v6_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const TOPOLOGY = {
  daemon: { ipv6: true, "fixed-cidr-v6": "fd00:d0c::/64" },
  hosts: { h1: {}, h2: {} },
  containers: {
    a: { host: "h1", network_mode: "bridge", expose: [80] },
    b: { host: "h1", network_mode: "bridge", ports: ["8081:80", "[::1]:8082:80"] },
    c: { host: "h2", network_mode: "bridge" },
  },
} as unknown as TopologyInput;

Deno.test({
  name: "docker0 with fixed-cidr-v6: dual-stack default bridge, checked in both families",
  ...opts,
  async fn(t) {
    const name = v6LabName();
    try {
      await using lab = await Lab.up(TOPOLOGY, { name, uplink: false });
      const h1v6 = hostAddress6(lab.model, lab.model.hosts.find((h) => h.name === "h1")!)!;
      const curl = async (ns: string, url: string) =>
        (await inNs(name, ns, ["curl", "-6", "-s", "-m", "5", url])).out;

      await t.step("containers take fixed-cidr-v6 addresses and answer on them", async () => {
        const direct = await inNs(name, "a", [
          "curl",
          "-6",
          "-sS",
          "-m",
          "5",
          "http://[fd00:d0c::3]:80/",
        ]);
        equal(direct.out, "b\n", direct.err);
        equal(await curl("h2", `http://[${h1v6}]:8081/`), "b\n");
        const route = await inNs(name, "a", ["ip", "-6", "route", "show", "default"]);
        assert(route.out.startsWith("default via fd00:d0c::1 dev eth0"), route.out);
        const bridge = await inNs(name, "h1", ["ip", "-6", "addr", "show", "dev", "docker0"]);
        assert(bridge.out.includes("inet6 fd00:d0c::1/64"), bridge.out);
      });

      await t.step("every row passes, the IPv6 ones included", async () => {
        const report = await lab.check();
        deepStrictEqual(failingIds(report), []);
        const ids = report.results.map((r) => r.expectation.id);
        for (
          const id of [
            "reach:a->b@bridge/ipv6:tcp/80",
            "reach:b->a@bridge/ipv6:tcp/80",
            "port:outside(h2)->h1/ipv6:8081/tcp",
            "port:h1->[::1]/ipv6:8082/tcp",
            "port:outside(h2)->h1/ipv6:8082/tcp",
          ]
        ) assert(ids.includes(id), `${id} missing from ${ids.join(" ")}`);
      });

      await t.step("[::1]:8082 answers on the host's loopback only", async () => {
        equal(await curl("h1", "http://[::1]:8082/"), "b\n");
        equal(await curl("h1", `http://[${h1v6}]:8082/`), "");
        equal(await curl("h2", `http://[${h1v6}]:8082/`), "");
        const v4 = await inNs(name, "h1", ["curl", "-s", "-m", "2", "http://127.0.0.1:8082/"]);
        equal(v4.out, "", "published on IPv6 loopback only");
      });

      await t.step("loopback connections to 8082 rejected: only its [::1] row fails", async () => {
        const rule = ["INPUT", "-i", "lo", "-p", "tcp", "--dport", "8082", "-j", "REJECT"];
        equal((await inNs(name, "h1", ["ip6tables", "-I", ...rule])).code, 0);
        try {
          deepStrictEqual(failingIds(await lab.check()), ["port:h1->[::1]/ipv6:8082/tcp"]);
        } finally {
          equal((await inNs(name, "h1", ["ip6tables", "-D", ...rule])).code, 0);
        }
      });

      await t.step(
        "b's IPv6 addresses flushed: exactly the IPv6 rows to and from b fail",
        async () => {
          // Global and link-local both: with its link-local left, b would still reach a from it.
          const linkLocal = JSON.parse(
            (await inNs(name, "b", ["ip", "-6", "-j", "addr", "show", "dev", "eth0"])).out,
          )[0].addr_info.find((a: { scope?: string }) => a.scope === "link").local as string;
          const flush = await inNs(name, "b", ["ip", "-6", "addr", "flush", "dev", "eth0"]);
          equal(flush.code, 0, flush.err);
          try {
            const report = await lab.check();
            deepStrictEqual(failingIds(report), [
              "port:b->h1(hairpin)/ipv6:8081/tcp",
              "port:h1->[::1]/ipv6:8082/tcp", // the loopback proxy goes to b's IPv6 address
              "port:h1->h1/ipv6:8081/tcp",
              "port:h1->h1/ipv6:8082/tcp", // closed rows whose control (b answers) is gone
              "port:outside(h2)->h1/ipv6:8081/tcp",
              "port:outside(h2)->h1/ipv6:8082/tcp",
              "reach:a->b@bridge/ipv6:tcp/80",
              "reach:b->a@bridge/ipv6:tcp/80",
            ]);
            const inconclusive = report.results.filter((r) => r.inconclusive);
            deepStrictEqual(inconclusive.map((r) => r.expectation.id).sort(), [
              "port:h1->h1/ipv6:8082/tcp",
              "port:outside(h2)->h1/ipv6:8082/tcp",
            ]);
            // Every failing row with an IPv4 twin names IPv6 as the family that fails.
            const twinned = (id: string) => !id.includes("[::1]");
            for (
              const r of report.results.filter((x) =>
                !x.pass && !x.inconclusive && twinned(x.expectation.id)
              )
            ) {
              assert(r.hint.startsWith("only IPv6 fails"), `${r.expectation.id}: ${r.hint}`);
            }
          } finally {
            for (const address of ["fd00:d0c::3/64", `${linkLocal}/64`]) {
              const add = ["ip", "-6", "addr", "add", address, "dev", "eth0", "nodad"];
              equal((await inNs(name, "b", add)).code, 0);
            }
            const route = ["ip", "-6", "route", "replace", "default", "via", "fd00:d0c::1"];
            equal((await inNs(name, "b", route)).code, 0);
            // Forget the failed resolutions on both sides, and let b greet its gateway again, as
            // up does (a repair, not a check).
            await inNs(name, "h1", ["ip", "-6", "neigh", "flush", "dev", "docker0"]);
            await inNs(name, "b", ["ip", "-6", "neigh", "flush", "dev", "eth0"]);
            await inNs(name, "b", ["ping", "-6", "-c", "1", "-W", "2", "fd00:d0c::1"]);
          }
        },
      );

      await t.step("repaired: everything passes again", async () => {
        deepStrictEqual(failingIds(await lab.check()), []);
      });
    } finally {
      await assertNoNamespaces(name);
    }
  },
});
