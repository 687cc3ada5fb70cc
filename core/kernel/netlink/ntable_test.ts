import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { NetlinkHandle } from "./client.ts";
import { neighTables } from "./ntable.ts";
import { createNetns, deleteNetns } from "../netns/netns.ts";

/** `ip -s ntable show name NAME`'s first block: thresholds and table_fulls. */
function fromIp(name: string): { thresh: number[]; tableFulls: bigint } {
  const out = new TextDecoder().decode(
    new Deno.Command("ip", { args: ["-s", "ntable", "show", "name", name] }).outputSync().stdout,
  );
  const block = out.split("\n\n")[0];
  const num = (key: string) => Number(new RegExp(`\\b${key} (\\d+)`).exec(block)![1]);
  return {
    thresh: [num("thresh1"), num("thresh2"), num("thresh3")],
    tableFulls: BigInt(num("table_fulls")),
  };
}

Deno.test("the ARP and NDP tables read over rtnetlink say what `ip -s ntable` says", () => {
  const h = new NetlinkHandle("", { probe: true });
  let tables;
  try {
    tables = neighTables(h);
  } finally {
    h.close();
  }
  assertEquals(tables.map((t) => `${t.family} ${t.name}`), ["inet arp_cache", "inet6 ndisc_cache"]);
  for (const t of tables) {
    const ip = fromIp(t.name);
    assertEquals([t.thresh1, t.thresh2, t.thresh3], ip.thresh, t.name);
    // The overflow counter only grows: read after ours, ip's is at least ours.
    assert(ip.tableFulls >= t.tableFulls, `${t.name}: ${ip.tableFulls} < ${t.tableFulls}`);
    assert(t.entries >= 0 && t.forcedGcRuns >= 0n);
  }
});

Deno.test("one entry per table when the dump spans several reads (240 devices' parameters)", () => {
  const ns = `ntbl-${crypto.randomUUID().slice(0, 6)}`;
  createNetns(ns);
  try {
    const batch = Deno.makeTempFileSync();
    const lines = Array.from({ length: 120 }, (_, i) => `link add a${i} type veth peer name b${i}`);
    Deno.writeTextFileSync(batch, lines.join("\n") + "\n");
    const made = new Deno.Command("ip", { args: ["-n", ns, "-batch", batch] }).outputSync();
    Deno.removeSync(batch);
    assert(made.success, new TextDecoder().decode(made.stderr));
    const h = new NetlinkHandle(ns, { probe: true });
    let tables;
    try {
      tables = neighTables(h);
    } finally {
      h.close();
    }
    assertEquals(tables.map((t) => `${t.family} ${t.name}`), [
      "inet arp_cache",
      "inet6 ndisc_cache",
    ]);
  } finally {
    deleteNetns(ns);
  }
});
