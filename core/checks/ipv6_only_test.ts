import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { TopologyInput } from "../model/input.ts";
import { buildPlan } from "../plan/plan.ts";
import { hostRuleset } from "../plan/firewall/rules.ts";
import { buildRecords } from "../dns/records.ts";
import { lookup } from "../dns/lookup.ts";
import { deriveExpectations } from "./expectations.ts";

// `a` only on the IPv6-only network (publishing 8080), `b` on both, `c` only dual-stack.
const model = loadTopologyObject({
  name: "voplan",
  networks: {
    six: { enable_ipv6: true, enable_ipv4: false },
    dual: {
      enable_ipv6: true,
      ipam: { config: [{ subnet: "172.28.0.0/24" }, { subnet: "fd00:28::/64" }] },
    },
  },
  containers: {
    a: { networks: ["six"], ports: ["8080:80"] },
    b: { networks: ["six", "dual"] },
    c: { networks: ["dual"] },
  },
} as unknown as TopologyInput, { reserved: [] }).model;
const v6 = (c: string, n: string) =>
  model.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === n)!.ipv6!.address;

Deno.test("plan: no IPv4 address or default route for a container only on an IPv6-only network", () => {
  const ns = buildPlan(model).namespaces.find((n) => n.name === "voplan-a")!;
  deepStrictEqual(ns.addrs.map((x) => x.address), [v6("a", "six")]);
  deepStrictEqual(ns.routes.map((r) => r.dst), ["::/0"]);
  const host = buildPlan(model).namespaces.find((n) => n.name === "voplan-host")!;
  const bridge = host.addrs.filter((x) => x.dev === "br-six").map((x) => x.address);
  deepStrictEqual(bridge, [model.networks.find((n) => n.name === "six")!.ipv6!.gateway]);
});

Deno.test("firewall: iptables never names the IPv6-only bridge; ip6tables isolates, NATs, publishes", () => {
  const v4 = hostRuleset(model, "host");
  ok(!v4.includes("br-six"), v4);
  ok(!v4.includes("8080"), "an IPv6-only container publishes nothing on IPv4");
  ok(v4.includes("br-dual"));
  const r6 = hostRuleset(model, "host", "ipv6");
  const subnet6 = model.networks.find((n) => n.name === "six")!.ipv6!.subnet;
  ok(r6.includes(`-A POSTROUTING -s ${subnet6} ! -o br-six -j MASQUERADE`), r6);
  ok(r6.includes("-A DOCKER-ISOLATION-STAGE-2 -o br-six -j DROP"), r6);
  ok(r6.includes(`--to-destination [${v6("a", "six")}]:80`), r6);
});

Deno.test("DNS: AAAA answers an IPv6-only name, A is an empty NOERROR, unshared names NXDOMAIN", () => {
  const table = buildRecords(model);
  const aaaa = lookup(table, "b", "a", "AAAA");
  deepStrictEqual(aaaa.answers.map((x) => x.type === "AAAA" && x.address), [v6("a", "six")]);
  const a = lookup(table, "b", "a", "A");
  deepStrictEqual([a.rcode, a.answers, a.forward], ["NOERROR", [], false]);
  // a asks for b: the first shared network is six, so b's IPv6 address there and no A.
  deepStrictEqual(lookup(table, "a", "b", "A").answers, []);
  equal(lookup(table, "a", "c", "AAAA").rcode, "NXDOMAIN");
});

Deno.test("checks: only IPv6 rows for the IPv6-only endpoint; an empty A row; IPv4 rows elsewhere", () => {
  const ids = deriveExpectations(model).map((e) => e.id);
  // Rows from or to `a`: `reach:a->…`, `…->a@…`, `dns:a:…`.
  const aRows = ids.filter((id) => /:a->|->a@|^dns:a:/.test(id));
  ok(aRows.length > 0);
  for (const id of aRows) {
    if (id.startsWith("dns:") || id.startsWith("iface:")) continue;
    ok(id.includes("/ipv6"), `an IPv4 row for the IPv6-only container: ${id}`);
  }
  ok(ids.includes("reach:b->a@six/ipv6:tcp/80"), ids.join("\n"));
  ok(ids.includes("reach:a->b@six/ipv6:icmp"));
  ok(ids.includes("isolation:c->a@six/ipv6:tcp/80"));
  ok(ids.includes("reach:c->b@dual:icmp"), "dual-stack pairs keep their IPv4 rows");
  ok(!ids.some((id) => id.startsWith("reach:a->underlay")), "no IPv4 way to the underlay");
  ok(!ids.some((id) => id.startsWith("port:") && id.includes("8080") && !id.includes("/ipv6")));
  const emptyA = deriveExpectations(model).find((e) => e.id === "dns:b:A:a")!;
  deepStrictEqual(emptyA.expect, { kind: "addresses", addresses: [] });
});
