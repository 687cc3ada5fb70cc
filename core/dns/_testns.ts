/**
 * Test namespaces for the DNS tests (prefix `dnst-`): creation with `lo` up, an
 * `/etc/netns/<ns>/resolv.conf` pointing at 127.0.0.11, and cleanup that removes everything.
 *
 * @module
 */

import { createNetns, deleteNetns, listNetns } from "../kernel/netns/netns.ts";
import { run as runCmd } from "../../tests/_support/run.ts";

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (args array, no shell) and collects its output. */
export function run(cmd: string, ...args: string[]): Promise<RunResult> {
  return runCmd([cmd, ...args]);
}

/** Runs a command and throws with its output unless it exits 0. */
export async function must(cmd: string, ...args: string[]): Promise<string> {
  const r = await run(cmd, ...args);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

/** Runs `cmd args…` inside namespace `ns`. Equivalent to: `ip netns exec NS CMD…`. */
export function nsRun(ns: string, cmd: string, ...args: string[]): Promise<RunResult> {
  return run("ip", "netns", "exec", ns, cmd, ...args);
}

/** A set of test namespaces that share one random run id and are removed together. */
export class TestNamespaces implements AsyncDisposable {
  readonly prefix: string;
  readonly names: string[] = [];

  constructor(prefix = "dnst") {
    this.prefix = `${prefix}-${crypto.randomUUID().slice(0, 6)}`;
  }

  /** Creates `<prefix>-<tag>` with lo up (unless `loUp: false`) and a resolv.conf for the DNS. */
  async add(tag: string, opts: { loUp?: boolean } = {}): Promise<string> {
    const name = `${this.prefix}-${tag}`;
    createNetns(name);
    this.names.push(name);
    if (opts.loUp !== false) await must("ip", "-n", name, "link", "set", "lo", "up");
    const dir = `/etc/netns/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.11\noptions ndots:0\n");
    return name;
  }

  /**
   * A veth pair from `from` (10.99.0.2/24) to `to` (`eth0`, `upstream`/24): somewhere for
   * forwarded queries to go.
   */
  async linkUpstream(from: string, to: string, upstream: string): Promise<void> {
    const veth = `${this.prefix.slice(5)}w`;
    await must("ip", "-n", from, "link", "add", veth, "type", "veth", "peer", "eth0", "netns", to);
    await must("ip", "-n", from, "addr", "add", "10.99.0.2/24", "dev", veth);
    await must("ip", "-n", from, "link", "set", veth, "up");
    await must("ip", "-n", to, "addr", "add", `${upstream}/24`, "dev", "eth0");
    await must("ip", "-n", to, "link", "set", "eth0", "up");
  }

  /** Removes every namespace and its /etc/netns folder; reports all failures at the end. */
  async [Symbol.asyncDispose](): Promise<void> {
    const errors: string[] = [];
    for (const name of this.names) {
      try {
        deleteNetns(name);
      } catch (e) {
        errors.push(`${name}: ${e instanceof Error ? e.message : e}`);
      }
      try {
        await Deno.remove(`/etc/netns/${name}`, { recursive: true });
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) errors.push(`/etc/netns/${name}: ${e}`);
      }
    }
    const left = listNetns().filter((n) => n.startsWith(this.prefix));
    if (left.length > 0) errors.push(`namespaces left behind: ${left.join(", ")}`);
    if (errors.length > 0) throw new Error(`DNS test cleanup failed:\n${errors.join("\n")}`);
  }
}

/** Polls `fn` until it returns true or `timeoutMs` passes; throws `what` on timeout. */
export async function waitFor(
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
