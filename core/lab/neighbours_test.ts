import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { buildModel } from "../checks/_model_testkit.ts";
import { neighbourNeed, thresholdsFor, thresholdsNeeded } from "./neighbours.ts";

const flat = (n: number, opts: { hosts?: string[]; driver?: "overlay" } = {}) =>
  buildModel({
    hosts: opts.hosts,
    uplink: false,
    networks: [{ name: "flat", subnet: "10.252.0.0/16", driver: opts.driver }],
    containers: Array.from({ length: n }, (_, i) => ({
      name: `c${i + 1}`,
      host: opts.hosts?.[i % opts.hosts.length],
      nets: [["flat", `10.252.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`]] as [
        string,
        string,
      ][],
    })),
  });

Deno.test("100 containers and a gateway on one bridge can hold 101 × 100 ARP entries", () => {
  assertEquals(neighbourNeed(flat(100)).inet, 101 * 100);
});

Deno.test("an overlay is one L2 domain over its hosts, plus each host's permanent entries", () => {
  // 10 containers over 2 hosts: 10 × 9 among them; each host holds the 5 of the other host.
  assertEquals(
    neighbourNeed(flat(10, { hosts: ["h1", "h2"], driver: "overlay" })).inet,
    10 * 9 + 5 + 5 + 2 * 1,
  );
});

Deno.test("thresholds keep the kernel defaults' ratios and leave the default table free", () => {
  assertEquals(thresholdsFor(10_100), { gc_thresh1: 1408, gc_thresh2: 5632, gc_thresh3: 11264 });
  const defaults = { gc_thresh1: 128, gc_thresh2: 512, gc_thresh3: 1024 };
  assertEquals(thresholdsNeeded(defaults, 10_100), thresholdsFor(10_100));
  // A small lab fits the kernel defaults with room to spare: nothing to raise.
  assertEquals(thresholdsNeeded(defaults, neighbourNeed(flat(10)).inet), defaults);
  // Never lowered: a machine set higher by hand keeps its values.
  const high = { gc_thresh1: 4096, gc_thresh2: 16384, gc_thresh3: 32768 };
  assertEquals(thresholdsNeeded(high, 10_100), high);
});
