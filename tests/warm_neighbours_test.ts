/**
 * `up` warms each bridge's neighbour tables (core/lab/warm_neighbours.ts): right after `up`, every
 * container already has a learned (never static) entry for each member of its bridge and none for
 * containers elsewhere; `arp_accept` is back to 0 everywhere; and a path cut after `up` still
 * fails its check, because the check sends over the path and a learned entry carries no packet.
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { nslab } from "./_support/nslab.ts";

const LAB = `pgw${(Date.now() % 1e6).toString(36)}`;

async function ipJson(args: string[]): Promise<Record<string, unknown>[]> {
  const o = await new Deno.Command("ip", { args: ["-j", ...args], stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(o.stdout) || "[]");
}

/** Learned IPv4 neighbours of `c` on eth0: address → states. */
async function neighbours(c: string): Promise<Record<string, string>> {
  const rows = await ipJson(["-4", "-n", `${LAB}-${c}`, "neigh", "show", "dev", "eth0"]);
  return Object.fromEntries(rows.map((r) => [r.dst as string, (r.state as string[]).join(",")]));
}

async function address(c: string): Promise<string> {
  const rows = await ipJson(["-4", "-n", `${LAB}-${c}`, "addr", "show", "dev", "eth0"]);
  return (rows[0].addr_info as { local: string }[])[0].local;
}

async function arpAccept(c: string): Promise<string> {
  const o = await new Deno.Command("ip", {
    args: ["netns", "exec", `${LAB}-${c}`, "cat", "/proc/sys/net/ipv4/conf/eth0/arp_accept"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(o.stdout).trim();
}

Deno.test("up leaves learned neighbour entries for bridge members only, arp_accept restored; a cut path still fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: `${LAB}-` });
  const file = `${dir}/topology.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      name: LAB,
      networks: { front: { driver: "bridge" }, back: { driver: "bridge" } },
      containers: {
        a: { networks: ["front"], expose: [80] },
        b: { networks: ["front"], expose: [80] },
        c: { networks: ["front"], expose: [80] },
        d: { networks: ["back"], expose: [80] },
      },
    }),
  );
  try {
    const up = await nslab(["up", "-f", file, "-p", LAB, "--no-uplink", "--progress", "quiet"]);
    assertEquals(up.code, 0, up.err);
    const [b, c, d] = [await address("b"), await address("c"), await address("d")];
    const seen = await neighbours("a");
    // Learned entries (STALE, or REACHABLE/DELAY once used), never PERMANENT or NOARP.
    for (const peer of [b, c]) {
      assertEquals(
        /^(STALE|REACHABLE|DELAY|PROBE)$/.test(seen[peer] ?? "none"),
        true,
        `${peer}: ${seen[peer]}`,
      );
    }
    assertEquals(seen[d], undefined);
    for (const x of ["a", "b", "c", "d"]) assertEquals(await arpAccept(x), "0", x);

    // Cut b's side of the bridge: the rows to and from b fail although a knows b's MAC.
    const peer = (await ipJson(["-n", `${LAB}-b`, "link", "show", "eth0"]))[0].link_index;
    const hostSide = (await ipJson(["-n", `${LAB}-host`, "link"])).find((l) => l.ifindex === peer);
    const down = await new Deno.Command("ip", {
      args: ["-n", `${LAB}-host`, "link", "set", hostSide!.ifname as string, "down"],
    }).output();
    assertEquals(down.success, true);
    const check = await nslab(["check", "-p", LAB, "--only", "reach", "--format", "json"]);
    assertEquals(check.code, 1, check.out.slice(0, 500));
    const report = JSON.parse(check.out) as {
      results: { expectation: { containers: string[] }; pass: boolean }[];
    };
    const failed = report.results.filter((r) => !r.pass).map((r) => r.expectation.containers);
    assertEquals(failed.every((cs) => cs.includes("b")), true, JSON.stringify(failed));
    for (const row of ["a→b", "b→a"]) {
      assertEquals(failed.some((cs) => cs.join("→") === row), true, `${row} should fail`);
    }
  } finally {
    const d = await nslab(["down", "-p", LAB]);
    assertEquals(d.code, 0, d.err);
    await Deno.remove(dir, { recursive: true });
  }
});
