/**
 * Support for the many-hosts tests (prefix `ov`): lab names, real clients run without a shell,
 * a tcpdump capture that reports when it is listening, and a leak check.
 *
 * @module
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { run as runCmd } from "./_support/run.ts";

/** A lab name with the tests' prefix and a random suffix (≤ 11 bytes, parallel-safe). */
export function labName(): string {
  return `ov${crypto.randomUUID().replaceAll("-", "").slice(0, 7)}`;
}

/** Exit code and combined output of a command. */
export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs a real client with an args array (never through a shell). */
export async function run(cmd: string[]): Promise<Run> {
  const r = await runCmd(cmd);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** Runs a command inside namespace `<lab>-<ns>` (`ip netns exec`). */
export function inNs(lab: string, ns: string, cmd: string[]): Promise<Run> {
  return run(["ip", "netns", "exec", `${lab}-${ns}`, ...cmd]);
}

/** A running capture: `done` resolves with tcpdump's decoded lines once `count` packets arrived. */
export interface Capture {
  done: Promise<string>;
}

/**
 * Starts `tcpdump -c COUNT` on `dev` inside namespace `netns` and resolves once it is listening.
 * It gives up (and `done` rejects) after 15 s without `count` packets.
 */
export async function capture(
  netns: string,
  dev: string,
  filter: string[],
  count: number,
): Promise<Capture> {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      netns,
      "timeout",
      "15",
      "tcpdump",
      "-l",
      "-nn",
      "-i",
      dev,
      "-c",
      `${count}`,
      ...filter,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const dec = new TextDecoder();
  let stdout = "";
  const outDone = (async () => {
    for await (const chunk of child.stdout) stdout += dec.decode(chunk);
  })();
  const reader = child.stderr.getReader();
  let stderr = "";
  while (!stderr.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`tcpdump in ${netns} did not start: ${stderr}`);
    }
    stderr += dec.decode(value);
  }
  const errDone = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += dec.decode(value);
    }
  })();
  const done = (async () => {
    const status = await child.status;
    await outDone;
    await errDone;
    if (!status.success) {
      throw new Error(
        `tcpdump in ${netns} ended with ${status.code} before ${count} packets: ${stdout}${stderr}`,
      );
    }
    return stdout;
  })();
  return { done };
}

/** Namespaces of a lab still pinned (`ip netns list`). */
export async function labNamespaces(lab: string): Promise<string[]> {
  const out = (await run(["ip", "netns", "list"])).out;
  return out.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(`${lab}-`));
}

/** Fails when any namespace of `lab` is left over. */
export async function assertNoNamespaces(lab: string): Promise<void> {
  assertEquals(await labNamespaces(lab), [], `lab ${lab} left namespaces behind`);
}
