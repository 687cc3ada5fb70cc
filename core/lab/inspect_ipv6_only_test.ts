import { deepStrictEqual } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { TopologyInput } from "../model/input.ts";
import { inspectNetwork } from "./inspect.ts";

Deno.test("network inspect of an IPv6-only network: EnableIPv4 false, only the IPv6 ipam config", () => {
  const model = loadTopologyObject({
    name: "voinsp",
    networks: {
      six: { enable_ipv6: true, enable_ipv4: false, ipam: { config: [{ subnet: "fd00:7::/64" }] } },
    },
    containers: { a: { networks: ["six"] } },
  } as unknown as TopologyInput, { reserved: [] }).model;
  const j = JSON.parse(JSON.stringify(inspectNetwork(model, "six", "2025-01-02T03:04:05.000Z")));
  deepStrictEqual([j.EnableIPv4, j.EnableIPv6], [false, true]);
  deepStrictEqual(j.IPAM.Config, [{ Subnet: "fd00:7::/64", Gateway: "fd00:7::1" }]);
  const ep = Object.values(j.Containers)[0] as Record<string, string>;
  deepStrictEqual([ep.IPv4Address, ep.IPv6Address], ["", "fd00:7::2/64"]);
});
