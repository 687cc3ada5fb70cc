/**
 * The Docker runtime: a container with `runtime: docker` is a real Docker container made from its
 * `image:` with Docker's networking off (`--network none`), named `<lab>-<container>` and labelled
 * `nslab.lab=<lab>`. nslab then pins the container's network namespace at
 * `/run/netns/<lab>-<container>` (like `ip netns attach`) and wires it exactly like a sandbox:
 * veths, addresses, routes, and its embedded DNS at 127.0.0.11 (Docker writes the container's
 * resolv.conf from `--dns 127.0.0.11 --dns-option ndots:0`). Docker runs the image's command.
 *
 * Everything goes through the `docker` CLI with an args array (never a shell). Names of created
 * containers are written to `/run/nslab/<lab>/docker` before each `docker create`, and teardown
 * removes every container labelled with the lab, so nothing survives a crash or `down`.
 *
 * Known limit: Docker gives a restarted container a fresh namespace, so nslab passes no restart
 * policy to Docker (a restarted container would come back without its network).
 *
 * @module
 */

import type { Container, Model } from "../model/types.ts";
import { formatDiagnostic, NslabError, UnsupportedError } from "../errors.ts";

/** The label every Docker container of a lab carries: `nslab.lab=<lab>`. */
export const LAB_LABEL = "nslab.lab";

/** How long one `docker` CLI call may take before nslab gives up on the engine. */
const CALL_TIMEOUT_MS = 60_000;

/** Output of one `docker` CLI call. */
export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `docker` CLI with `args` (no shell) and returns its exit code and output. Throws
 * {@link NslabError} when the CLI is not installed or does not finish within the deadline.
 */
export async function docker(args: string[], timeoutMs = CALL_TIMEOUT_MS): Promise<DockerResult> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("docker", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NslabError(
        `Cannot run "docker ${args[0] ?? ""}": the docker CLI is not on PATH; install docker.io ` +
          `(scripts/docker.sh does)`,
      );
    }
    throw new NslabError(`Cannot run "docker ${args.join(" ")}": ${(e as Error).message}`, 1, {
      cause: e,
    });
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr).trim() };
}

/** Runs `docker args…` and returns stdout; throws with Docker's own message when it fails. */
async function dockerOk(args: string[], what: string): Promise<string> {
  const r = await docker(args);
  if (r.code !== 0) {
    throw new NslabError(`Cannot ${what}: docker ${args[0]} exited ${r.code}: ${r.stderr}`);
  }
  return r.stdout;
}

/** Whether a Docker engine answers, and its version or why not. Equivalent to: `docker version`. */
export async function dockerEngine(): Promise<{ ok: boolean; detail: string }> {
  try {
    const r = await docker(["version", "--format", "{{.Server.Version}}"], 15_000);
    if (r.code === 0 && r.stdout.trim() !== "") return { ok: true, detail: r.stdout.trim() };
    const line = r.stderr.split("\n").find((l) => l.trim() !== "") ?? `exit code ${r.code}`;
    return { ok: false, detail: line };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

/** The containers of `model` that are real Docker containers. */
export function dockerContainers(model: Model): Container[] {
  return model.containers.filter((c) => c.runtime === "docker");
}

/** The Docker container name of `c`: its namespace name, `<lab>-<container>`. */
export function dockerName(c: Container): string {
  return c.netns;
}

/**
 * Throws {@link UnsupportedError} (one located line per Docker container) when the model has
 * `runtime: docker` containers and no engine answers. Used by `validate` and `up`.
 */
export async function checkDockerEngine(model: Model): Promise<void> {
  const wanted = dockerContainers(model);
  if (wanted.length === 0) return;
  const engine = await dockerEngine();
  if (engine.ok) return;
  throw new UnsupportedError(
    wanted.map((c) =>
      formatDiagnostic({
        pos: c.pos,
        message: `container "${c.name}" has runtime docker, but no Docker engine is reachable ` +
          `(${engine.detail})`,
        hint: "start dockerd (scripts/docker.sh installs and starts it), or use runtime: netns",
      })
    ).join("\n"),
  );
}

/**
 * The `docker create` arguments of `c` (pure): networking off, name and label, hostname, the
 * lab's DNS, its own addresses in /etc/hosts, environment, image and command.
 *
 * @example
 * ```ts
 * await docker(dockerCreateArgs(model.lab, container));
 * ```
 */
export function dockerCreateArgs(lab: string, c: Container): string[] {
  if (c.runtime !== "docker" || c.image === null) {
    throw new NslabError(
      `Cannot create a Docker container for "${c.name}": it is not runtime docker`,
    );
  }
  if (c.mode.kind !== "own" && c.mode.kind !== "none") {
    throw new UnsupportedError(
      `Cannot make "${c.name}" a Docker container: network_mode ${c.mode.kind} is not supported ` +
        `with runtime docker (nslab must own the container's namespace); use runtime: netns`,
    );
  }
  const args = [
    "create",
    "--name",
    dockerName(c),
    "--label",
    `${LAB_LABEL}=${lab}`,
    "--network",
    "none",
    "--hostname",
    c.hostname,
  ];
  if (c.mode.kind === "own" && c.endpoints.length > 0) {
    args.push("--dns", "127.0.0.11", "--dns-option", "ndots:0");
    const names = [...new Set([c.hostname, c.name])];
    for (const ep of c.endpoints) {
      for (const n of names) args.push("--add-host", `${n}:${ep.address}`);
    }
  }
  for (const [k, v] of Object.entries(c.environment).sort(([a], [b]) => a.localeCompare(b))) {
    args.push("--env", `${k}=${v}`);
  }
  args.push(c.image);
  if (c.command) args.push(...c.command);
  return args;
}

/** Options of {@link startDockerContainers}. */
export interface StartOptions {
  /** Called with each container name before it is created (crash-safe record for teardown). */
  record: (name: string) => void;
}

/**
 * Creates and starts every Docker container of `model` and returns, per namespace name, the
 * path of its network namespace (`/proc/<pid>/ns/net`) for `applyNetwork`'s `adopt`.
 * Equivalent to: `docker create …` for each, `docker start NAMES…`,
 * `docker inspect -f '{{.State.Pid}}' NAMES…`.
 */
export async function startDockerContainers(
  model: Model,
  opts: StartOptions,
): Promise<Record<string, string>> {
  const wanted = dockerContainers(model);
  if (wanted.length === 0) return {};
  for (const c of wanted) opts.record(dockerName(c));
  await Promise.all(
    wanted.map((c) =>
      dockerOk(dockerCreateArgs(model.lab, c), `create Docker container "${dockerName(c)}"`)
    ),
  );
  const names = wanted.map(dockerName);
  await dockerOk(["start", ...names], `start Docker containers ${names.join(", ")}`);
  const out = await dockerOk(
    ["inspect", "--format", "{{.Name}} {{.State.Pid}} {{.State.Running}}", ...names],
    `inspect Docker containers ${names.join(", ")}`,
  );
  const pids = new Map<string, number>();
  for (const line of out.split("\n")) {
    const [name, pid, running] = line.trim().split(" ");
    if (name && running === "true") pids.set(name.replace(/^\//, ""), Number(pid));
  }
  const adopt: Record<string, string> = {};
  for (const c of wanted) {
    const pid = pids.get(dockerName(c));
    if (!pid || pid <= 0) {
      const logs = await docker(["logs", "--tail", "5", dockerName(c)]);
      throw new NslabError(
        `Cannot wire Docker container "${dockerName(c)}": it is not running right after ` +
          `"docker start" (its command exited); last log lines: ${
            (logs.stdout + logs.stderr).trim() || "(none)"
          } — give it a long-running command`,
      );
    }
    adopt[c.netns] = `/proc/${pid}/ns/net`;
  }
  return adopt;
}

/** What {@link removeDockerContainers} did. */
export interface DockerRemoval {
  removed: string[];
  errors: Error[];
}

/**
 * Removes (force, with anonymous volumes) every Docker container labelled `nslab.lab=<lab>`.
 * Equivalent to: `docker rm -fv $(docker ps -aq --filter label=nslab.lab=LAB)`. Only the label
 * decides: a container that merely has a lab-like name is never touched. `names` (recorded at
 * creation) only matter when the engine does not answer: then they are reported as left behind;
 * with none recorded and no engine there is nothing to do and no error.
 */
export async function removeDockerContainers(
  lab: string,
  names: string[] = [],
): Promise<DockerRemoval> {
  const report: DockerRemoval = { removed: [], errors: [] };
  let listed: DockerResult;
  try {
    listed = await docker([
      "ps",
      "--all",
      "--filter",
      `label=${LAB_LABEL}=${lab}`,
      "--format",
      "{{.Names}}",
    ]);
  } catch (e) {
    if (names.length > 0) report.errors.push(e as Error);
    return report;
  }
  if (listed.code !== 0) {
    if (names.length > 0) {
      report.errors.push(
        new NslabError(
          `Cannot remove the Docker containers of lab "${lab}" (${names.join(", ")}): the engine ` +
            `does not answer (${listed.stderr}); start dockerd and run "nslab down -p ${lab}" again`,
        ),
      );
    }
    return report;
  }
  const labelled = listed.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (labelled.length === 0) return report;
  const r = await docker(["rm", "--force", "--volumes", ...labelled]);
  for (const line of r.stdout.split("\n")) if (line.trim()) report.removed.push(line.trim());
  for (const line of r.stderr.split("\n")) {
    if (!line.trim() || /No such container/i.test(line)) continue;
    report.errors.push(new NslabError(`Cannot remove Docker container: ${line.trim()}`));
  }
  report.removed.sort();
  return report;
}
