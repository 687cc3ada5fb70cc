import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadTopology, loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { deriveWithNotes, reverseName } from "./expectations.ts";
import { planControls } from "./controls.ts";
import type { Expectation } from "./types.ts";
import { hostAddress6, underlaySubnet6 } from "../model/underlay6.ts";

const DUAL = {
  name: "t6",
  networks: {
    front: {
      enable_ipv6: true,
      ipam: { config: [{ subnet: "172.30.1.0/24" }, { subnet: "fd00:1::/64" }] },
    },
    back: {
      enable_ipv6: true,
      internal: true,
      ipam: { config: [{ subnet: "172.30.2.0/24" }, { subnet: "fd00:2::/64" }] },
    },
    plain: { ipam: { config: [{ subnet: "172.30.3.0/24" }] } },
  },
  containers: {
    web: { networks: ["front", "plain"] },
    app: { expose: [80], networks: ["front", "back"] },
    db: { expose: [5432], networks: ["back"] },
    old: { networks: ["plain"] },
  },
} as unknown as TopologyInput;

function derive(input: TopologyInput): Expectation[] {
  return deriveWithNotes(loadTopologyObject(input).model).expectations;
}

const byId = (exps: Expectation[], id: string) => {
  const e = exps.find((x) => x.id === id);
  assert(e, `${id} not derived: ${exps.map((x) => x.id).join(" ")}`);
  return e;
};

Deno.test("a dual-stack pair is reached in both families, the IPv6 row on the IPv6 address", () => {
  const exps = derive(DUAL);
  const v4 = byId(exps, "reach:web->app@front:tcp/80");
  const v6 = byId(exps, "reach:web->app@front/ipv6:tcp/80");
  assertEquals(v4.probe, {
    kind: "tcp",
    netns: "t6-web",
    address: "172.30.1.3",
    port: 80,
    responder: true,
  });
  assertEquals(v6.probe, {
    kind: "tcp",
    netns: "t6-web",
    address: "fd00:1::3",
    port: 80,
    responder: true,
  });
  assertEquals(v6.target, "app [fd00:1::3]:80 (front)");
  assertEquals(byId(exps, "reach:app->web@front/ipv6:icmp").probe, {
    kind: "icmp",
    netns: "t6-app",
    address: "fd00:1::2",
  });
  // plain has no IPv6: one row only.
  byId(exps, "reach:web->old@plain:icmp");
  assert(!exps.some((e) => e.id.startsWith("reach:web->old@plain/ipv6")));
});

Deno.test("IPv6 isolation only from a source that has IPv6 itself", () => {
  const exps = derive(DUAL);
  assertEquals(byId(exps, "isolation:web->db@back/ipv6:tcp/5432").expect, { kind: "unreachable" });
  byId(exps, "isolation:old->db@back:tcp/5432");
  assert(!exps.some((e) => e.id.startsWith("isolation:old->") && e.id.includes("/ipv6")));
});

Deno.test("AAAA and ip6.arpa PTR rows: addresses, NXDOMAIN, the empty answer of a network without IPv6", () => {
  const exps = derive(DUAL);
  assertEquals(byId(exps, "dns:web:AAAA:app").expect, {
    kind: "addresses",
    addresses: ["fd00:1::3"],
  });
  assertEquals(byId(exps, "dns:web:AAAA:db").expect, { kind: "nxdomain" });
  assertEquals(byId(exps, "dns:app:PTR:fd00:2::3").probe, {
    kind: "dns",
    netns: "t6-app",
    name: reverseName("fd00:2::3"),
    type: "PTR",
  });
  // old has no IPv6 and web's name is known to it only on plain: no AAAA row.
  assert(!exps.some((e) => e.id.startsWith("dns:old:AAAA")));
  // A name whose first shared network (Docker's order) has no IPv6 answers AAAA empty.
  const both = derive({
    ...DUAL,
    containers: { ...DUAL.containers as object, old: { networks: ["plain", "front"] } },
  } as unknown as TopologyInput);
  assertEquals(byId(both, "dns:old:AAAA:web").expect, {
    kind: "addresses",
    addresses: ["fd00:1::2"],
  });
  // By name, "alpha" (no IPv6) comes before "front": web answers AAAA from alpha, empty.
  const alpha = derive({
    ...DUAL,
    networks: {
      ...DUAL.networks as object,
      alpha: { ipam: { config: [{ subnet: "172.30.4.0/24" }] } },
    },
    containers: {
      ...DUAL.containers as object,
      web: { networks: ["front", "plain", "alpha"] },
      old: { networks: ["alpha", "front"] },
    },
  } as unknown as TopologyInput);
  assertEquals(byId(alpha, "dns:old:AAAA:web").expect, { kind: "addresses", addresses: [] });
});

Deno.test("reverseName spells all 32 nibbles of an IPv6 address", () => {
  assertEquals(
    reverseName("fd00:1::3"),
    "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa",
  );
  assertEquals(reverseName("172.30.1.3"), "3.1.30.172.in-addr.arpa");
});

Deno.test("an IPv6 isolation row is controlled in its own family", () => {
  const exps = derive(DUAL);
  const model = loadTopologyObject(DUAL).model;
  const plan = planControls(model, exps, exps);
  const c = plan.get("isolation:web->db@back/ipv6:tcp/5432")!;
  assertEquals(c.missing, []);
  for (const { alternatives } of c.controls) {
    for (const a of alternatives) {
      assert(a.probe.kind !== "dns" && "address" in a.probe && a.probe.address.includes(":"), a.id);
    }
  }
});

/**
 * What IPv4-only labs derive (expectations, notes and controls), fingerprinted on the commit
 * before the checks learned IPv6: dual-stack support must not change a single row of them.
 * Re-taken once (#14) when PTR rows began to expect the whole name (`web.front`, not `web`) and
 * interfaces took the engine's order (internal networks last, then by name): same row counts.
 */
const IPV4_ONLY: Record<string, string> = {
  "bridge.yaml": "ebf05244c7471742 36",
  "compose.yaml": "458b8cb12c85e4ee 38",
  "host-none.yaml": "14f4d7b56789ec0b 11",
  "impair.yaml": "57ead1c726d0e16a 35",
  "macvlan-vlan.yaml": "cc9b677ff1920616 30",
  "macvlan.yaml": "027e0d5181d2aa78 33",
  "overlay.yaml": "cb2d49bf4f6332b7 37",
  "ports.yaml": "81a0d4c9d7418987 77",
};

Deno.test("IPv4-only topologies derive exactly the rows and controls they did before IPv6", async () => {
  const dir = new URL("../../topologies/", import.meta.url);
  for (const [f, want] of Object.entries(IPV4_ONLY)) {
    const text = await Deno.readTextFile(new URL(f, dir));
    const { model } = loadTopology({ file: `topologies/${f}`, text }, { reserved: [] });
    const d = deriveWithNotes(model);
    const json = JSON.stringify([d, [...planControls(model, d.expectations, d.expectations)]]);
    const h = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(json)),
    );
    const got = [...h.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals(`${got} ${d.expectations.length}`, want, f);
  }
});

const PORTS = {
  name: "t6p",
  hosts: { h1: {}, h2: {} },
  networks: {
    front: { enable_ipv6: true },
    plain: {},
  },
  containers: {
    web: {
      host: "h1",
      networks: ["front"],
      ports: ["8080:80", "[::]:8443:80", "127.0.0.1:9090:80"],
    },
    old: { host: "h1", networks: ["plain"], ports: ["7070:80"] },
  },
} as unknown as TopologyInput;

Deno.test("a port published on both families is probed on the host's IPv6 address too", () => {
  const model = loadTopologyObject(PORTS).model;
  const exps = deriveWithNotes(model).expectations;
  const h1 = model.hosts.find((h) => h.name === "h1")!;
  const address6 = hostAddress6(model, h1)!;
  assert(address6.startsWith(underlaySubnet6(model)!.replace("::/64", ":")), address6);
  const rows6 = exps.filter((e) => e.kind === "port" && e.id.includes("/ipv6:")).map((e) => e.id);
  assertEquals(rows6.sort(), [
    "port:h1->h1/ipv6:8080/tcp",
    "port:h1->h1/ipv6:8443/tcp",
    "port:outside(h2)->h1/ipv6:8080/tcp",
    "port:outside(h2)->h1/ipv6:8443/tcp",
    "port:web->h1(hairpin)/ipv6:8080/tcp",
    "port:web->h1(hairpin)/ipv6:8443/tcp",
  ]);
  assertEquals(byId(exps, "port:outside(h2)->h1/ipv6:8080/tcp").probe, {
    kind: "tcp",
    netns: "t6p-h2",
    address: address6,
    port: 8080,
    responder: true,
  });
  assertEquals(byId(exps, "port:outside(h2)->h1/ipv6:8080/tcp").expect, {
    kind: "answeredBy",
    container: "web",
  });
  // Its IPv4 twin is still there; [::]:8443 has none (IPv6 only), 127.0.0.1 has no IPv6 one, and
  // old (no IPv6 on its network) gets IPv4 rows only.
  byId(exps, "port:outside(h2)->h1:8080/tcp");
  assert(!exps.some((e) => e.id === "port:outside(h2)->h1:8443/tcp"));
  assert(!exps.some((e) => /:(9090|7070)\//.test(e.id) && e.id.includes("/ipv6")));
  byId(exps, "port:outside(h2)->h1:7070/tcp");
});

Deno.test("one host: no outside row on IPv6 (the uplink has no IPv6), the host's own row stays", () => {
  const containers = Object.fromEntries(
    Object.entries(PORTS.containers!).map(([k, v]) => [k, { ...v, host: undefined }]),
  );
  const one = { ...PORTS, hosts: undefined, containers } as unknown as TopologyInput;
  const exps = derive(one).filter((e) => e.id.includes("/ipv6:") && e.kind === "port");
  assertEquals(exps.map((e) => e.id).filter((id) => id.includes(":8080/")).sort(), [
    "port:host->host/ipv6:8080/tcp",
    "port:web->host(hairpin)/ipv6:8080/tcp",
  ]);
});

Deno.test("a port on [::1]: answered on ::1 from its host, closed on the host's IPv6 address", () => {
  const input = {
    name: "t6l",
    hosts: { h1: {}, h2: {} },
    networks: { front: { enable_ipv6: true } },
    containers: { web: { host: "h1", networks: ["front"], ports: ["[::1]:8082:80"] } },
  } as unknown as TopologyInput;
  const model = loadTopologyObject(input).model;
  const address6 = hostAddress6(model, model.hosts[0])!;
  const rows = deriveWithNotes(model).expectations.filter((e) => e.kind === "port");
  assertEquals(rows.map((e) => [e.id, e.probe.kind === "tcp" && e.probe.address, e.expect]), [
    ["port:h1->[::1]/ipv6:8082/tcp", "::1", { kind: "answeredBy", container: "web" }],
    ["port:h1->h1/ipv6:8082/tcp", address6, { kind: "closed" }],
    ["port:outside(h2)->h1/ipv6:8082/tcp", address6, { kind: "closed" }],
  ]);
});
