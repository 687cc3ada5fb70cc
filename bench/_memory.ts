/**
 * Memory probe run as its own process by `inProcessRssMB` (bench/lab.ts): brings up N containers
 * over H hosts (overlay + bridge) with an in-process supervisor, reads VmRSS from
 * /proc/self/status, tears the lab down and prints `{"rssMB": …}`.
 *
 * `deno run -A bench/_memory.ts N H`
 *
 * @module
 */

import { multiHost } from "./_topologies.ts";
import { libraryUp, rssMB } from "./lab.ts";

const n = Number(Deno.args[0] ?? 500);
const hosts = Number(Deno.args[1] ?? 4);
const lab = await libraryUp((name) => multiHost(n, hosts, name));
let rss = NaN;
try {
  rss = rssMB("self");
} finally {
  await lab.down();
}
console.log(JSON.stringify({ rssMB: rss }));
