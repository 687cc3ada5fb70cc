/**
 * An IPv6-only network (`enable_ipv4: false`) beside a dual-stack one (`wide`): the container only on it
 * has no IPv4 address or default route, is reached with `ping -6`/`curl -6`, its name answers AAAA
 * and an empty NOERROR for A, `nslab check` passes with only IPv6 rows for it, and deleting its
 * IPv6 address and routes turns exactly its reach, isolation and port rows red. `b`, on both with
 * the IPv6-only one first, routes IPv4 out through `wide` and IPv6 through `six` (Docker 28 picks
 * each family's gateway on its own).
 */

import assert, { deepStrictEqual, equal } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/load.ts";
import { assertNoNamespaces, inNs } from "./_ov_support.ts";
import { failingIds } from "./_v6_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const TOPOLOGY = {
  networks: {
    six: { enable_ipv6: true, enable_ipv4: false },
    wide: { enable_ipv6: true },
  },
  containers: {
    a: { networks: ["six"], expose: [80], ports: ["8080:80"] },
    b: { networks: ["six", "wide"] },
    c: { networks: ["wide"] },
  },
} as unknown as TopologyInput;

/** Rows with `a` as source or target. */
const ofA = (id: string) => /:a->|->a@|^dns:a:|:a$|->host.*8080/.test(id);

Deno.test({
  name: "IPv6-only network: IPv6 only, AAAA and an empty A, only IPv6 rows, a break fails them",
  ...opts,
  async fn(t) {
    const name = `vo${crypto.randomUUID().replaceAll("-", "").slice(0, 7)}`;
    try {
      await using lab = await Lab.up(TOPOLOGY, { name, uplink: false });
      const ep = lab.model.containers.find((c) => c.name === "a")!.endpoints[0];
      const a6 = ep.ipv6!.address;
      const must = async (ns: string, cmd: string[]) => {
        const r = await inNs(name, ns, cmd);
        equal(r.code, 0, `${cmd.join(" ")}: ${r.err}`);
        return r.out;
      };

      await t.step("a has only IPv6: no IPv4 address, an IPv6 default route alone", async () => {
        equal(await must("a", ["ip", "-4", "addr", "show", "dev", "eth0"]), "");
        equal(await must("a", ["ip", "-4", "route", "show"]), "");
        assert(
          (await must("a", ["ip", "-6", "route", "show", "default"])).startsWith("default via"),
        );
        await must("b", ["ping", "-6", "-c", "1", "-W", "2", a6]);
        equal(await must("b", ["curl", "-6", "-sS", "-m", "5", `http://[${a6}]:80/`]), "a\n");
      });

      await t.step("b takes its IPv4 default route from wide, its IPv6 one from six", async () => {
        const gw = (n: string) => lab.model.networks.find((x) => x.name === n)!;
        const r4 = await must("b", ["ip", "-4", "route", "show", "default"]);
        assert(r4.startsWith(`default via ${gw("wide").gateway} dev eth1`), r4);
        const r6 = await must("b", ["ip", "-6", "route", "show", "default"]);
        assert(r6.startsWith(`default via ${gw("six").ipv6!.gateway} dev eth0`), r6);
      });

      await t.step("the embedded DNS: AAAA for a, an empty NOERROR for A", async () => {
        equal((await must("b", ["dig", "+short", "-t", "AAAA", "-q", "a"])).trim(), a6);
        const noA = await must("b", ["dig", "-t", "A", "-q", "a"]);
        assert(noA.includes("status: NOERROR") && noA.includes("ANSWER: 0,"), noA);
      });

      const ids = new Set<string>();
      await t.step("check passes; a's reach and port rows are IPv6 ones only", async () => {
        const report = await lab.check();
        deepStrictEqual(failingIds(report), []);
        for (const r of report.results) ids.add(r.expectation.id);
        const rowsOfA = [...ids].filter(ofA);
        for (
          const id of ["reach:b->a@six/ipv6:tcp/80", "reach:a->b@six/ipv6:icmp", "dns:b:AAAA:a"]
        ) {
          assert(ids.has(id), `${id} missing from ${[...ids].join(" ")}`);
        }
        for (const id of rowsOfA) {
          if (id.startsWith("dns:") || id.startsWith("iface:")) continue;
          assert(id.includes("/ipv6"), `an IPv4 row for the IPv6-only container: ${id}`);
        }
        assert(ids.has("reach:c->b@wide:icmp"), "the dual-stack network keeps its IPv4 rows");
        assert(ids.has("reach:b->underlay:host:icmp"), "b reaches the underlay over wide");
      });

      await t.step("a loses its IPv6 address and routes: exactly its rows fail", async () => {
        await must("a", ["ip", "-6", "addr", "del", `${a6}/${ep.ipv6!.prefix}`, "dev", "eth0"]);
        await must("a", ["ip", "-6", "route", "flush", "dev", "eth0"]);
        const report = await lab.check();
        const bad = failingIds(report);
        // The isolation rows lose their positive control (a reaches nothing, nothing reaches a).
        deepStrictEqual(bad, [
          "isolation:a->c@wide/ipv6:icmp",
          "isolation:c->a@six/ipv6:tcp/80",
          "port:a->host(hairpin)/ipv6:8080/tcp",
          "port:host->host/ipv6:8080/tcp",
          "reach:a->b@six/ipv6:icmp",
          "reach:b->a@six/ipv6:tcp/80",
        ]);
        assert(bad.every(ofA), bad.join(" "));
      });
    } finally {
      await assertNoNamespaces(name);
    }
  },
});
