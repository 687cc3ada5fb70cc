import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { TopologyError } from "../errors.ts";
import { loadTopology } from "./load.ts";
import { macFromName } from "./ipv6_only.ts";
import type { Model } from "./types.ts";

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
