import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { deriveExpectations, deriveWithNotes, probeKey, reverseName } from "./expectations.ts";
import { buildModel, type LabSpec } from "./_model_testkit.ts";
import type { CheckKind, Expectation } from "./types.ts";

function derive(spec: LabSpec): Expectation[] {
  return deriveExpectations(buildModel(spec));
}

function byId(exps: Expectation[], id: string): Expectation {
  const e = exps.find((x) => x.id === id);
  assert(e, `no expectation ${id}; have:\n${exps.map((x) => x.id).join("\n")}`);
  return e;
}

function ids(exps: Expectation[], kind?: string): string[] {
  return exps.filter((e) => !kind || e.kind === kind).map((e) => e.id).sort();
}

const twoOnOne: LabSpec = {
  networks: [{ name: "front", subnet: "172.20.0.0/24" }],
  containers: [
    { name: "web", nets: [["front", "172.20.0.2"]], expose: [{ port: 80, protocol: "tcp" }] },
    { name: "api", nets: [["front", "172.20.0.3"]] },
  ],
};

Deno.test("containers on one network reach each other, by TCP where the target listens", () => {
  const exps = derive(twoOnOne);
  const toWeb = byId(exps, "reach:api->web@front:tcp/80");
  assertEquals(toWeb.probe, {
    kind: "tcp",
    netns: "t-api",
    address: "172.20.0.2",
    port: 80,
    responder: true,
  });
  assertEquals(toWeb.expect, { kind: "answeredBy", container: "web" });
  const toApi = byId(exps, "reach:web->api@front:icmp");
  assertEquals(toApi.probe, { kind: "icmp", netns: "t-web", address: "172.20.0.3" });
  assertEquals(toApi.expect, { kind: "open" });
  assertEquals(ids(exps, "isolation").filter((i) => !i.includes("underlay")), []);
});

Deno.test("a target with its own command is expected open, not answered by name", () => {
  const exps = derive({
    ...twoOnOne,
    containers: [
      { ...twoOnOne.containers[0], command: ["python3", "-m", "http.server", "80"] },
      twoOnOne.containers[1],
    ],
  });
  const e = byId(exps, "reach:api->web@front:tcp/80");
  assertEquals(e.expect, { kind: "open" });
  assertEquals(e.probe.kind === "tcp" && e.probe.responder, false);
});

Deno.test("a target listening only on udp is probed by a datagram answered by its name", () => {
  const exps = derive({
    ...twoOnOne,
    containers: [
      { ...twoOnOne.containers[0], expose: [{ port: 53, protocol: "udp" }] },
      twoOnOne.containers[1],
    ],
  });
  const e = byId(exps, "reach:api->web@front:udp/53");
  assertEquals(e.probe, { kind: "udp", netns: "t-api", address: "172.20.0.2", port: 53 });
  assertEquals(e.expect, { kind: "answeredBy", container: "web" });
});

const isolated: LabSpec = {
  networks: [
    { name: "a", subnet: "172.20.0.0/24" },
    { name: "b", subnet: "172.21.0.0/24" },
    { name: "c", subnet: "172.22.0.0/24" },
  ],
  containers: [
    { name: "x", nets: [["a", "172.20.0.2"]] },
    { name: "y", nets: [["b", "172.21.0.2"], ["c", "172.22.0.2"]] },
    { name: "z", nets: [["a", "172.20.0.3"], ["b", "172.21.0.3"]] },
  ],
};

Deno.test("pairs sharing no network expect no reach on every address of the target", () => {
  const exps = derive(isolated);
  const iso = ids(exps, "isolation").filter((i) => !i.includes("underlay"));
  assertEquals(iso, [
    "isolation:x->y@b:icmp",
    "isolation:x->y@c:icmp",
    "isolation:y->x@a:icmp",
  ]);
  assertEquals(byId(exps, "isolation:x->y@c:icmp").expect, { kind: "unreachable" });
  assertEquals(byId(exps, "isolation:x->y@c:icmp").probe, {
    kind: "icmp",
    netns: "t-x",
    address: "172.22.0.2",
  });
});

Deno.test("pairs sharing a network expect reach only on the shared networks' addresses", () => {
  const exps = derive(isolated);
  const fromZ = ids(exps, "reach").filter((i) =>
    i.startsWith("reach:z->") && !i.includes("underlay")
  );
  assertEquals(fromZ, ["reach:z->x@a:icmp", "reach:z->y@b:icmp"]);
  // y's address on c is neither expected reachable nor isolated from z.
  assert(!exps.some((e) => e.source === "z" && e.target.includes("172.22.0.2")));
});

Deno.test("a bridge network of the same name on two hosts is neither reach nor isolation", () => {
  const d = deriveWithNotes(buildModel({
    hosts: ["h1", "h2"],
    networks: [{ name: "front" }],
    containers: [
      { name: "p", host: "h1", nets: [["front", "172.20.0.2"]] },
      { name: "q", host: "h2", nets: [["front", "172.20.0.3"]] },
    ],
  }));
  assert(
    !d.expectations.some((e) => e.id.startsWith("reach:p->q") || e.id.startsWith("isolation:p->q")),
  );
  assert(d.notes.some((n) => n.includes("p → q")));
});

Deno.test("overlay peers on different hosts reach each other", () => {
  const exps = derive({
    hosts: ["h1", "h2"],
    networks: [{ name: "mesh", driver: "overlay", subnet: "10.10.0.0/24" }],
    containers: [
      { name: "p", host: "h1", nets: [["mesh", "10.10.0.2"]] },
      { name: "q", host: "h2", nets: [["mesh", "10.10.0.3"]] },
    ],
  });
  assertEquals(byId(exps, "reach:p->q@mesh:icmp").probe, {
    kind: "icmp",
    netns: "t-p",
    address: "10.10.0.3",
  });
  byId(exps, "reach:q->p@mesh:icmp");
});

Deno.test("macvlan: same host in bridge mode and across hosts reach; vepa on one host is skipped", () => {
  const spec = (mode: "bridge" | "vepa"): LabSpec => ({
    hosts: ["h1", "h2"],
    networks: [{ name: "lan", driver: "macvlan", subnet: "10.77.0.0/24", macvlanMode: mode }],
    containers: [
      { name: "m1", host: "h1", nets: [["lan", "10.77.0.101"]] },
      { name: "m2", host: "h1", nets: [["lan", "10.77.0.102"]] },
      { name: "m3", host: "h2", nets: [["lan", "10.77.0.103"]] },
    ],
  });
  const bridge = derive(spec("bridge"));
  byId(bridge, "reach:m1->m2@lan:icmp");
  byId(bridge, "reach:m1->m3@lan:icmp");
  const vepa = derive(spec("vepa"));
  assert(!vepa.some((e) => e.id.startsWith("reach:m1->m2")));
  byId(vepa, "reach:m1->m3@lan:icmp");
});

Deno.test("an address held twice in the lab is not used for isolation", () => {
  const d = deriveWithNotes(buildModel({
    hosts: ["h1", "h2"],
    networks: [{ name: "a", subnet: "172.20.0.0/24" }, { name: "b", subnet: "172.21.0.0/24" }],
    containers: [
      { name: "p", host: "h1", nets: [["a", "172.20.0.2"]] },
      { name: "q", host: "h1", nets: [["b", "172.21.0.2"]] },
      { name: "r", host: "h2", nets: [["b", "172.21.0.2"]] },
    ],
  }));
  assert(!d.expectations.some((e) => e.id.startsWith("isolation:p->q@")));
  assert(d.notes.some((n) => n.includes("address in use twice")));
});

Deno.test("a none container is isolated from every address and has only lo", () => {
  const exps = derive({
    networks: [{ name: "front" }],
    containers: [
      { name: "web", nets: [["front", "172.20.0.2"]] },
      { name: "vault", mode: { kind: "none" } },
    ],
  });
  assertEquals(byId(exps, "isolation:vault->web@front:icmp").expect, { kind: "unreachable" });
  assertEquals(byId(exps, "iface:vault").expect, {
    kind: "interfaces",
    names: ["lo"],
    exact: true,
  });
  assert(!exps.some((e) => e.kind === "dns" && e.source === "vault"));
});

Deno.test("interfaces: a container has lo and its endpoints; host mode sees eth0 and docker0", () => {
  const exps = derive({
    networks: [{ name: "default", subnet: "172.17.0.0/16" }, { name: "back" }],
    containers: [
      { name: "web", nets: [["default", "172.17.0.2"], ["back", "172.21.0.2"]] },
      { name: "tool", mode: { kind: "host" } },
    ],
  });
  assertEquals(byId(exps, "iface:web").expect, {
    kind: "interfaces",
    names: ["eth0", "eth1", "lo"],
    exact: true,
  });
  const tool = byId(exps, "iface:tool");
  assertEquals(tool.probe, { kind: "iface", netns: "t-host" });
  assertEquals(tool.expect, {
    kind: "interfaces",
    names: ["br-back", "docker0", "eth0", "lo"],
    exact: false,
  });
  // host-mode containers are no probe source or target of their own.
  assert(!exps.some((e) => e.id.startsWith("reach:tool") || e.id.includes("->tool")));
});

const dnsLab: LabSpec = {
  networks: [
    { name: "front", subnet: "172.20.0.0/24" },
    { name: "back", subnet: "172.21.0.0/24" },
    { name: "other", subnet: "172.22.0.0/24" },
  ],
  containers: [
    { name: "web", nets: [["front", "172.20.0.2", ["www"]], ["back", "172.21.0.2", ["edge"]]] },
    {
      name: "api-1",
      service: "api",
      replica: 1,
      nets: [["back", "172.21.0.3"]],
      ports: [{ containerPort: 8000, hostPort: 8000, name: "http" }],
    },
    {
      name: "api-2",
      service: "api",
      replica: 2,
      nets: [["back", "172.21.0.4"]],
      ports: [{ containerPort: 8000, hostPort: 8001, name: "http" }],
    },
    { name: "lone", nets: [["other", "172.22.0.2"]] },
    { name: "cli", nets: [["front", "172.20.0.3"]] },
  ],
};

Deno.test("dns: peers, replica names and the service name resolve to shared-network addresses", () => {
  const exps = derive(dnsLab);
  assertEquals(byId(exps, "dns:web:A:api").expect, {
    kind: "addresses",
    addresses: ["172.21.0.3", "172.21.0.4"],
  });
  assertEquals(byId(exps, "dns:web:A:api-2").expect, {
    kind: "addresses",
    addresses: ["172.21.0.4"],
  });
  // web is on front and back: cli sees it on front only.
  assertEquals(byId(exps, "dns:cli:A:web").expect, {
    kind: "addresses",
    addresses: ["172.20.0.2"],
  });
  assertEquals(byId(exps, "dns:api-1:A:web").expect, {
    kind: "addresses",
    addresses: ["172.21.0.2"],
  });
  // A replica resolving its own service gets the whole set, itself included.
  assertEquals(byId(exps, "dns:api-1:A:api").expect, {
    kind: "addresses",
    addresses: ["172.21.0.3", "172.21.0.4"],
  });
  assertEquals(byId(exps, "dns:web:A:api").probe, {
    kind: "dns",
    netns: "t-web",
    name: "api",
    type: "A",
  });
});

Deno.test("dns: aliases and <name>.<network> are scoped to their network", () => {
  const exps = derive(dnsLab);
  assertEquals(byId(exps, "dns:cli:A:www").expect, {
    kind: "addresses",
    addresses: ["172.20.0.2"],
  });
  assertEquals(byId(exps, "dns:api-1:A:edge").expect, {
    kind: "addresses",
    addresses: ["172.21.0.2"],
  });
  assertEquals(byId(exps, "dns:api-1:A:web.back").expect, {
    kind: "addresses",
    addresses: ["172.21.0.2"],
  });
  // cli sees web but not on back: the back-scoped names are left alone, not called NXDOMAIN.
  assert(!exps.some((e) => e.id === "dns:cli:A:edge" || e.id === "dns:cli:A:web.back"));
  // a container never checks its own names.
  assert(!exps.some((e) => e.id === "dns:web:A:web" || e.id === "dns:web:A:www"));
});

Deno.test("dns: names of containers sharing no network are NXDOMAIN", () => {
  const exps = derive(dnsLab);
  for (const name of ["lone", "lone.other"]) {
    assertEquals(byId(exps, `dns:web:A:${name}`).expect, { kind: "nxdomain" });
  }
  assertEquals(byId(exps, "dns:lone:A:api").expect, { kind: "nxdomain" });
  assertEquals(byId(exps, "dns:lone:A:www").expect, { kind: "nxdomain" });
  assertEquals(byId(exps, "dns:cli:A:api-1").expect, { kind: "nxdomain" });
});

Deno.test("dns: PTR for each peer address names the peer; SRV lists the service's named ports", () => {
  const exps = derive(dnsLab);
  const ptr = byId(exps, "dns:cli:PTR:172.20.0.2");
  assertEquals(ptr.probe, {
    kind: "dns",
    netns: "t-cli",
    name: "2.0.20.172.in-addr.arpa",
    type: "PTR",
  });
  assertEquals(ptr.expect, { kind: "ptr", names: ["web.front"] }); // the whole PTR name
  assert(!exps.some((e) => e.id === "dns:cli:PTR:172.21.0.3"));
  const srv = byId(exps, "dns:web:SRV:_http._tcp.api");
  assertEquals(srv.expect, { kind: "srv", targets: ["api-1", "api-2"], port: 8000 });
  assert(!exps.some((e) => e.id === "dns:cli:SRV:_http._tcp.api"));
});

Deno.test("reverseName builds the in-addr.arpa name", () => {
  assertEquals(reverseName("10.1.2.3"), "3.2.1.10.in-addr.arpa");
});

const published: LabSpec = {
  hosts: ["h1", "h2"],
  networks: [{ name: "front", subnet: "172.20.0.0/24" }, { name: "back", internal: true }],
  containers: [
    {
      name: "web",
      host: "h1",
      nets: [["front", "172.20.0.2"]],
      ports: [
        { containerPort: 80, hostPort: 8080 },
        { containerPort: 90, hostPort: 9090, hostIp: "127.0.0.1" },
        { containerPort: 53, hostPort: 5353, protocol: "udp" },
        { containerPort: 70, hostPort: 7070, protocol: "sctp" },
      ],
    },
    { name: "db", host: "h1", nets: [["back", "172.21.0.2"]], ports: [{ containerPort: 5432 }] },
  ],
};

Deno.test("ports: from another host, from the host (127.0.0.1 and its address) and hairpin", () => {
  const exps = derive(published);
  const outside = byId(exps, "port:outside(h2)->h1:8080/tcp");
  assertEquals(outside.probe, {
    kind: "tcp",
    netns: "t-h2",
    address: "10.77.0.11",
    port: 8080,
    responder: true,
  });
  assertEquals(outside.expect, { kind: "answeredBy", container: "web" });
  assertEquals(byId(exps, "port:h1->127.0.0.1:8080/tcp").probe, {
    kind: "tcp",
    netns: "t-h1",
    address: "127.0.0.1",
    port: 8080,
    responder: true,
  });
  byId(exps, "port:h1->h1:8080/tcp");
  const hairpin = byId(exps, "port:web->h1(hairpin):8080/tcp");
  assertEquals(hairpin.probe.netns, "t-web");
  assertEquals(hairpin.expect, { kind: "answeredBy", container: "web" });
  assertEquals(byId(exps, "port:outside(h2)->h1:5353/udp").probe, {
    kind: "udp",
    netns: "t-h2",
    address: "10.77.0.11",
    port: 5353,
  });
});

Deno.test("ports: a 127.0.0.1-bound port is closed from outside and on the host address", () => {
  const exps = derive(published);
  assertEquals(byId(exps, "port:outside(h2)->h1:9090/tcp").expect, { kind: "closed" });
  assertEquals(byId(exps, "port:h1->h1:9090/tcp").expect, { kind: "closed" });
  assertEquals(byId(exps, "port:h1->127.0.0.1:9090/tcp").expect, {
    kind: "answeredBy",
    container: "web",
  });
  assert(!exps.some((e) => e.id === "port:web->h1(hairpin):9090/tcp"));
});

Deno.test("ports: internal-only containers get no hairpin; sctp is noted, not probed", () => {
  const d = deriveWithNotes(buildModel(published));
  assert(!d.expectations.some((e) => e.id.startsWith("port:db->")));
  byId(d.expectations, "port:outside(h2)->h1:5432/tcp");
  assert(!d.expectations.some((e) => e.id.includes("7070")));
  assert(d.notes.some((n) => n.includes("sctp")));
});

Deno.test("ports: one host probes from the uplink (root namespace), or notes it cannot", () => {
  const one: LabSpec = {
    networks: [{ name: "front" }],
    containers: [{ name: "web", nets: [["front", "172.20.0.2"]], ports: [{ containerPort: 80 }] }],
  };
  assertEquals(byId(derive(one), "port:outside(uplink)->host:80/tcp").probe.netns, "");
  const d = deriveWithNotes(buildModel({ ...one, uplink: false }));
  assert(!d.expectations.some((e) => e.id.startsWith("port:outside")));
  assert(d.notes.some((n) => n.includes("no vantage point")));
});

Deno.test("underlay: internal-only containers cannot reach it, the others can", () => {
  const exps = derive(published);
  assertEquals(byId(exps, "isolation:db->underlay:h1:icmp").expect, { kind: "unreachable" });
  assertEquals(byId(exps, "isolation:db->underlay:h2:icmp").probe, {
    kind: "icmp",
    netns: "t-db",
    address: "10.77.0.12",
  });
  assertEquals(byId(exps, "reach:web->underlay:h2:icmp").expect, { kind: "open" });
});

Deno.test("explicit checks add to the implied ones and override those probing the same thing", () => {
  const base = buildModel(published);
  const pos = { file: "t.yaml", line: 9, col: 5 };
  base.checks = [
    {
      kind: "reach",
      from: "outside",
      to: "h1:8080",
      protocol: "tcp",
      expect: { kind: "closed" },
      pos,
    },
    { kind: "reach", from: "web", to: "db", protocol: "icmp", expect: { kind: "open" }, pos },
    {
      kind: "dns",
      from: "web",
      name: "db",
      type: "A",
      expect: { kind: "addresses", addresses: ["172.21.0.2"] },
      pos,
    },
    { kind: "reach", from: "nobody", to: "web:80", protocol: "tcp", expect: { kind: "open" }, pos },
  ];
  const exps = deriveExpectations(base);
  assert(!exps.some((e) => e.id === "port:outside(h2)->h1:8080/tcp"), "implied one replaced");
  const over = byId(exps, "check:1:outside->h1:8080");
  assertEquals(over.expect, { kind: "closed" });
  assertEquals(over.probe, {
    kind: "tcp",
    netns: "t-h2",
    address: "10.77.0.11",
    port: 8080,
    responder: false,
  });
  const icmp = byId(exps, "check:2:web->db");
  assertEquals(icmp.probe, { kind: "icmp", netns: "t-web", address: "172.21.0.2" });
  assertEquals(byId(exps, "check:3:dns:web:A:db").probe, {
    kind: "dns",
    netns: "t-web",
    name: "db",
    type: "A",
  });
  assertEquals(byId(exps, "check:4:nobody->web:80").probe.kind, "invalid");
});

Deno.test("explicit answeredBy via a service name targets a replica on a shared network", () => {
  const m = buildModel(dnsLab);
  m.checks = [{
    kind: "reach",
    from: "web",
    to: "api:8000",
    protocol: "tcp",
    expect: { kind: "answeredBy", container: "api-1" },
    pos: { file: "t", line: 1, col: 1 },
  }];
  const e = byId(deriveExpectations(m), "check:1:web->api:8000");
  assertEquals(e.probe, {
    kind: "tcp",
    netns: "t-web",
    address: "172.21.0.3",
    port: 8000,
    responder: true,
  });
});

Deno.test("ids are unique and stable; probe keys of different probes differ", () => {
  const a = derive(dnsLab);
  const b = derive(dnsLab);
  assertEquals(a.map((e) => e.id), b.map((e) => e.id));
  assertEquals(new Set(a.map((e) => e.id)).size, a.length);
  assertEquals(new Set(a.map((e) => probeKey(e.probe))).size, a.length);
});

Deno.test("every expectation names its source among its containers (for --only)", () => {
  for (const e of derive(published).concat(derive(dnsLab))) {
    assert(e.containers.length > 0, e.id);
    if (!e.source.startsWith("outside") && !["h1", "h2", "host"].includes(e.source)) {
      assert(e.containers.includes(e.source), e.id);
    }
  }
});

Deno.test("a 100-container single-network lab implies 9,900 reach probes", () => {
  const containers = Array.from({ length: 100 }, (_, i) => ({
    name: `c${i}`,
    nets: [["net", `172.20.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`]] as [string, string][],
  }));
  const exps = derive({ networks: [{ name: "net", subnet: "172.20.0.0/16" }], containers });
  assertEquals(exps.filter((e) => e.kind === "reach" && !e.id.includes("underlay")).length, 9900);
  assertExistsDns(exps);
});

function assertExistsDns(exps: Expectation[]) {
  assert(exps.some((e) => e.kind === "dns"));
}

Deno.test("deriving only some kinds gives exactly those expectations of the full derivation", () => {
  for (const spec of [isolated, dnsLab, published]) {
    const model = buildModel(spec);
    const all = deriveExpectations(model);
    for (const kinds of [["reach", "isolation"], ["dns"], ["port"], ["iface"], ["dns", "port"]]) {
      const some = deriveWithNotes(model, new Set(kinds as CheckKind[])).expectations;
      const want = all.filter((e) => kinds.includes(e.kind) || e.explicit);
      assertEquals(some.map((e) => e.id), want.map((e) => e.id), kinds.join(","));
    }
  }
});
