/**
 * IPv6 dual-stack built as Docker builds it, proven with real clients (`ping -6`, `curl -6`):
 * addresses without DAD on bridge, internal bridge, overlay across two hosts and macvlan, a
 * published port reached on IPv6, Docker's isolation in ip6tables — and each break (an ip6tables
 * rule deleted, an IPv6 route removed) fails exactly the path it carries.
 */

import assert, { equal } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/load.ts";
import { assertNoNamespaces, inNs } from "./_ov_support.ts";
import { v6LabName } from "./_v6_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const DUAL = {
  hosts: { h1: {}, h2: {} },
  networks: {
    front: { enable_ipv6: true },
    back: {
      enable_ipv6: true,
      internal: true,
      ipam: { config: [{ subnet: "172.31.77.0/24" }, { subnet: "fd00:db8:77::/64" }] },
    },
    other: { enable_ipv6: true },
    plain: {},
    mesh: { driver: "overlay", enable_ipv6: true },
    lan: {
      driver: "macvlan",
      enable_ipv6: true,
      ipam: { config: [{ subnet: "fd00:db8:78::/64" }] },
    },
  },
  containers: {
    web: { host: "h1", ports: ["8080:80", "[::]:8443:80"], networks: ["front", "back", "plain"] },
    old: { host: "h1", expose: [80], networks: ["plain"] },
    api: { host: "h1", expose: [80], networks: ["back", "other"] },
    ov1: { host: "h1", expose: [80], networks: ["mesh", "lan"] },
    ov2: { host: "h2", expose: [80], networks: ["mesh", "lan"] },
  },
} as unknown as TopologyInput;

Deno.test({
  name: "dual-stack: IPv6 works where Docker lets it, is stopped where Docker stops it, and breaks",
  ...opts,
  async fn(t) {
    const name = v6LabName();
    try {
      await using lab = await Lab.up(DUAL, { name, uplink: false });
      const v6 = (c: string, net: string) =>
        lab.model.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === net)!
          .ipv6!.address;
      const gw6 = (net: string) => lab.model.networks.find((n) => n.name === net)!.ipv6!.gateway;
      const get = async (ns: string, address: string, port = 80) =>
        (await inNs(name, ns, ["curl", "-6", "-s", "-m", "2", `http://[${address}]:${port}/`]))
          .out;
      const ping = async (ns: string, address: string) =>
        (await inNs(name, ns, ["ping", "-6", "-c", "1", "-W", "2", address])).code === 0;

      await t.step("addresses carry nodad, sandboxes ignore RAs, hosts forward IPv6", async () => {
        const addrs = JSON.parse((await inNs(name, "web", ["ip", "-6", "-j", "addr"])).out);
        const global = addrs.flatMap((l: { addr_info: { scope: string; local: string }[] }) =>
          l.addr_info
        ).filter((a: { scope: string }) => a.scope === "global");
        equal(global.length, 2);
        assert(global.every((a: { nodad?: boolean }) => a.nodad === true), JSON.stringify(global));
        const sysctl = async (ns: string, key: string) =>
          (await inNs(name, ns, ["cat", `/proc/sys/net/ipv6/conf/${key}`])).out.trim();
        equal(await sysctl("web", "all/accept_ra"), "0");
        equal(await sysctl("h1", "all/forwarding"), "1");
      });

      await t.step(
        "same network: bridge, internal bridge, overlay across hosts, macvlan",
        async () => {
          equal(await get("web", v6("api", "back")), "api\n");
          equal(await get("api", v6("web", "back")), "web\n");
          equal(await get("ov1", v6("ov2", "mesh")), "ov2\n");
          equal(await get("ov2", v6("ov1", "lan")), "ov1\n");
        },
      );

      await t.step("the embedded DNS: AAAA, ip6.arpa PTR, empty NOERROR without IPv6", async () => {
        const dig = async (...args: string[]) =>
          (await inNs(name, "web", ["dig", "+tries=1", "+time=2", "@127.0.0.11", ...args])).out;
        equal((await dig("+short", "AAAA", "api")).trim(), v6("api", "back"));
        equal((await dig("+short", "-x", v6("api", "back"))).trim(), "api.back.");
        const none = await dig("AAAA", "old");
        assert(none.includes("status: NOERROR") && none.includes("ANSWER: 0"), none);
        const getent = await inNs(name, "web", ["getent", "ahostsv6", "api"]);
        equal(getent.out.split(/\s+/)[0], v6("api", "back"));
      });

      await t.step("a published port answers on IPv6 (host to its bridge address)", async () => {
        equal(await get("h1", gw6("front"), 8080), "web\n");
        equal(await get("h1", gw6("front"), 8443), "web\n");
        const gw4 = lab.model.networks.find((n) => n.name === "front")!.gateway;
        const v4 = await inNs(name, "h1", ["curl", "-s", "-m", "2", `http://${gw4}:8443/`]);
        equal(v4.out, "", "[::]:8443 is published on IPv6 only");
      });

      await t.step(
        "network connect at run time adds the IPv6 address too, and it answers",
        async () => {
          await lab.network.connect("other", "ov1");
          const ep = lab.model.containers.find((c) => c.name === "ov1")!.endpoints.find((e) =>
            e.network === "other"
          )!;
          equal(await get("api", ep.ipv6!.address), "ov1\n");
          equal(await get("api", v6("ov1", "mesh")), "", "its other networks stay isolated");
        },
      );

      await t.step("isolation between networks holds in IPv6", async () => {
        equal(await get("api", v6("web", "front")), "");
        equal(await get("web", v6("api", "other")), "");
      });

      await t.step(
        "break: the IPv6 DNAT rule deleted, only the IPv6 published port fails",
        async () => {
          const rules = (await inNs(name, "h1", ["ip6tables", "-t", "nat", "-S", "DOCKER"])).out;
          const dnat = rules.split("\n").find((l) => l.includes("DNAT"))!;
          const del = await inNs(name, "h1", [
            "sh",
            "-c",
            `ip6tables -t nat ${dnat.replace("-A", "-D")}`,
          ]);
          equal(del.code, 0, del.err);
          equal(await get("h1", gw6("front"), 8080), "");
          const gw4 = lab.model.networks.find((n) => n.name === "front")!.gateway;
          const v4 = await inNs(name, "h1", ["curl", "-s", "-m", "2", `http://${gw4}:8080/`]);
          equal(v4.out, "web\n");
        },
      );

      await t.step(
        "break: ip6tables isolation flushed, the other network becomes reachable",
        async () => {
          const flush = await inNs(name, "h1", ["ip6tables", "-F", "DOCKER-ISOLATION-STAGE-2"]);
          equal(flush.code, 0, flush.err);
          equal(await get("api", v6("web", "front")), "web\n");
        },
      );

      await t.step(
        "break: the IPv6 default route removed, routed IPv6 fails, on-link stays",
        async () => {
          assert(await ping("web", gw6("other")), "routed through the front gateway");
          const del = await inNs(name, "web", ["ip", "-6", "route", "del", "default"]);
          equal(del.code, 0, del.err);
          assert(!(await ping("web", gw6("other"))), "no route left");
          assert(await ping("web", v6("api", "back")), "on-link still answers");
        },
      );
    } finally {
      await assertNoNamespaces(name);
    }
  },
});
