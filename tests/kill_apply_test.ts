/**
 * SPEC §9: `down` after `kill -9` at any point of `up` leaves nothing. A child process applies a
 * 50-namespace plan (with a root uplink) and is SIGKILLed after delays spread over the apply (each
 * kill asserted to land before the apply ended); after each kill, `teardown` must leave no namespace, pin file, mount, root link or state.
 */
import assert from "node:assert/strict";
import { teardown } from "../core/kernel/teardown.ts";
import { labName, leftovers } from "./_nlt_support.ts";

const CHILD = new URL("./_nlt_support.ts", import.meta.url).pathname;
const CONTAINERS = 46; // + underlay + 3 hosts = 50 namespaces
const POINTS = 22;

interface Run {
  lab: string;
  rootIf: string;
  /** Lines the child printed ("start", "done <ms>"). */
  lines: string[];
  killed: boolean;
}

/** Starts the child; kills it `delayMs` after it reports "start" (null: let it finish). */
async function applyInChild(delayMs: number | null): Promise<Run> {
  const lab = labName();
  const octet = 1 + Math.floor(Math.random() * 250);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, "apply", lab, String(CONTAINERS), String(octet)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let killed = false;
  const readLine = async (): Promise<string | null> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffered += value;
    }
    const i = buffered.indexOf("\n");
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    lines.push(line);
    return line;
  };
  assert.equal(await readLine(), "start");
  if (delayMs !== null) {
    await new Promise((r) => setTimeout(r, delayMs)); // the kill point itself, not a readiness wait
    try {
      child.kill("SIGKILL");
      killed = true;
    } catch { /* already exited */ }
  }
  while ((await readLine()) !== null) { /* drain */ }
  const status = await child.status;
  if (killed && status.signal !== "SIGKILL") killed = false;
  return { lab, rootIf: `nlu${lab.slice(4)}`, lines, killed };
}

function namespacesOf(lab: string): number {
  return [...Deno.readDirSync("/run/netns")].filter((e) => e.name.startsWith(`${lab}-`)).length;
}

Deno.test("teardown leaves nothing after the applying process is SIGKILLed at any of 22 points", async () => {
  // Calibrate: how long does a full apply take in the child? The fastest of three runs, so that
  // every kill point below lands while the apply still runs.
  let durationMs = Infinity;
  for (let i = 0; i < 3; i++) {
    const full = await applyInChild(null);
    try {
      const done = full.lines.find((l) => l.startsWith("done "));
      assert.ok(done, `the child finished: ${full.lines.join(" | ")}`);
      assert.equal(namespacesOf(full.lab), 50);
      durationMs = Math.min(durationMs, Number(done.slice(5)));
    } finally {
      const r = await teardown(full.lab);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(leftovers(full.lab, [full.rootIf]), []);
    }
  }

  const seen: number[] = [];
  for (let i = 0; i < POINTS; i++) {
    // Spread over the first 75% of the fastest apply: each kill must land while it still runs.
    const delay = (durationMs * 0.75 * i) / (POINTS - 1);
    const run = await applyInChild(delay);
    try {
      assert.ok(run.killed, `the kill at ${delay.toFixed(1)} ms fired`);
      assert.ok(
        !run.lines.some((l) => l.startsWith("done ")),
        `the kill at ${delay.toFixed(1)} ms landed before the apply ended`,
      );
      seen.push(namespacesOf(run.lab));
      // Control: the leak check does see what the killed child left, before teardown runs.
      if (seen[seen.length - 1] > 0) assert.notDeepEqual(leftovers(run.lab, [run.rootIf]), []);
    } finally {
      const report = await teardown(run.lab);
      assert.deepEqual(report.errors.map((e) => e.message), [], `kill at ${delay.toFixed(1)} ms`);
      assert.deepEqual(
        leftovers(run.lab, [run.rootIf]),
        [],
        `kill at ${delay.toFixed(1)} ms (${seen[seen.length - 1]} namespaces made)`,
      );
    }
  }
  // The kill points really were spread over the run: from nothing made to everything made.
  const distinct = new Set(seen);
  assert.ok(distinct.size >= 5, `kill points hit ${[...distinct].join(",")} namespaces made`);
  assert.ok(seen.some((n) => n > 0 && n < 50), "some kills landed mid-apply");
  console.log(
    `full apply in child: ${durationMs.toFixed(1)} ms; namespaces made at each kill: ${
      seen.join(" ")
    }`,
  );
});
