import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import { buildPlan } from "../plan/plan.ts";
import { dryRun, formatDryRun } from "./dry_run.ts";
import { decodeMessage } from "./netlink/codec.ts";
import { RTM_NEWLINK } from "./netlink/constants.ts";

const plan = () =>
  buildPlan(
    loadTopologyObject({
      name: "apdry",
      networks: { front: {} },
      containers: { web: { networks: ["front"] } },
    }, { reserved: [], uplink: false }).model,
  );

Deno.test("plan --dry-run prints every netlink message up would send, as decodable hex", async () => {
  const rec = await dryRun(plan());
  const lines = formatDryRun(rec).split("\n");
  const netlink = lines.filter((l) => l.startsWith("["));
  assertEquals(netlink.length, rec.messages.length);
  assert(rec.messages.length > 10);
  for (const [i, line] of netlink.entries()) {
    const hex = line.split("  ").pop()!;
    const bytes = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
    assertEquals(bytes, rec.messages[i].bytes, line);
    decodeMessage(bytes); // well-formed
  }
  assert(lines.includes("# netns add apdry-web"));
  assert(netlink.some((l) => l.startsWith('[apdry-host] RTM_NEWLINK add link "br-front"')));
  const types = new Set(rec.messages.map((m) => decodeMessage(m.bytes).header.type));
  assert(types.has(RTM_NEWLINK));
});

Deno.test("plan --dry-run touches nothing: the same output twice, no namespace", async () => {
  const a = formatDryRun(await dryRun(plan()));
  const b = formatDryRun(await dryRun(plan()));
  assertEquals(a, b);
});
