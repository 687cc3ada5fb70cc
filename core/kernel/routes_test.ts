import { deepStrictEqual, ok } from "node:assert/strict";
import { parseCidr } from "../model/ip.ts";
import { parseProcRoute, readMachineRoutes } from "./routes.ts";

Deno.test("machine routes are read from /proc/net/route, default route left out", () => {
  const text =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
    "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
    "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
  deepStrictEqual(parseProcRoute(text), [
    { cidr: "192.168.2.0/24", iface: "eth0" },
    { cidr: "172.17.0.0/16", iface: "docker0" },
  ]);
  deepStrictEqual(readMachineRoutes(() => text).length, 2);
  deepStrictEqual(
    readMachineRoutes(() => {
      throw new Error("no /proc");
    }),
    [],
  );
});

Deno.test("the real /proc/net/route parses into prefixes", () => {
  const routes = readMachineRoutes();
  for (const r of routes) ok(parseCidr(r.cidr).ok, r.cidr);
});
