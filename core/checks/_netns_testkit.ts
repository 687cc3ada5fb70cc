/**
 * Test helper (root): throwaway namespaces and links built with iproute2, removed in `cleanup()`
 * even when a test fails. Every namespace name starts with the caller's prefix plus a random
 * suffix, so parallel test runs never collide.
 *
 * @module
 */

import { createNetns, deleteNetns, listNetns } from "../kernel/netns/netns.ts";
import { run as runCmd } from "../../tests/_support/run.ts";

/** Runs a command (args array, no shell) and returns stdout; throws with stderr on failure. */
export async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const r = await runCmd([cmd, ...args], { stdin });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Like {@link run} but returns the exit code and both outputs instead of throwing. */
export function tryRun(
  cmd: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCmd([cmd, ...args], { stdin });
}

/** `ip ARGS…` */
export function ip(...args: string[]): Promise<string> {
  return run("ip", args);
}

/** A set of test namespaces `<prefix>-<rand>-<name>`. */
export class TestNets {
  readonly id: string;
  readonly names: string[] = [];

  constructor(readonly prefix: string) {
    this.id = crypto.randomUUID().slice(0, 6);
  }

  /** Full namespace name for short name `n`. */
  ns(n: string): string {
    return `${this.prefix}-${this.id}-${n}`;
  }

  /** Creates namespace `n` with `lo` up; returns its full name. */
  async add(n: string): Promise<string> {
    const name = this.ns(n);
    createNetns(name);
    this.names.push(name);
    await ip("-n", name, "link", "set", "lo", "up");
    return name;
  }

  /**
   * A veth from `a` (named `ifA`, address `addrA`) to `b` (named `ifB`, enslaved to bridge
   * `bridge` in `b` when given, else addressed `addrB`).
   */
  async veth(
    a: string,
    ifA: string,
    addrA: string | null,
    b: string,
    ifB: string,
    opts: { bridge?: string; addrB?: string } = {},
  ): Promise<void> {
    await ip("-n", a, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b);
    if (addrA) await ip("-n", a, "addr", "add", addrA, "dev", ifA);
    if (opts.bridge) await ip("-n", b, "link", "set", ifB, "master", opts.bridge);
    if (opts.addrB) await ip("-n", b, "addr", "add", opts.addrB, "dev", ifB);
    await ip("-n", a, "link", "set", ifA, "up");
    await ip("-n", b, "link", "set", ifB, "up");
  }

  /** Removes every namespace made here (their links go with them); reports all failures. */
  cleanup(): void {
    const errors: string[] = [];
    for (const n of this.names.splice(0)) {
      try {
        deleteNetns(n);
      } catch (e) {
        errors.push(`${n}: ${(e as Error).message}`);
      }
    }
    const left = listNetns().filter((n) => n.startsWith(`${this.prefix}-${this.id}`));
    if (left.length || errors.length) {
      throw new Error(`test namespaces not removed: ${[...left, ...errors].join("; ")}`);
    }
  }
}
