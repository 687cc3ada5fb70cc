import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { TopologyInput } from "../model/input.ts";
import type { Model } from "../model/types.ts";
import { buildPlan } from "./plan.ts";
import { diffPlans } from "./diff.ts";
import { hostRuleset } from "./firewall/rules.ts";

function dual(extra: Record<string, unknown> = {}): Model {
  return loadTopologyObject({
    name: "v6unit",
    networks: {
      front: {
        enable_ipv6: true,
        ipam: { config: [{ subnet: "172.20.0.0/24" }, { subnet: "fd00:1::/64" }] },
      },
      back: {
        enable_ipv6: true,
        internal: true,
        ipam: { config: [{ subnet: "172.21.0.0/24" }, { subnet: "fd00:2::/64" }] },
      },
      plain: { ipam: { config: [{ subnet: "172.22.0.0/24" }] } },
      ...extra,
    },
    containers: {
      web: { ports: ["8080:80", "127.0.0.1:9090:90"], networks: ["front", "back"] },
      api: { networks: ["back", "plain"] },
    },
  } as unknown as TopologyInput, { reserved: [] }).model;
}

Deno.test("the plan gives IPv6 addresses without DAD, a default route per family, RAs off", () => {
  const plan = buildPlan(dual());
  const ns = (name: string) => plan.namespaces.find((n) => n.name === name)!;
  const web = ns("v6unit-web");
  deepStrictEqual(web.addrs.filter((a) => a.address.includes(":")), [
    { dev: "eth0", address: "fd00:1::2", prefix: 64, nodad: true }, // front; internal back after
    { dev: "eth1", address: "fd00:2::2", prefix: 64, nodad: true },
  ]);
  deepStrictEqual(web.routes, [
    { dst: "default", via: "172.20.0.1", dev: "eth0" },
    { dst: "::/0", via: "fd00:1::1", dev: "eth0" },
  ]);
  deepStrictEqual(web.sysctls, {
    "net/ipv6/conf/all/accept_ra": "0",
    "net/ipv6/conf/default/accept_ra": "0",
  });
  const host = ns("v6unit-host");
  equal(host.sysctls["net/ipv6/conf/all/forwarding"], "1");
  ok(host.addrs.some((a) => a.dev === "br-front" && a.address === "fd00:1::1" && a.nodad));
  deepStrictEqual(plan.firewall.map((f) => [f.netns, f.family ?? "ipv4"]), [
    ["v6unit-host", "ipv4"],
    ["v6unit-host", "ipv6"],
  ]);
});

Deno.test("a lab without IPv6 plans no IPv6 at all", () => {
  const m = loadTopologyObject({ name: "v6none", containers: { a: {} } }, { reserved: [] }).model;
  const plan = buildPlan(m);
  equal(plan.firewall.length, 1);
  ok(plan.namespaces.every((n) => !n.addrs.some((a) => a.address.includes(":"))));
  ok(plan.namespaces.every((n) => Object.keys(n.sysctls).every((k) => !k.includes("ipv6"))));
});

Deno.test("the ip6tables ruleset is Docker's layout over the IPv6 subnets, exactly", () => {
  equal(
    hostRuleset(dual(), "host", "ipv6"),
    `# nslab firewall of host host (namespace v6unit-host): Docker's ip6tables layout, no userland proxy
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
# front: traffic leaving fd00:1::/64, and host-originated traffic into br-front
-A POSTROUTING -s fd00:1::/64 ! -o br-front -j MASQUERADE
-A POSTROUTING -o br-front -m addrtype --src-type LOCAL -j MASQUERADE
# hairpin: a container reaching its own published port
-A POSTROUTING -s fd00:1::2/128 -d fd00:1::2/128 -p tcp -m tcp --dport 80 -j MASQUERADE
# published ports
-A DOCKER -p tcp -m tcp --dport 8080 -m comment --comment "web :::8080->80/tcp" -j DNAT --to-destination [fd00:1::2]:80
COMMIT
*filter
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
# back (br-back, fd00:2::/64, internal)
-A FORWARD -i br-back -o br-back -j ACCEPT
# front (br-front, fd00:1::/64)
-A FORWARD -o br-front -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br-front -j DOCKER
-A FORWARD -i br-front ! -o br-front -j ACCEPT
-A FORWARD -i br-front -o br-front -j ACCEPT
# published ports: let the DNATed connections in
-A DOCKER -d fd00:1::2/128 ! -i br-front -o br-front -p tcp -m tcp --dport 80 -j ACCEPT
# internal networks: nothing leaves or enters their subnet
-A DOCKER-ISOLATION-STAGE-1 -i br-back ! -o br-back -j DROP
-A DOCKER-ISOLATION-STAGE-1 ! -i br-back -o br-back -j DROP
# isolation between the host's networks
-A DOCKER-ISOLATION-STAGE-1 -i br-back ! -o br-back -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -i br-front ! -o br-front -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o br-back -j DROP
-A DOCKER-ISOLATION-STAGE-2 -o br-front -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
# DOCKER-USER: yours; nslab never adds to it
-A DOCKER-USER -j RETURN
COMMIT
`,
  );
});

Deno.test("a network gaining IPv6 reloads the ip6tables ruleset only", () => {
  const before = buildPlan(dual());
  const after = buildPlan(dual({
    plain: { enable_ipv6: true, ipam: { config: [{ subnet: "172.22.0.0/24" }] } },
  }));
  const delta = diffPlans(before, after);
  deepStrictEqual(delta.firewall.map((f) => [f.family ?? "ipv4", f.reload]), [["ipv6", true]]);
});

Deno.test("ports bound to an IPv6 host address are in the ip6tables ruleset only", () => {
  const m = loadTopologyObject({
    name: "v6unit",
    networks: {
      front: {
        enable_ipv6: true,
        ipam: { config: [{ subnet: "172.20.0.0/24" }, { subnet: "fd00:1::/64" }] },
      },
    },
    containers: { web: { ports: ["[::]:8443:443", "[fd00:1::1]:9443:443"], networks: ["front"] } },
  } as unknown as TopologyInput, { reserved: [] }).model;
  const dnat = (text: string) => text.split("\n").filter((l) => l.includes("-j DNAT"));
  deepStrictEqual(dnat(hostRuleset(m, "host")), []);
  deepStrictEqual(dnat(hostRuleset(m, "host", "ipv6")), [
    '-A DOCKER -p tcp -m tcp --dport 8443 -m comment --comment "web :::8443->443/tcp" ' +
    "-j DNAT --to-destination [fd00:1::2]:443",
    "-A DOCKER -d fd00:1::1/128 -p tcp -m tcp --dport 9443 -m comment --comment " +
    '"web fd00:1::1:9443->443/tcp" -j DNAT --to-destination [fd00:1::2]:443',
  ]);
});
