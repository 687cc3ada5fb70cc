/**
 * `nslab check` rows that exist only in IPv6, on one lab: a published port probed on the host's
 * IPv6 address (from the other host, the host itself and hairpin), reach over an overlay across
 * two hosts and over macvlan, and AAAA answers. Each break fails exactly the rows it should: the
 * port's ip6tables DNAT rule deleted (its IPv6 port rows, not the IPv4 ones), a wrong AAAA served
 * (the AAAA rows of that name, not its A rows), the overlay's IPv6 neighbour entry deleted (the
 * IPv6 overlay pair), an IPv6 route over macvlan deleted (the IPv6 macvlan pair).
 */

import assert, { deepStrictEqual, equal } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/load.ts";
import type { RecordTable } from "../core/dns/records.ts";
import { hostAddress6 } from "../core/model/underlay6.ts";
import { assertNoNamespaces, inNs } from "./_ov_support.ts";
import { failingIds, v6LabName } from "./_v6_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const TOPOLOGY = {
  hosts: { h1: {}, h2: {} },
  networks: {
    front: { enable_ipv6: true },
    mesh: { driver: "overlay", enable_ipv6: true },
    lan: {
      driver: "macvlan",
      enable_ipv6: true,
      ipam: { config: [{ subnet: "fd00:db8:79::/64" }] },
    },
  },
  containers: {
    web: { host: "h1", ports: ["8080:80"], networks: ["front"] },
    app: { host: "h1", networks: ["front"] },
    ov1: { host: "h1", expose: [80], networks: ["mesh", "lan"] },
    ov2: { host: "h2", expose: [80], networks: ["mesh", "lan"] },
  },
} as unknown as TopologyInput;

/** `table` with every AAAA answer `from` replaced by `to` (the records are not changed). */
function withWrongAaaa(table: RecordTable, from: string, to: string): RecordTable {
  const networks = new Map(
    [...table.networks].map(([key, n]) => {
      const aaaa = new Map([...n.aaaa].map(([name, addrs]) => [
        name,
        addrs.map((a) => a === from ? to : a),
      ]));
      return [key, { ...n, aaaa }];
    }),
  );
  return { ...table, networks };
}

Deno.test({
  name: "IPv6 rows: ports on the host's IPv6 address, overlay, macvlan, AAAA; each break is exact",
  ...opts,
  async fn(t) {
    const name = v6LabName();
    try {
      await using lab = await Lab.up(TOPOLOGY, { name, uplink: false });
      const model = lab.model;
      const h1v6 = hostAddress6(model, model.hosts.find((h) => h.name === "h1")!)!;
      const v6 = (c: string, net: string) =>
        model.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === net)!
          .ipv6!.address;
      const must = async (ns: string, cmd: string[]) => {
        const r = await inNs(name, ns, cmd);
        equal(r.code, 0, `${cmd.join(" ")}: ${r.err}`);
        return r.out;
      };
      const port6Rows = [
        "port:h1->h1/ipv6:8080/tcp",
        "port:outside(h2)->h1/ipv6:8080/tcp",
        "port:web->h1(hairpin)/ipv6:8080/tcp",
      ];

      await t.step("every row passes; the IPv6 rows are there; curl -6 agrees", async () => {
        const report = await lab.check();
        deepStrictEqual(failingIds(report), []);
        const ids = report.results.map((r) => r.expectation.id);
        for (
          const id of [
            ...port6Rows,
            "port:outside(h2)->h1:8080/tcp",
            "reach:ov1->ov2@mesh/ipv6:tcp/80",
            "reach:ov2->ov1@mesh/ipv6:tcp/80",
            "reach:ov1->ov2@lan/ipv6:tcp/80",
            "reach:ov2->ov1@lan/ipv6:tcp/80",
            "dns:app:AAAA:web",
          ]
        ) assert(ids.includes(id), `${id} missing from ${ids.join(" ")}`);
        const got = await must("h2", ["curl", "-6", "-s", "-m", "2", `http://[${h1v6}]:8080/`]);
        equal(got, "web\n");
      });

      await t.step(
        "the port's ip6tables DNAT rule deleted: only its IPv6 port rows fail",
        async () => {
          const rules = await must("h1", ["ip6tables", "-t", "nat", "-S", "DOCKER"]);
          const dnat = rules.split("\n").find((l) => l.includes("DNAT") && l.includes("8080"))!;
          const spec = dnat.replace(/^-A DOCKER /, "").match(/"[^"]*"|\S+/g)!
            .map((w) => w.replace(/^"|"$/g, ""));
          await must("h1", ["ip6tables", "-t", "nat", "-D", "DOCKER", ...spec]);
          try {
            const report = await lab.check();
            deepStrictEqual(failingIds(report), port6Rows);
            for (const r of report.results.filter((x) => !x.pass)) {
              assert(r.hint.startsWith("only IPv6 fails"), r.hint);
            }
            const curl = await inNs(name, "h2", [
              "curl",
              "-6",
              "-s",
              "-m",
              "2",
              `http://[${h1v6}]:8080/`,
            ]);
            equal(curl.out, "");
          } finally {
            await must("h1", ["ip6tables", "-t", "nat", "-A", "DOCKER", ...spec]);
          }
        },
      );

      await t.step("a wrong AAAA served for web: its AAAA rows fail, its A rows pass", async () => {
        const right = lab.supervisor.dnsRecords;
        const web6 = v6("web", "front");
        lab.supervisor.serveDnsRecords(withWrongAaaa(right, web6, "fd00:dead::1"));
        try {
          const dig = await must("app", ["dig", "+short", "AAAA", "web"]);
          equal(dig.trim(), "fd00:dead::1");
          const report = await lab.check();
          const aaaaOfWeb = report.results.filter((r) =>
            r.expectation.expect.kind === "addresses" && r.expectation.id.includes(":AAAA:") &&
            r.expectation.expect.addresses.includes(web6)
          ).map((r) => r.expectation.id).sort();
          assert(aaaaOfWeb.includes("dns:app:AAAA:web"), aaaaOfWeb.join(" "));
          deepStrictEqual(failingIds(report), aaaaOfWeb);
          assert(report.results.some((r) => r.expectation.id === "dns:app:A:web" && r.pass));
        } finally {
          lab.supervisor.serveDnsRecords(right);
        }
      });

      await t.step(
        "the overlay's IPv6 neighbour entry of ov2 deleted: the IPv6 mesh pair fails",
        async () => {
          const ov2 = v6("ov2", "mesh");
          const entries = JSON.parse(
            await must("h1", ["ip", "-6", "-j", "neigh", "show", "to", ov2]),
          );
          const { dev, lladdr } = entries.find((e: { state: string[] }) =>
            e.state.includes("PERMANENT")
          );
          await must("h1", ["ip", "-6", "neigh", "del", ov2, "dev", dev]);
          const ov1dev = model.containers.find((c) => c.name === "ov1")!.endpoints
            .find((e) => e.network === "mesh")!.ifname;
          await must("ov1", ["ip", "-6", "neigh", "flush", "dev", ov1dev]);
          try {
            // The isolation rows towards ov1/ov2 lose their control (ov2 ↔ ov1 over mesh proves
            // the target listens): inconclusive, as the reach pair's break explains them.
            const report = await lab.check();
            const isolation = [
              "isolation:app->ov1@mesh/ipv6:tcp/80",
              "isolation:app->ov2@mesh/ipv6:tcp/80",
              "isolation:web->ov1@mesh/ipv6:tcp/80",
              "isolation:web->ov2@mesh/ipv6:tcp/80",
            ];
            deepStrictEqual(failingIds(report), [
              ...isolation,
              "reach:ov1->ov2@mesh/ipv6:tcp/80",
              "reach:ov2->ov1@mesh/ipv6:tcp/80",
            ]);
            const inconclusive = report.results.filter((r) => r.inconclusive);
            deepStrictEqual(inconclusive.map((r) => r.expectation.id).sort(), isolation);
          } finally {
            await must("h1", [
              "ip",
              "-6",
              "neigh",
              "replace",
              ov2,
              "lladdr",
              lladdr,
              "dev",
              dev,
              "nud",
              "permanent",
            ]);
            // ov1 forgets the failed resolution and resolves ov2 again (a repair, not a check).
            await must("ov1", ["ip", "-6", "neigh", "flush", "dev", ov1dev]);
            await inNs(name, "ov1", ["ping", "-6", "-c", "1", "-W", "2", ov2]);
          }
        },
      );

      await t.step("ov1's IPv6 route over macvlan deleted: the IPv6 lan pair fails", async () => {
        const dev = model.containers.find((c) => c.name === "ov1")!.endpoints
          .find((e) => e.network === "lan")!.ifname;
        const subnet = model.networks.find((n) => n.name === "lan")!.ipv6!.subnet;
        await must("ov1", ["ip", "-6", "route", "del", subnet, "dev", dev]);
        try {
          deepStrictEqual(failingIds(await lab.check()), [
            "reach:ov1->ov2@lan/ipv6:tcp/80",
            "reach:ov2->ov1@lan/ipv6:tcp/80",
          ]);
        } finally {
          await must("ov1", ["ip", "-6", "route", "add", subnet, "dev", dev]);
        }
      });

      await t.step("repaired: everything passes again", async () => {
        deepStrictEqual(failingIds(await lab.check()), []);
      });
    } finally {
      await assertNoNamespaces(name);
    }
  },
});
