/**
 * Positive controls through the CLI, on a detached lab (issue #15): an isolation check passes only
 * when its source proved it reaches something and its target proved it answers someone. Cutting a
 * container off (every veth deleted) or stopping the lab's supervisor used to leave
 * `check --only isolation` green — silence looked like isolation. Now both fail with inconclusive
 * rows, and the report leads with the cause it can see. A run that checks nothing fails too.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { run } from "./_support/run.ts";
import { exists, nslab } from "./_support/nslab.ts";

const LAB = `ck${(Date.now() % 1e6).toString(36)}`;

/** Two networks, two containers on each, every container answering on port 80 (responders). */
const TOPOLOGY = `
networks:
  front: { ipam: { config: [{ subnet: 10.251.1.0/24 }] } }
  back: { ipam: { config: [{ subnet: 10.251.2.0/24 }] } }
containers:
  web: { networks: [front], expose: [80] }
  cache: { networks: [front], expose: [80] }
  api: { networks: [back], expose: [80] }
  db: { networks: [back], expose: [80] }
`;

/** Brings a fresh lab up from TOPOLOGY, runs `body`, and always takes it down. */
async function withLab(name: string, body: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/nslab.yaml`;
  await Deno.writeTextFile(file, TOPOLOGY);
  try {
    const up = await nslab(["up", "-f", file, "-p", name, "--no-uplink"]);
    assertEquals(up.code, 0, up.err);
    await body(file);
  } finally {
    const down = await nslab(["down", "-p", name]);
    await Deno.remove(dir, { recursive: true });
    assertEquals(down.code, 0, down.err);
  }
}

const isolation = (name: string) => nslab(["check", "-p", name, "--only", "isolation"]);

/** Rows of the table whose status column is INCONCLUSIVE. */
const inconclusiveRows = (out: string) =>
  out.split("\n").filter((l) => l.startsWith("INCONCLUSIVE"));

Deno.test("a container cut off from every network makes its isolation checks inconclusive", async () => {
  const name = `${LAB}v`;
  await withLab(name, async () => {
    const healthy = await isolation(name);
    assertEquals(healthy.code, 0, healthy.out);
    assertMatch(healthy.out, /8 passed, 0 failed/); // web, cache ↔ api, db: 2 × 2 × 2 rows
    // Every veth of web goes (its host-side ends live in the host namespace).
    const links = await run(["ip", "-n", `${name}-web`, "-o", "link", "show", "type", "veth"]);
    const names = [...links.stdout.matchAll(/^\d+: ([^@:]+)/gm)].map((m) => m[1]);
    assert(names.length >= 1, links.out);
    for (const n of names) {
      assertEquals((await run(["ip", "-n", `${name}-web`, "link", "del", n])).code, 0);
    }
    const cut = await isolation(name);
    assertEquals(cut.code, 1, cut.out);
    const rows = inconclusiveRows(cut.out);
    // web → api, web → db (web reaches nothing) and api → web, db → web (web answers no one).
    assertEquals(rows.length, 4, cut.out);
    assert(rows.every((r) => / web /.test(r) || r.includes("web 10.251.1.")), cut.out);
    assert(rows.some((r) => r.includes("web reaches nothing it should")), cut.out);
    assert(rows.some((r) => r.includes("the target answers no one")), cut.out);
    assertMatch(cut.out, /4 passed, 4 failed \(4 inconclusive\)/);
  });
});

Deno.test("with the lab's supervisor stopped, isolation checks are inconclusive and say why", async () => {
  const name = `${LAB}s`;
  await withLab(name, async () => {
    assertEquals((await isolation(name)).code, 0);
    const state = JSON.parse(await Deno.readTextFile(`/run/nslab/${name}/state.json`));
    const pid: number = state.supervisorPid;
    assert(pid > 0);
    Deno.kill(pid, "SIGKILL");
    for (let i = 0; i < 200 && (await exists(`/proc/${pid}/status`)); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const dead = await isolation(name);
    assertEquals(dead.code, 1, dead.out);
    // Every row: its target's listener (the responder) is gone, so it answers no one.
    assertEquals(inconclusiveRows(dead.out).length, 8, dead.out);
    const first = dead.out.split("\n")[0];
    assertMatch(first, new RegExp(`^cause: the lab's supervisor \\(pid ${pid}\\) is not running`));
  });
});

Deno.test("a namespace deleted under a running lab is named as the cause", async () => {
  const name = `${LAB}g`;
  await withLab(name, async () => {
    assertEquals((await run(["ip", "netns", "del", `${name}-db`])).code, 0);
    const r = await nslab(["check", "-p", name]);
    assertEquals(r.code, 1, r.out);
    assertMatch(r.out.split("\n")[0], new RegExp(`^cause: namespace gone: ${name}-db `));
  });
});

Deno.test("a run that checks nothing fails with 'nothing was checked'", async () => {
  const name = `${LAB}n`;
  await withLab(name, async () => {
    // The lab publishes no port: `--only port` selects no row at all.
    const nothing = await nslab(["check", "-p", name, "--only", "port"]);
    assertEquals(nothing.code, 1, nothing.out);
    assertMatch(nothing.out, /nothing was checked/);
    assertMatch(nothing.err, /nothing was checked/);
  });
});
