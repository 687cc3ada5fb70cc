/**
 * Neighbour capacity on a machine with the kernel's default thresholds (issue #15): the ARP table
 * is one table for every namespace, capped by gc_thresh3 (1024 by default), and a full reach
 * matrix of 100 containers needs ~10,000 entries. Without nslab sizing it, 6,501 of 10,000 probes
 * timed out and the run took 3 min 36 s. `up` raises the thresholds it needs (and says so), the
 * check passes 10,000/10,000, and `down` — also after `up` was killed with -9 — puts the previous
 * values back.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { nslab, nslabCommand } from "./_support/nslab.ts";

const LAB = `ck${(Date.now() % 1e6).toString(36)}`;
const KEYS = ["gc_thresh1", "gc_thresh2", "gc_thresh3"];

/** The six thresholds, `ipv4.gc_thresh1` → value. */
function thresholds(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of ["ipv4", "ipv6"]) {
    for (const k of KEYS) {
      out[`${v}.${k}`] = Number(
        Deno.readTextFileSync(`/proc/sys/net/${v}/neigh/default/${k}`).trim(),
      );
    }
  }
  return out;
}

/** true when a lab holds thresholds nslab raised right now. */
function heldByAnother(): boolean {
  try {
    Deno.statSync("/run/nslab/neighbours.json");
    return true;
  } catch {
    return false;
  }
}

/** `n` containers on one bridge network, nothing published: the reach matrix is ICMP. */
function topology(n: number): string {
  const lines = [
    "networks:",
    "  flat: { ipam: { config: [{ subnet: 10.252.0.0/24 }] } }",
    "containers:",
  ];
  for (let i = 1; i <= n; i++) lines.push(`  c${i}: { networks: [flat] }`);
  return lines.join("\n") + "\n";
}

async function withFile<T>(text: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/nslab.yaml`, text);
    return await fn(`${dir}/nslab.yaml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("100 containers on one network: up sizes the ARP table, all 10,000 reach probes pass, down restores", async () => {
  const before = thresholds();
  // Strict: nothing raised by another lab, and the machine's cap is too low for this lab.
  const strict = !heldByAnother() && before["ipv4.gc_thresh3"] < 10_100;
  const name = `${LAB}h`;
  await withFile(topology(100), async (file) => {
    try {
      const up = await nslab(["up", "-f", file, "-p", name, "--no-uplink"]);
      assertEquals(up.code, 0, up.err);
      const during = thresholds();
      assert(during["ipv4.gc_thresh3"] >= 10_100 + 256, JSON.stringify(during));
      if (strict) {
        const was = before["ipv4.gc_thresh3"];
        assertMatch(
          up.out,
          new RegExp(`Raised net\\.ipv4\\.neigh\\.default\\.gc_thresh3 ${was} → `),
        );
      }
      const doctor = await nslab(["doctor"]);
      assertMatch(doctor.out, new RegExp(`lab ${name} can need 10100 ARP`));
      if (strict) assertMatch(doctor.out, /arp_cache: .* raised by nslab from/);
      const check = await nslab(["check", "-p", name, "--only", "reach"]);
      assertEquals(check.code, 0, check.out.split("\n").slice(0, 20).join("\n"));
      assertMatch(check.out, /^10000 passed, 0 failed$/m);
      assert(!check.out.includes("neighbour table overflow"), check.out.slice(0, 2000));
    } finally {
      const down = await nslab(["down", "-p", name]);
      assertEquals(down.code, 0, down.err);
      if (strict) assertMatch(down.out, /Restored net\.ipv4\.neigh\.default\.gc_thresh3 \d+ → /);
    }
  });
  if (!heldByAnother()) assertEquals(thresholds(), before);
});

Deno.test("after `up` is killed with -9, down still puts the thresholds back", async () => {
  const before = thresholds();
  const strict = !heldByAnother() && before["ipv4.gc_thresh3"] < 3660;
  const name = `${LAB}k`;
  // The kill waits for the record of the raised thresholds (strict), else for the lab's need.
  const mark = strict ? "/run/nslab/neighbours.json" : `/run/nslab/${name}/neighbours.json`;
  await withFile(topology(60), async (file) => {
    const child = nslabCommand(["up", "-f", file, "-p", name, "--no-uplink"]).spawn();
    let killed = false;
    try {
      for (let i = 0; i < 5000 && !killed; i++) {
        try {
          Deno.statSync(mark);
          child.kill("SIGKILL");
          killed = true;
        } catch {
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      const status = await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
      assert(killed, `up never wrote ${mark}`);
      assertEquals(status.signal, "SIGKILL", "the kill must land before up ended");
      if (strict) assert(thresholds()["ipv4.gc_thresh3"] >= 3660, "raised before the kill");
    } finally {
      const down = await nslab(["down", "-p", name]);
      assertEquals(down.code, 0, down.err);
    }
  });
  if (!heldByAnother()) assertEquals(thresholds(), before);
});
