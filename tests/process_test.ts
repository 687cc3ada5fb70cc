/**
 * Container processes for real (root): a command runs in its network namespace with its own
 * hostname, environment, resolv.conf and hosts, its output reaches the log, restart policies are
 * honoured, stop kills it and everything it forked, and nothing is left behind.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ProcessPlan } from "../core/plan/types.ts";
import { ProcessManager } from "../core/runtime/process.ts";
import { cleanupLabRuntime, execArgs, logPath, utsPath } from "../core/runtime/sandbox.ts";
import {
  netnsEtcDir,
  removeNetnsFiles,
  writeManyNetnsFiles,
  writeNetnsFiles,
} from "../core/kernel/netns/files.ts";
import { createNetns, deleteNetns, listNetns } from "../core/kernel/netns/netns.ts";
import { processAlive, stateDir } from "../core/lab/state.ts";
import { run } from "./_support/run.ts";

const RESOLV = "# test resolv.conf\nnameserver 127.0.0.11\noptions ndots:0\n";
const HOSTS = "127.0.0.1\tlocalhost\n172.20.0.10\twebhost web\n";

/** Polls `cond` until it holds or the deadline passes (no fixed sleeps). */
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = performance.now() + ms;
  let delay = 5;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

function readLog(lab: string, c: string): string {
  try {
    return Deno.readTextFileSync(logPath(lab, c));
  } catch {
    return "";
  }
}

function mounted(path: string): boolean {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").some((l) =>
    l.split(" ")[4] === path
  );
}

function count(text: string, line: string): number {
  return text.split("\n").filter((l) => l === line).length;
}

/** A lab name, its container namespace, and a cleanup that removes everything. */
async function fixture() {
  const lab = `fwt-${crypto.randomUUID().slice(0, 6)}`;
  const netns = `${lab}-web`;
  createNetns(netns);
  await run(["ip", "-n", netns, "link", "set", "lo", "up"]);
  await writeNetnsFiles(netns, { "resolv.conf": RESOLV, hosts: HOSTS });
  const pm = new ProcessManager(lab);
  const plan = (over: Partial<ProcessPlan>): ProcessPlan => ({
    container: "web",
    netns,
    command: ["true"],
    environment: {},
    hostname: "webhost",
    restart: "no",
    listen: [],
    dns: true,
    files: {},
    ...over,
  });
  const cleanup = async () => {
    const errors: unknown[] = [];
    for (
      const step of [
        () => pm.stopAll(),
        () => cleanupLabRuntime(lab),
        () => removeNetnsFiles(netns),
        () => deleteNetns(netns),
        () => Deno.removeSync(stateDir(lab), { recursive: true }),
      ]
    ) {
      try {
        await step();
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) errors.push(e);
      }
    }
    assertEquals(errors, []);
    assertEquals(listNetns().filter((n) => n.startsWith(lab)), []);
  };
  return { lab, netns, pm, plan, cleanup };
}

Deno.test("a command sees its hostname, environment, resolv.conf, hosts and only its namespace", async () => {
  const { lab, netns, pm, plan, cleanup } = await fixture();
  try {
    const p = plan({
      command: [
        "sh",
        "-c",
        'hostname; echo "MODE=$MODE"; cat /etc/resolv.conf /etc/hosts; ip -o link show | cut -d" " -f2; exec sleep 1000',
      ],
      environment: { MODE: "prod" },
    });
    const pid = await pm.start(p);
    assertEquals(pm.pids(), [pid]);
    assertEquals(Deno.readTextFileSync(`${stateDir(lab)}/pids`), `${pid}\n`);
    await until("the command's output in its log", () => readLog(lab, "web").includes("lo:"));
    const log = readLog(lab, "web");
    assertEquals(log, `webhost\nMODE=prod\n${RESOLV}${HOSTS}lo:\n`);
    assert(
      Deno.hostname() !== "webhost",
      "the machine's own hostname must differ for this to mean anything",
    );
    assert(!Deno.readTextFileSync("/etc/resolv.conf").includes("# test resolv.conf"));

    // exec: same namespaces, same files, same environment.
    assertEquals((await run(execArgs(lab, p, ["hostname"]))).out, "webhost\n");
    assertEquals((await run(execArgs(lab, p, ["cat", "/etc/resolv.conf"]))).out, RESOLV);
    assertEquals((await run(execArgs(lab, p, ["printenv", "MODE"]))).out, "prod\n");
    // Broken on purpose: without the netns files exec sees the machine's resolv.conf.
    removeNetnsFiles(netns);
    assert(!(await run(execArgs(lab, p, ["cat", "/etc/resolv.conf"]))).out.includes("# test"));
    await writeNetnsFiles(netns, { "resolv.conf": RESOLV });

    await pm.stop("web");
    assert(!processAlive(pid), "stop left the command running");
    assertEquals(pm.pids(), []);
    assertEquals(pm.info("web"), null);
    assert(!(await Deno.stat(`${stateDir(lab)}/pids`).then(() => true, () => false)));

    // stopAll releases the UTS pin: exec then runs with the machine's hostname.
    const pin = utsPath(lab, "web");
    assert(mounted(pin));
    await pm.stopAll();
    assert(!mounted(pin), "the UTS pin is still mounted");
    assertEquals((await run(execArgs(lab, p, ["hostname"]))).out, `${Deno.hostname()}\n`);
  } finally {
    await cleanup();
  }
});

Deno.test("restart: on-failure restarts a command that exits 1 and not one that exits 0", async () => {
  const { lab, pm, plan, cleanup } = await fixture();
  try {
    await pm.start(plan({ command: ["sh", "-c", "echo run; exit 1"], restart: "on-failure" }));
    await until("two restarts", () => (pm.info("web")?.restarts ?? 0) >= 2);
    await until("three runs in the log", () => count(readLog(lab, "web"), "run") >= 3);
    assertEquals(pm.info("web")?.lastExit, 1);
    await pm.stop("web");
    Deno.removeSync(logPath(lab, "web"));

    await pm.start(plan({ command: ["sh", "-c", "echo run; exit 0"], restart: "on-failure" }));
    await until("the command to exit", () => pm.info("web")?.status === "exited");
    assertEquals(pm.info("web"), {
      container: "web",
      status: "exited",
      pid: 0,
      restarts: 0,
      lastExit: 0,
    });
    assertEquals(count(readLog(lab, "web"), "run"), 1);
  } finally {
    await cleanup();
  }
});

Deno.test("restart: no leaves a failed command down, always restarts a successful one", async () => {
  const { pm, plan, cleanup } = await fixture();
  try {
    await pm.start(plan({ command: ["sh", "-c", "exit 3"], restart: "no" }));
    await until("the command to exit", () => pm.info("web")?.status === "exited");
    assertEquals(pm.info("web")?.restarts, 0);
    assertEquals(pm.info("web")?.lastExit, 3);

    await pm.start(plan({ command: ["true"], restart: "always" }));
    await until("two restarts", () => (pm.info("web")?.restarts ?? 0) >= 2);
    await pm.stop("web");
    assertEquals(pm.pids(), []);
  } finally {
    await cleanup();
  }
});

Deno.test("stop kills what the command forked as well", async () => {
  const { lab, pm, plan, cleanup } = await fixture();
  try {
    const pid = await pm.start(plan({
      command: ["sh", "-c", "sleep 1000 & echo bg=$!; wait"],
      restart: "always",
    }));
    await until("the background pid in the log", () => /bg=\d+/.test(readLog(lab, "web")));
    const bg = Number(/bg=(\d+)/.exec(readLog(lab, "web"))![1]);
    assert(processAlive(bg) && processAlive(pid));
    await pm.stop("web");
    await until("the background sleep to be gone", () => !processAlive(bg));
    assert(!processAlive(pid));
    assertEquals(pm.info("web"), null, "stopped, and not restarted despite restart: always");
  } finally {
    await cleanup();
  }
});

Deno.test("after a crash, the lab's files alone are enough to kill its commands and unmount its pins", async () => {
  const { lab, pm, plan, cleanup } = await fixture();
  try {
    const pid = await pm.start(plan({ command: ["sleep", "1000"] }));
    const pin = utsPath(lab, "web");
    assert(mounted(pin) && processAlive(pid));
    // As if the supervisor had died: only the files in /run/nslab/<lab>/ are used.
    assertEquals(cleanupLabRuntime(lab), []);
    await until("the command to die", () => !processAlive(pid));
    assert(!mounted(pin), "pin still mounted");
    for (const f of ["pids", "mounts", "uts"]) {
      assert(!(await Deno.stat(`${stateDir(lab)}/${f}`).then(() => true, () => false)), f);
    }
    assertEquals(cleanupLabRuntime(lab), [], "idempotent");
  } finally {
    await cleanup();
  }
});

Deno.test("netns files are written atomically with safe names only, and removed with their folder", async () => {
  const netns = `fwt-${crypto.randomUUID().slice(0, 6)}-files`;
  try {
    await writeNetnsFiles(netns, { "resolv.conf": RESOLV, hosts: HOSTS });
    assertEquals(Deno.readTextFileSync(`${netnsEtcDir(netns)}/resolv.conf`), RESOLV);
    assertEquals(Deno.statSync(`${netnsEtcDir(netns)}/hosts`).mode! & 0o777, 0o644);
    assertEquals([...Deno.readDirSync(netnsEtcDir(netns))].map((e) => e.name).sort(), [
      "hosts",
      "resolv.conf",
    ]);
    for (const bad of ["../passwd", "a/b", "..", ".hidden", ""]) {
      let threw = false;
      try {
        await writeNetnsFiles(netns, { [bad]: "x" });
      } catch {
        threw = true;
      }
      assert(threw, `accepted ${JSON.stringify(bad)}`);
    }
    removeNetnsFiles(netns);
    assert(!(await Deno.stat(netnsEtcDir(netns)).then(() => true, () => false)));
    removeNetnsFiles(netns); // idempotent
  } finally {
    removeNetnsFiles(netns);
  }
});

Deno.test("many namespaces' files are written concurrently, and a bad name writes nothing", async () => {
  const id = crypto.randomUUID().slice(0, 6);
  const names = Array.from({ length: 40 }, (_, i) => `fwt-${id}-m${i}`);
  try {
    await writeManyNetnsFiles(
      names.map((netns) => ({ netns, files: { "resolv.conf": RESOLV, hosts: `${netns}\n` } })),
      8,
    );
    for (const netns of names) {
      assertEquals(Deno.readTextFileSync(`${netnsEtcDir(netns)}/hosts`), `${netns}\n`);
      assertEquals(Deno.statSync(`${netnsEtcDir(netns)}/resolv.conf`).mode! & 0o777, 0o644);
      assertEquals([...Deno.readDirSync(netnsEtcDir(netns))].length, 2, "no temporary file left");
    }
    const late = `fwt-${id}-late`;
    let threw = false;
    try {
      await writeManyNetnsFiles([
        { netns: late, files: { hosts: "x" } },
        { netns: `fwt-${id}-bad`, files: { "../passwd": "x" } },
      ]);
    } catch {
      threw = true;
    }
    assert(threw, "a bad file name is refused");
    assert(!(await Deno.stat(netnsEtcDir(late)).then(() => true, () => false)), "checked first");
  } finally {
    for (const netns of names) removeNetnsFiles(netns);
  }
});
