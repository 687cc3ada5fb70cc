/**
 * Machines simulated on this one, for the multi-machine tests (prefix `mm`): each machine is a
 * network namespace with its own "physical" NIC `phy0` plugged into a shared L2 segment (a bridge
 * in another namespace), its own mount namespace in which /run/netns, /run/nslab and /etc/netns
 * are private tmpfs mounts and /sys shows the machine's interfaces, and its own pid namespace and
 * /proc (so one machine's `nslab down` cannot see another's supervisors). A keeper process
 * (`sleep`, pid 1 there) holds them; nslab runs inside with `nsenter --target KEEPER --mount
 * --net --pid`, exactly as it would run on a machine of its own. Disposing removes every machine and
 * proves that no process is left in any of their mount namespaces.
 *
 * @module
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { run, type RunResult } from "./_support/run.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
/** The folders every machine has of its own. */
export const PRIVATE_DIRS = ["/run/netns", "/run/nslab", "/etc/netns"];

/** Runs a command with arguments (never through a shell); throws when it fails. */
async function must(cmd: string[]): Promise<RunResult> {
  const r = await run(cmd);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.out}`);
  return r;
}

/** One simulated machine. */
export class Machine {
  constructor(
    /** Its network namespace (in the real /run/netns). */
    readonly netns: string,
    /** Its address on the segment, on `phy0`. */
    readonly address: string,
    /** `unshare`, whose end ends the machine's processes. */
    readonly child: Deno.ChildProcess,
    /** The pid (here) of the machine's pid 1, `sleep`, which holds its namespaces. */
    readonly keeper: number,
    /** `mnt:[inode]` of its mount namespace. */
    readonly mountNs: string,
  ) {}

  /** Runs a command on this machine (its network and mount namespace). */
  exec(cmd: string[]): Promise<RunResult> {
    return run([
      "nsenter",
      `--target=${this.keeper}`,
      "--mount",
      "--net",
      "--pid",
      "--wd=/tmp",
      "--",
      ...cmd,
    ]);
  }

  /** Runs `nslab ARGS…` on this machine. */
  nslab(args: string[]): Promise<RunResult> {
    return this.exec([Deno.execPath(), "run", "-A", MAIN, ...args]);
  }

  /** Runs a command in the lab namespace `ns` of this machine (`ip netns exec`, its own /run/netns). */
  inNs(ns: string, cmd: string[]): Promise<RunResult> {
    return this.exec(["ip", "netns", "exec", ns, ...cmd]);
  }

  /** Its addresses and routes as `ip -j` prints them, to prove nslab changed neither. */
  async addressesAndRoutes(): Promise<unknown> {
    const ip = async (args: string[]) =>
      JSON.parse((await must(["ip", "-n", this.netns, "-4", "-j", ...args])).stdout);
    const [addrs, routes] = [await ip(["addr", "show"]), await ip(["route", "show"])];
    return {
      addrs: addrs.map((l: { ifname: string; addr_info: unknown[] }) => [l.ifname, l.addr_info]),
      routes,
    };
  }

  /** The lab namespaces and state on this machine (its private folders). */
  async leftovers(): Promise<string[]> {
    const r = await this.exec(["ls", "-A", ...PRIVATE_DIRS]);
    return r.stdout.split("\n").filter((l) => l !== "" && !l.endsWith(":"));
  }
}

/** Pids of the processes whose mount namespace is `mountNs`. */
export function processesIn(mountNs: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/ns/mnt`) === mountNs) out.push(Number(e.name));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** Machines on one segment `<prefix>-seg`; `await using` removes them all. */
export class Machines implements AsyncDisposable {
  readonly list: Machine[] = [];
  private constructor(readonly prefix: string) {}

  /** The segment and `count` machines 198.51.100.1, .2, … on it. */
  static async create(prefix: string, count: number): Promise<Machines> {
    const m = new Machines(prefix);
    try {
      const seg = `${prefix}-seg`;
      await must(["ip", "netns", "add", seg]);
      await must(["ip", "-n", seg, "link", "add", "seg0", "type", "bridge"]);
      await must(["ip", "-n", seg, "link", "set", "seg0", "up"]);
      for (let i = 1; i <= count; i++) m.list.push(await m.#machine(i));
      return m;
    } catch (e) {
      await m[Symbol.asyncDispose]();
      throw e;
    }
  }

  async #machine(i: number): Promise<Machine> {
    const netns = `${this.prefix}-m${i}`;
    const seg = `${this.prefix}-seg`;
    const address = `198.51.100.${i}`;
    await must(["ip", "netns", "add", netns]);
    const ns = (args: string[]) => must(["ip", "-n", netns, ...args]);
    await ns(["link", "add", "phy0", "type", "veth", "peer", "name", `m${i}`, "netns", seg]);
    await must(["ip", "-n", seg, "link", "set", `m${i}`, "master", "seg0", "up"]);
    await ns(["addr", "add", `${address}/24`, "dev", "phy0"]);
    await ns(["link", "set", "phy0", "up"]);
    await ns(["link", "set", "lo", "up"]);
    // unshare forks `sleep` as pid 1 of a new pid namespace (so the machine has its own /proc,
    // as a real one has) and kills it when unshare itself is killed; pid 1's end ends the rest.
    const child = new Deno.Command("nsenter", {
      args: [
        `--net=/run/netns/${netns}`,
        "unshare",
        "--mount",
        "--propagation=private",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "sleep",
        "infinity",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const mine = Deno.readLinkSync("/proc/self/ns/mnt");
    let keeper = 0;
    let mountNs = mine;
    for (let tries = 0; mountNs === mine && tries < 200; tries++) {
      await new Promise((r) => setTimeout(r, 10)); // until unshare has forked `sleep`
      try {
        keeper = Number(Deno.readTextFileSync(`/proc/${child.pid}/task/${child.pid}/children`));
        if (keeper > 0) mountNs = Deno.readLinkSync(`/proc/${keeper}/ns/mnt`);
      } catch { /* not yet */ }
    }
    const machine = new Machine(netns, address, child, keeper, mountNs);
    this.list.push(machine); // disposed even if the mounts below fail
    for (const dir of PRIVATE_DIRS) {
      await must([
        "nsenter",
        `--target=${keeper}`,
        "--mount",
        "--",
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "mode=0755",
        "mm-machine",
        dir,
      ]);
    }
    await must([
      "nsenter",
      `--target=${keeper}`,
      "--mount",
      "--net",
      "--",
      "mount",
      "-t",
      "sysfs",
      "mm-machine",
      "/sys",
    ]);
    this.list.pop();
    return machine;
  }

  /** Unplugs (`down`) or plugs back (`up`) machine `i`'s cable at the segment's bridge. */
  async cable(i: number, state: "up" | "down"): Promise<void> {
    await must(["ip", "-n", `${this.prefix}-seg`, "link", "set", `m${i}`, state]);
  }

  /** Kills each keeper, checks that nothing is left in any mount namespace, removes the namespaces. */
  async [Symbol.asyncDispose](): Promise<void> {
    const errors: string[] = [];
    for (const m of this.list) {
      try {
        m.child.kill("SIGKILL");
      } catch { /* already gone */ }
      await m.child.status;
    }
    for (const m of this.list) {
      for (let tries = 0; processesIn(m.mountNs).length > 0 && tries < 100; tries++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const left = processesIn(m.mountNs);
      if (left.length > 0) {
        errors.push(`processes left in ${m.netns}'s mount namespace: ${left.join(", ")}`);
        for (const pid of left) Deno.kill(pid, "SIGKILL");
      }
    }
    for (const name of [...this.list.map((m) => m.netns), `${this.prefix}-seg`]) {
      await run(["ip", "netns", "del", name]);
    }
    const real = (await run(["ip", "netns", "list"])).stdout;
    if (real.includes(this.prefix)) errors.push(`namespaces left: ${real}`);
    assertEquals(errors, []);
  }
}
