import assert, { equal } from "node:assert/strict";
import type { Host } from "../model/types.ts";
import { segmentProblem } from "./underlay_dev.ts";

const host: Host = {
  name: "h1",
  netns: "lab-h1",
  address: "192.0.2.11",
  mac: "02:4e:c0:00:02:0b",
  underlayIfname: "h1",
};
const on = (address: string, prefix: number) => [{ address, prefix }];

Deno.test("a host address on the NIC's segment can be bound", () => {
  equal(segmentProblem(host, "ens4", on("192.0.2.1", 24)), null);
  equal(segmentProblem(host, "ens4", [...on("10.1.0.5", 16), ...on("192.0.2.100", 25)]), null);
});

Deno.test("an address off the segment, the machine's own, a missing or unnamed NIC are refused", () => {
  const off = segmentProblem(host, "ens4", on("10.1.0.5", 16))!;
  assert(off.includes('192.0.2.11 is not on "ens4"\'s segment (10.1.0.0/16)'), off);
  assert(off.includes("hosts.h1.address and underlay.subnet in 10.1.0.0/16"), off);
  assert(segmentProblem(host, "ens4", on("192.0.2.11", 24))!.includes("machine's own address"));
  assert(segmentProblem(host, "ens4", null)!.includes('no interface "ens4"'));
  assert(segmentProblem(host, "ens4", [])!.includes("no IPv4 address"));
  assert(segmentProblem(host, "a/b", null)!.includes("not an interface name"));
});
