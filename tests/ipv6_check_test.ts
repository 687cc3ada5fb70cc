/**
 * `nslab check` on a dual-stack lab: reach, isolation, AAAA and ip6.arpa PTR rows in both
 * families pass; a deleted IPv6 route and an ip6tables drop each fail exactly the IPv6 rows they
 * carry (the isolation rows whose IPv6 target control they kill, as inconclusive), while every
 * IPv4 row stays green.
 */

import assert, { deepStrictEqual, equal } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/load.ts";
import { assertNoNamespaces, inNs } from "./_ov_support.ts";
import { failingIds, v6LabName } from "./_v6_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const DUAL = {
  hosts: { h1: {}, h2: {} },
  networks: {
    front: { enable_ipv6: true },
    back: { enable_ipv6: true, internal: true },
    plain: {},
  },
  containers: {
    web: { host: "h1", networks: ["front", "plain"] },
    app: { host: "h1", expose: [80], networks: ["front", "back"] },
    db: { host: "h1", expose: [5432], networks: ["back"] },
    old: { host: "h1", networks: ["plain"] },
    far: { host: "h2", networks: ["front"] },
  },
} as unknown as TopologyInput;

const isV6 = (id: string) => id.includes("/ipv6:") || id.includes(":AAAA:") || /PTR:.*:/.test(id);

Deno.test({
  name: "check on a dual-stack lab: both families pass, IPv6 breaks fail only IPv6 rows",
  ...opts,
  async fn(t) {
    const name = v6LabName();
    try {
      await using lab = await Lab.up(DUAL, { name, uplink: false });
      const back6 = lab.model.networks.find((n) => n.name === "back")!.ipv6!.subnet;
      const dev = lab.model.containers.find((c) => c.name === "app")!.endpoints
        .find((e) => e.network === "back")!.ifname;
      const must = async (ns: string, cmd: string[]) => {
        const r = await inNs(name, ns, cmd);
        equal(r.code, 0, `${cmd.join(" ")}: ${r.err}`);
      };

      await t.step("every row passes, in both families", async () => {
        const report = await lab.check();
        deepStrictEqual(failingIds(report), []);
        const ids = report.results.map((r) => r.expectation.id);
        for (
          const id of [
            "reach:web->app@front:tcp/80",
            "reach:web->app@front/ipv6:tcp/80",
            "reach:app->web@front/ipv6:icmp",
            "isolation:web->db@back/ipv6:tcp/5432",
            "isolation:far->db@back/ipv6:tcp/5432",
            "dns:web:AAAA:app",
            "dns:far:AAAA:db",
          ]
        ) assert(ids.includes(id), `${id} missing from ${ids.join(" ")}`);
        assert(ids.some((id) => /^dns:app:PTR:fd[0-9a-f:]+$/.test(id)), "no IPv6 PTR row");
        // old has no IPv6: no IPv6 row is derived from it.
        assert(!ids.some((id) => id.startsWith("isolation:old->") && id.includes("/ipv6")));
      });

      await t.step("app loses its IPv6 route to back: the two IPv6 rows over it fail", async () => {
        await must("app", ["ip", "-6", "route", "del", back6, "dev", dev]);
        try {
          const report = await lab.check();
          deepStrictEqual(failingIds(report), [
            "reach:app->db@back/ipv6:tcp/5432",
            "reach:db->app@back/ipv6:tcp/80",
          ]);
          for (const r of report.results.filter((x) => !x.pass)) {
            assert(r.hint.startsWith("only IPv6 fails for this pair"), r.hint);
          }
        } finally {
          await must("app", ["ip", "-6", "route", "add", back6, "dev", dev]);
        }
      });

      await t.step(
        "ip6tables drops db's port: its IPv6 rows fail, its IPv4 rows stay",
        async () => {
          const rule = ["INPUT", "-p", "tcp", "--dport", "5432", "-j", "DROP"];
          await must("db", ["ip6tables", "-I", ...rule]);
          try {
            const report = await lab.check();
            const bad = failingIds(report);
            deepStrictEqual(bad, [
              "isolation:far->db@back/ipv6:tcp/5432",
              "isolation:web->db@back/ipv6:tcp/5432",
              "reach:app->db@back/ipv6:tcp/5432",
            ]);
            assert(bad.every(isV6));
            const inconclusive = report.results.filter((r) => r.inconclusive).map((r) =>
              r.expectation.id
            );
            deepStrictEqual(inconclusive.sort(), bad.filter((id) => id.startsWith("isolation")));
          } finally {
            await must("db", ["ip6tables", "-D", ...rule]);
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
