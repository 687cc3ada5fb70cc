/**
 * Docker baselines: `docker run` of N containers on a user network and `docker rm -f` of them
 * (up+down), and a set of named containers whose embedded DNS (127.0.0.11 inside each container)
 * dnsperf can query from the container's network namespace (`nsenter --net=/proc/<pid>/ns/net`).
 *
 * Everything made here is named `bn<rand>-…` and labelled `nslab.bench=<run id>`; networks are
 * `--internal` so no container (and no DNS query Docker would forward) reaches the machine's
 * network. The image is `docker import` of a rootfs holding the machine's busybox-static.
 *
 * @module
 */

import { docker } from "../core/runtime/docker.ts";

/** Runs `docker args…`; throws with Docker's stderr when it fails. */
async function must(args: string[], timeoutMs?: number): Promise<string> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(
      `docker ${args.slice(0, 3).join(" ")} … failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  }
  return r.stdout.trim();
}

/** A Docker engine for the benchmark; `stop()` stops it only when this object started it. */
export class DockerEngine {
  #child: Deno.ChildProcess | null = null;
  /** Why Docker cannot be used, or null when an engine answers. */
  skipReason: string | null = null;
  /** true when this object started dockerd. */
  get started(): boolean {
    return this.#child !== null;
  }

  static async #answers(): Promise<boolean> {
    try {
      return (await docker(["version", "--format", "{{.Server.Version}}"], 10_000)).code === 0;
    } catch {
      return false;
    }
  }

  /**
   * Uses a running engine, or starts `dockerd` (log: /tmp/bn-dockerd.log) and waits for it to
   * answer `docker version` (deadline 60 s). Sets {@link skipReason} instead of throwing.
   */
  static async open(): Promise<DockerEngine> {
    const e = new DockerEngine();
    if (await DockerEngine.#answers()) return e;
    let log: Deno.FsFile | null = null;
    try {
      log = await Deno.open("/tmp/bn-dockerd.log", { create: true, append: true });
      e.#child = new Deno.Command("dockerd", {
        args: [],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      e.#child.stdout.pipeTo(log.writable, { preventClose: true }).catch(() => {});
      e.#child.stderr.pipeTo(log.writable).catch(() => {});
    } catch (err) {
      log?.close();
      e.skipReason = `dockerd cannot start (${
        (err as Error).message
      }); apt-get install -y docker.io`;
      return e;
    }
    const deadline = performance.now() + 60_000;
    let delay = 50;
    while (!(await DockerEngine.#answers())) {
      if (performance.now() > deadline) {
        await e.stop();
        e.skipReason = "dockerd started but did not answer within 60 s (see /tmp/bn-dockerd.log)";
        return e;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
    return e;
  }

  /** Stops dockerd (SIGTERM, then SIGKILL after 20 s) if this object started it. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 20_000);
    await child.status;
    clearTimeout(timer);
  }
}

/** The label key on everything the benchmark makes in Docker (value: the run's id). */
export const BENCH_LABEL = "nslab.bench";

/** What {@link removeLeftovers} removed. */
export interface Leftovers {
  containers: number;
  networks: number;
}

/**
 * Removes every Docker container, then every network, carrying the label key `key` (any value):
 * what an earlier run killed before its cleanup left behind. A leftover user network keeps its
 * subnet, so every later Docker network and every lab that asks Docker for a free subnet would
 * get a different one. Containers go first: a network with endpoints cannot be removed.
 */
export async function removeLeftovers(key = BENCH_LABEL): Promise<Leftovers> {
  const list = async (kind: "ps" | "network ls") => {
    const args = kind === "ps" ? ["ps", "-aq"] : ["network", "ls", "-q"];
    return (await must([...args, "--filter", `label=${key}`])).split("\n").filter(Boolean);
  };
  const containers = await list("ps");
  if (containers.length) await must(["rm", "-f", ...containers], 300_000);
  const networks = await list("network ls");
  for (const n of networks) await must(["network", "rm", n], 90_000);
  return { containers: containers.length, networks: networks.length };
}

/** Things one benchmark run made in Docker, removed by {@link DockerRun.cleanup}. */
export class DockerRun implements AsyncDisposable {
  readonly id = `bn${crypto.randomUUID().slice(0, 6)}`;
  #images: string[] = [];
  #networks: string[] = [];

  /** Builds a busybox image (`docker import`, CMD sleep) and returns its reference. */
  async image(): Promise<string> {
    const ref = `nslab-bench-busybox:${this.id}`;
    const root = await Deno.makeTempDir({ prefix: "bn-rootfs-" });
    const tar = `${root}.tar`;
    try {
      await Deno.mkdir(`${root}/bin`);
      for (const d of ["etc", "tmp", "proc", "sys", "dev"]) await Deno.mkdir(`${root}/${d}`);
      await Deno.copyFile("/bin/busybox", `${root}/bin/busybox`);
      await Deno.chmod(`${root}/bin/busybox`, 0o755);
      for (const applet of ["sh", "sleep"]) await Deno.symlink("busybox", `${root}/bin/${applet}`);
      const t = await new Deno.Command("tar", { args: ["-C", root, "-cf", tar, "."] }).output();
      if (!t.success) throw new Error(`tar of ${root} failed`);
      this.#images.push(ref);
      await must(["import", "--change", 'CMD ["sleep", "3600"]', tar, ref]);
      return ref;
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(tar).catch(() => {});
    }
  }

  /** Creates an internal user network `<id>-<name>` and returns its name. */
  async network(name: string): Promise<string> {
    const net = `${this.id}-${name}`;
    this.#networks.push(net);
    await must(["network", "create", "--internal", "--label", `${BENCH_LABEL}=${this.id}`, net]);
    return net;
  }

  /** `docker run -d` one container; returns its name. */
  async run(image: string, net: string, name: string, aliases: string[] = []): Promise<string> {
    const full = `${this.id}-${name}`;
    const args = [
      "run",
      "-d",
      "--network",
      net,
      "--name",
      full,
      "--label",
      `${BENCH_LABEL}=${this.id}`,
    ];
    for (const a of aliases) args.push("--network-alias", a);
    await must([...args, image]);
    return full;
  }

  /** `docker rm -f` of the given containers (one command, like `compose down`). */
  async remove(names: string[]): Promise<void> {
    // Slow on some engines (20.10 retries "key modified" while it frees many endpoints at once).
    if (names.length) await must(["rm", "-f", ...names], 300_000);
  }

  /**
   * `docker rm -f` of every container of this run until none is left: a removal can fail halfway
   * and leave a container "Dead", which only a second `rm -f` takes away. Up to 60 s.
   */
  async removeAll(): Promise<void> {
    const deadline = performance.now() + 60_000;
    for (;;) {
      const ids = await docker(["ps", "-aq", "--filter", `label=${BENCH_LABEL}=${this.id}`])
        .then((r) => r.stdout.split("\n").filter(Boolean), () => [] as string[]);
      if (ids.length === 0 || performance.now() > deadline) return;
      await docker(["rm", "-f", ...ids], 120_000).catch(() => {});
      await new Promise((ok) => setTimeout(ok, 200));
    }
  }

  /**
   * `docker network rm` of a network made by {@link network}. Docker releases the endpoints of
   * removed containers asynchronously ("has active endpoints"), so this retries for up to 90 s
   * (30 s was too short for 100 containers on a loaded 2-CPU machine).
   */
  async removeNetwork(net: string): Promise<void> {
    const deadline = performance.now() + 90_000;
    let delay = 20;
    for (;;) {
      const r = await docker(["network", "rm", net]);
      if (r.code === 0) break;
      if (!r.stderr.includes("active endpoints") || performance.now() > deadline) {
        throw new Error(`docker network rm ${net} failed (exit ${r.code}): ${r.stderr}`);
      }
      await new Promise((ok) => setTimeout(ok, delay));
      delay = Math.min(delay * 2, 500);
    }
    this.#networks = this.#networks.filter((n) => n !== net);
  }

  /** The pid of a container's first process (its network namespace is /proc/<pid>/ns/net). */
  async pid(name: string): Promise<number> {
    return Number(await must(["inspect", "-f", "{{.State.Pid}}", name]));
  }

  /** Removes every container, network and image of this run (errors ignored). */
  async cleanup(): Promise<void> {
    await this.removeAll();
    for (const n of [...this.#networks]) await this.removeNetwork(n).catch(() => {});
    for (const i of this.#images) await docker(["image", "rm", "--force", i]).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.cleanup();
  }
}

/**
 * One Docker up+down: `docker run -d` of `n` containers (sequential) on an internal user network,
 * then `docker rm -f` of all of them and `docker network rm`. Milliseconds.
 */
export async function dockerUpDown(run: DockerRun, image: string, n: number): Promise<number> {
  const t0 = performance.now();
  const tag = crypto.randomUUID().slice(0, 4);
  const net = await run.network(`net${tag}`);
  const names: string[] = [];
  // Names unique per round: a round whose removal failed must not block the next one.
  for (let i = 1; i <= n; i++) names.push(await run.run(image, net, `u${tag}-c${i}`));
  await run.remove(names);
  await run.removeNetwork(net);
  return performance.now() - t0;
}
