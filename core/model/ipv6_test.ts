import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { TopologyError } from "../errors.ts";
import { loadTopology } from "./load.ts";
import { ulaPrefix } from "./ipv6.ts";
import { formatCidr6 } from "./ip6.ts";
import { connectNetwork, disconnectNetwork } from "./network_ops.ts";
import type { Model } from "./types.ts";
import { macFromName } from "./ipv6_only.ts";

function load(yaml: string): Model {
  return loadTopology({ file: "t.yaml", text: yaml }, { reserved: [] }).model;
}

function errorsOf(yaml: string): string[] {
  try {
    load(yaml);
  } catch (e) {
    ok(e instanceof TopologyError, `expected a TopologyError, got ${e}`);
    for (const d of e.diagnostics) ok(d.hint.length > 0, `no fix for ${d.message}`);
    return e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`);
  }
  throw new Error("the topology was accepted");
}

function v6Of(m: Model, container: string, network: string): string | undefined {
  const c = m.containers.find((c) => c.name === container)!;
  return c.endpoints.find((e) => e.network === network)?.ipv6?.address;
}

const DUAL = `name: v6lab
networks:
  front: {enable_ipv6: true}
  back: {enable_ipv6: true}
  plain: {}
containers:
  web: {networks: [front, back, plain]}
  api: {networks: [front]}
`;

Deno.test("the ULA /48 is fd + 40 bits derived from the lab name: the same name, the same prefix", () => {
  const a = formatCidr6(ulaPrefix("v6lab"));
  equal(a, formatCidr6(ulaPrefix("v6lab")));
  ok(a !== formatCidr6(ulaPrefix("v6other")), a);
  ok(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/.test(a), a);
});

Deno.test("networks without an IPv6 subnet get consecutive /64s of the lab's ULA; plain ones none", () => {
  const m = load(DUAL);
  const ula = ulaPrefix("v6lab").base;
  equal(m.ula, formatCidr6(ulaPrefix("v6lab")));
  const net = (name: string) => m.networks.find((n) => n.name === name)!;
  deepStrictEqual(net("front").ipv6, {
    subnet: formatCidr6({ base: ula, prefix: 64 }),
    prefix: 64,
    gateway: formatCidr6({ base: ula + 1n, prefix: 64 }).replace("/64", ""),
    ipRange: formatCidr6({ base: ula, prefix: 64 }),
    fromUla: true,
  });
  equal(net("back").ipv6?.subnet, formatCidr6({ base: ula + (1n << 64n), prefix: 64 }));
  equal(net("plain").ipv6, undefined);
  equal(net("plain").enableIpv6, false);
  equal(v6Of(m, "web", "plain"), undefined);
  // Addresses follow the gateway (::1) in start order, as Docker's IPAM hands them out.
  const front = net("front").ipv6!.subnet.replace("/64", "");
  deepStrictEqual([v6Of(m, "web", "front"), v6Of(m, "api", "front")], [`${front}2`, `${front}3`]);
  equal(load(DUAL).ula, m.ula, "deterministic");
});

Deno.test("an explicit IPv6 subnet, gateway, ip_range and ipv6_address are kept, replicas count on", () => {
  const m = load(`name: v6lab
networks:
  back:
    enable_ipv6: true
    internal: true
    ipam:
      config:
        - subnet: 172.30.0.0/24
        - {subnet: "fd00:db8:1::/64", gateway: "fd00:db8:1::fe", ip_range: "fd00:db8:1::100/120"}
services:
  db:
    deploy: {replicas: 2}
    networks: {back: {ipv6_address: "fd00:db8:1::20"}}
  api: {networks: [back]}
`);
  equal(m.ula, undefined, "no /64 was taken from the ULA");
  deepStrictEqual(m.networks.find((n) => n.name === "back")!.ipv6, {
    subnet: "fd00:db8:1::/64",
    prefix: 64,
    gateway: "fd00:db8:1::fe",
    ipRange: "fd00:db8:1::100/120",
    fromUla: false,
  });
  deepStrictEqual(
    ["db-1", "db-2", "api"].map((c) => v6Of(m, c, "back")),
    ["fd00:db8:1::20", "fd00:db8:1::21", "fd00:db8:1::100"],
  );
  // internal: no gateway to route through, in either family
  deepStrictEqual(m.containers.find((c) => c.name === "api")!.endpoints[0].ipv6, {
    address: "fd00:db8:1::100",
    prefix: 64,
    gateway: "",
  });
});

Deno.test("automatic /64s step over an explicit IPv6 subnet inside the ULA", () => {
  const first = formatCidr6({ base: ulaPrefix("v6lab").base, prefix: 64 });
  const m = load(`name: v6lab
networks:
  a:
    enable_ipv6: true
    ipam: {config: [{subnet: "${first}"}]}
  b: {enable_ipv6: true}
containers:
  x: {networks: [a, b]}
`);
  equal(
    m.networks.find((n) => n.name === "b")!.ipv6!.subnet,
    formatCidr6({ base: ulaPrefix("v6lab").base + (1n << 64n), prefix: 64 }),
  );
});

Deno.test("IPv6 mistakes are located errors with a fix", () => {
  deepStrictEqual(
    errorsOf(`name: v6lab
networks:
  a:
    ipam: {config: [{subnet: "fd00::/64"}]}
  b:
    enable_ipv6: true
    ipam:
      config:
        - {subnet: "fd00:1::5/64"}
  c:
    driver: bridge
    enable_ipv4: false
  d:
    enable_ipv6: true
    ipam: {config: [{subnet: "fd00:2::/64", gateway: "fd00:3::1", ip_range: "fd00:9::/80"}]}
containers:
  x:
    networks:
      a: {ipv6_address: "fd00::9"}
      d: {ipv6_address: "fd00:5::1"}
  y:
    networks:
      d: {ipv6_address: "nope"}
`),
    [
      '4:30: network "a" has the IPv6 subnet fd00::/64 but IPv6 is not enabled on it',
      '9:20: invalid subnet "fd00:1::5/64": it has host bits set',
      '12:18: network "c": IPv4 or IPv6 must be enabled (enable_ipv4: false without enable_ipv6: true)',
      "15:77: ip_range fd00:9::/80 is not inside subnet fd00:2::/64",
      "15:54: gateway fd00:3::1 is outside subnet fd00:2::/64",
      '19:25: ipv6_address fd00::9 of "x", but network "a" has no IPv6',
      '20:25: ipv6_address fd00:5::1 of "x", which is outside IPv6 subnet fd00:2::/64 of network "d"',
      '23:25: invalid ipv6_address "nope": not an IPv6 address',
    ].sort(byPosition),
  );
});

function byPosition(a: string, b: string): number {
  const [al, ac] = a.split(":").map(Number);
  const [bl, bc] = b.split(":").map(Number);
  return al - bl || ac - bc;
}

Deno.test("two containers asking for one IPv6 address, or overlapping IPv6 subnets, are refused", () => {
  deepStrictEqual(
    errorsOf(`name: v6lab
networks:
  a:
    enable_ipv6: true
    ipam: {config: [{subnet: "fd00::/64"}]}
  b:
    enable_ipv6: true
    ipam: {config: [{subnet: "fd00::/48"}]}
containers:
  x: {networks: {a: {ipv6_address: "fd00::9"}, b: {}}}
  y: {networks: {a: {ipv6_address: "fd00::9"}}}
`),
    [
      '8:20: IPv6 subnet fd00::/48 of network "b" overlaps fd00::/64 of network "a" on host "host"',
      '11:36: ipv6_address fd00::9 of "y", which is already used by "x" on network "a"',
    ],
  );
});

Deno.test("a network with IPv6 loads without warnings: the derived checks cover both families", () => {
  deepStrictEqual(load(DUAL).warnings, []);
});

Deno.test("network connect to a network with IPv6 gives the next free IPv6 address too", () => {
  const m = load(`name: v6lab
networks:
  front:
    enable_ipv6: true
    ipam: {config: [{subnet: 172.20.0.0/24}, {subnet: "fd00:1::/64"}]}
  plain: {}
containers:
  web: {networks: [front]}
  db: {networks: [plain]}
`);
  const next = connectNetwork(m, "front", "db");
  const ep = next.containers.find((c) => c.name === "db")!.endpoints.find((e) =>
    e.network === "front"
  )!;
  deepStrictEqual(ep.ipv6, { address: "fd00:1::3", prefix: 64, gateway: "fd00:1::1" });
  const plain = connectNetwork(m, "plain", "web");
  equal(
    plain.containers.find((c) => c.name === "web")!.endpoints.find((e) => e.network === "plain")!
      .ipv6,
    undefined,
  );
});

Deno.test("daemon: ipv6 + fixed-cidr-v6 make docker0 dual-stack, as dockerd --ipv6 --fixed-cidr-v6", () => {
  const m = load(`name: v6d
daemon: {ipv6: true, fixed-cidr-v6: "fd00:d0c::/64"}
containers:
  a: {network_mode: bridge}
  b: {network_mode: bridge}
`);
  const docker0 = m.networks.find((n) => n.name === "bridge")!;
  equal(docker0.bridge, "docker0");
  deepStrictEqual(docker0.ipv6 && [docker0.ipv6.subnet, docker0.ipv6.gateway], [
    "fd00:d0c::/64",
    "fd00:d0c::1",
  ]);
  deepStrictEqual([v6Of(m, "a", "bridge"), v6Of(m, "b", "bridge")], ["fd00:d0c::2", "fd00:d0c::3"]);
});

Deno.test("daemon: ipv6 without fixed-cidr-v6 takes a /64 of the lab's ULA; without ipv6, none", () => {
  const m = load("name: v6d\ndaemon: {ipv6: true}\ncontainers:\n  a: {network_mode: bridge}\n");
  const subnet = m.networks.find((n) => n.name === "bridge")!.ipv6!.subnet;
  equal(subnet, formatCidr6({ base: ulaPrefix("v6d").base, prefix: 64 }));
  const plain = load("name: v6d\ncontainers:\n  a: {network_mode: bridge}\n");
  equal(plain.networks.find((n) => n.name === "bridge")!.ipv6, undefined);
  equal(v6Of(plain, "a", "bridge"), undefined);
});

Deno.test("daemon: the keys may sit under x-nslab, as Compose ignores them", () => {
  const m = load(`name: v6d
x-nslab:
  daemon: {ipv6: true, fixed-cidr-v6: "fd00:d0c::/64"}
services:
  a: {network_mode: bridge}
`);
  equal(m.networks.find((n) => n.name === "bridge")!.ipv6!.subnet, "fd00:d0c::/64");
});

Deno.test("daemon: fixed-cidr-v6 without ipv6, or not a prefix, is a located error with a fix", () => {
  deepStrictEqual(errorsOf('name: v6d\ndaemon: {fixed-cidr-v6: "fd00:d0c::/64"}\n'), [
    '2:25: fixed-cidr-v6 "fd00:d0c::/64" is given but the default bridge has no IPv6 (ipv6 is not true)',
  ]);
  deepStrictEqual(errorsOf('name: v6d\ndaemon: {ipv6: true, fixed-cidr-v6: "fd00:d0c::1/64"}\n'), [
    '2:37: fixed-cidr-v6 "fd00:d0c::1/64" is not an IPv6 prefix of at most /126',
  ]);
});

const SIX = `name: vomodel
networks:
  six: {enable_ipv6: true, enable_ipv4: false}
  fixed:
    enable_ipv6: true
    enable_ipv4: false
    ipam: {config: [{subnet: "fd00:6::/64"}]}
  dual: {enable_ipv6: true}
containers:
  a: {networks: [six]}
  b: {networks: [six, dual]}
  f:
    networks:
      fixed: {ipv6_address: "fd00:6::66"}
`;

Deno.test("an IPv6-only network has no IPv4 subnet or gateway, only its IPv6 side", () => {
  const m = load(SIX);
  const six = m.networks.find((n) => n.name === "six")!;
  deepStrictEqual(
    [six.enableIpv4, six.subnet, six.prefix, six.gateway, six.ipRange, six.enableIpv6],
    [false, "", 0, "", "", true],
  );
  ok(six.ipv6?.subnet.endsWith("::/64"), six.ipv6?.subnet);
  equal(m.networks.find((n) => n.name === "dual")!.enableIpv4, undefined);
});

Deno.test("its endpoints get only IPv6 (given or from the pool) and a MAC hashed from names", () => {
  const m = load(SIX);
  const ep = (c: string, n: string) =>
    m.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === n)!;
  const a = ep("a", "six");
  deepStrictEqual([a.address, a.prefix, a.gateway], [undefined, undefined, ""]);
  const six = m.networks.find((n) => n.name === "six")!.ipv6!;
  equal(a.ipv6?.gateway, six.gateway);
  equal(a.ipv6?.address, six.gateway.replace(/1$/, "2"));
  equal(ep("f", "fixed").ipv6?.address, "fd00:6::66");
  equal(a.mac, macFromName("vomodel", "a", "six"));
  ok(/^02(:[0-9a-f]{2}){5}$/.test(a.mac), a.mac);
  ok(a.mac !== ep("b", "six").mac);
  // The dual-stack endpoint keeps Docker's MAC from its IPv4 address.
  ok(ep("b", "dual").mac.startsWith("02:42:"), ep("b", "dual").mac);
  // A container only on IPv6-only networks still has a default endpoint (its IPv6 gateway).
  equal(m.containers.find((c) => c.name === "a")!.defaultEndpoint, 0);
});

Deno.test("enable_ipv4: false mistakes are located errors with a fix", () => {
  deepStrictEqual(
    errorsOf(`name: vomodel
networks:
  none4: {enable_ipv4: false}
  over: {driver: overlay, enable_ipv6: true, enable_ipv4: false}
  sub4:
    enable_ipv6: true
    enable_ipv4: false
    ipam: {config: [{subnet: "172.30.0.0/24"}]}
  six: {enable_ipv6: true, enable_ipv4: false}
containers:
  x:
    networks:
      six: {ipv4_address: "172.30.0.5"}
`).sort(),
    [
      '3:24: network "none4": IPv4 or IPv6 must be enabled (enable_ipv4: false without ' +
      "enable_ipv6: true)",
      '4:59: network "over": IPv6-only networks are built for the bridge driver, not overlay',
      '8:21: network "sub4" has an IPv4 ipam config, but enable_ipv4 is false',
      '13:27: ipv4_address 172.30.0.5 of "x", but network "six" is IPv6-only (enable_ipv4: false)',
    ].sort(),
  );
});

Deno.test("network connect to an IPv6-only network: only the next IPv6 address; --ip refused", () => {
  const m = load(SIX);
  const next = connectNetwork(m, "six", "f");
  const c = next.containers.find((x) => x.name === "f")!;
  const ep = c.endpoints.find((e) => e.network === "six")!;
  deepStrictEqual([ep.address, ep.prefix, ep.gateway], [undefined, undefined, ""]);
  const six = next.networks.find((n) => n.name === "six")!.ipv6!;
  equal(ep.ipv6?.address, six.gateway.replace(/1$/, "4")); // after a (::2) and b (::3)
  equal(ep.ipv6?.gateway, six.gateway);
  equal(ep.mac, macFromName("vomodel", "f", "six"));
  throws(
    () => connectNetwork(m, "six", "f", { ip: "172.30.0.9" }),
    /network six is IPv6-only \(enable_ipv4: false\)/,
  );
});

Deno.test("IPv6-only network first: IPv4 default through the dual-stack one, IPv6 through it", () => {
  const m = load(`name: vomix
networks:
  alpha: {enable_ipv6: true, enable_ipv4: false}
  zulu: {enable_ipv6: true}
containers:
  b: {networks: [alpha, zulu]}
  c: {networks: [zulu]}
`);
  const b = m.containers.find((c) => c.name === "b")!;
  deepStrictEqual(b.endpoints.map((e) => e.network), ["alpha", "zulu"]);
  deepStrictEqual([b.defaultEndpoint, b.defaultEndpoint6], [1, 0]);
  // Dual-stack only: one endpoint carries both routes, as before.
  const c = m.containers.find((x) => x.name === "c")!;
  deepStrictEqual([c.defaultEndpoint, c.defaultEndpoint6], [0, undefined]);
  // Connected later, alpha comes after zulu in connect order: zulu keeps both routes.
  const next = connectNetwork(m, "alpha", "c").containers.find((x) => x.name === "c")!;
  deepStrictEqual([next.endpoints[next.defaultEndpoint].network, next.defaultEndpoint6], [
    "zulu",
    undefined,
  ]);
  // Disconnecting zulu leaves alpha carrying IPv6 alone.
  const left = disconnectNetwork(connectNetwork(m, "alpha", "c"), "zulu", "c").containers
    .find((x) => x.name === "c")!;
  deepStrictEqual([left.endpoints[left.defaultEndpoint].network, left.defaultEndpoint6], [
    "alpha",
    undefined,
  ]);
});
