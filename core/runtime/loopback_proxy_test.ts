import { deepStrictEqual } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { hostRuleset } from "../plan/firewall/rules.ts";
import { loopbackTargets } from "./loopback_proxy.ts";

const INPUT = {
  name: "t6p",
  networks: { front: { enable_ipv6: true }, plain: {} },
  containers: {
    web: { networks: ["front"], ports: ["[::1]:8082:80", "8080:80"] },
    old: { networks: ["plain"], ports: ["[::1]:8083:80"] },
  },
} as unknown as TopologyInput;

Deno.test("[::1] ports go to the loopback proxy (IPv6 address when there is one), never to ip6tables", () => {
  const model = loadTopologyObject(INPUT).model;
  const ep = (c: string) => model.containers.find((x) => x.name === c)!.endpoints[0];
  deepStrictEqual(loopbackTargets(model, new Set(["web", "old"])), [
    {
      netns: "t6p-host",
      port: 8082,
      address: ep("web").ipv6!.address,
      targetPort: 80,
      container: "web",
    },
    { netns: "t6p-host", port: 8083, address: ep("old").address, targetPort: 80, container: "old" },
  ]);
  deepStrictEqual(loopbackTargets(model, new Set(["old"])).map((t) => t.port), [8083]);
  const v6 = hostRuleset(model, "host", "ipv6");
  deepStrictEqual(v6.split("\n").filter((l) => /808[23]/.test(l)), []);
  deepStrictEqual(v6.split("\n").filter((l) => l.includes("8080") && l.includes("DNAT")).length, 1);
});
