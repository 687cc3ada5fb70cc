/**
 * The Docker runtime: a container with `runtime: docker` is a real Docker container made from its
 * `image:` with Docker's networking off (`--network none`), named `<lab>-<container>` and labelled
 * `nslab.lab=<lab>`. nslab then pins the container's network namespace at
 * `/run/netns/<lab>-<container>` (like `ip netns attach`) and wires it exactly like a sandbox:
 * veths, addresses, routes, and its embedded DNS at 127.0.0.11 (Docker writes the container's
 * resolv.conf from `--dns 127.0.0.11 --dns-option ndots:0`). Docker runs the image's command.
 *
 * nslab talks to the engine through its API with dockerode (a maintained Docker API client, loaded
 * only when a lab has Docker containers), over `/var/run/docker.sock` or `DOCKER_HOST=unix://…`.
 * Measured on this project's VM (Docker 20.10, median of 3): create + start + inspect of 5
 * containers takes 595 ms through the API and 1,069 ms through the `docker` CLI, which starts a
 * process per call and parses its text. Names of created containers are written to
 * `/run/nslab/<lab>/docker` before they are created, and teardown removes every container labelled
 * with the lab, so nothing survives a crash or `down`.
 *
 * Known limit: Docker gives a restarted container a fresh namespace, so nslab passes no restart
 * policy to Docker (a restarted container would come back without its network).
 *
 * @module
 */

import type { Container, Model } from "../model/types.ts";
import { formatDiagnostic, NslabError, UnsupportedError } from "../errors.ts";
import { primaryAddress } from "../model/ipv6_only.ts";

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
 * {@link NslabError} when the CLI is not installed or does not finish within the deadline. nslab
 * itself uses the API ({@link engine}); tests use the CLI as an independent witness.
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

/** The part of dockerode's API nslab uses (typed here, see `_dockerode.d.ts`). */
export interface DockerApi {
  version(): Promise<{ Version: string }>;
  createContainer(spec: ContainerSpec): Promise<DockerApiContainer>;
  getContainer(id: string): DockerApiContainer;
  listContainers(
    opts: { all: boolean; filters: { label: string[] } },
  ): Promise<{ Id: string; Names: string[] }[]>;
}

/** One container, as dockerode hands it out. */
export interface DockerApiContainer {
  start(): Promise<unknown>;
  inspect(): Promise<{
    Id: string;
    Name: string;
    State: { Running: boolean; Pid: number };
    HostConfig: { NetworkMode?: string };
  }>;
  logs(opts: { stdout: boolean; stderr: boolean; tail: number; follow: false }): Promise<unknown>;
  remove(opts: { force: boolean; v: boolean }): Promise<unknown>;
}

/** The Engine API's container-create body, as far as nslab fills it. */
export interface ContainerSpec {
  name: string;
  Hostname: string;
  Labels: Record<string, string>;
  Image: string;
  Env?: string[];
  Cmd?: string[];
  HostConfig: {
    NetworkMode: string;
    Dns?: string[];
    DnsOptions?: string[];
    ExtraHosts?: string[];
  };
}

let client: Promise<DockerApi> | null = null;

/** The engine's Unix socket: `DOCKER_HOST=unix:///path`, else `/var/run/docker.sock`. */
function socketPath(): string {
  const host = Deno.env.get("DOCKER_HOST") ?? "";
  return host.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock";
}

/** The Docker Engine API client (dockerode, imported on first use). */
export function engine(): Promise<DockerApi> {
  client ??= import("./_dockerode.ts").then((m) =>
    new m.default({ socketPath: socketPath(), timeout: CALL_TIMEOUT_MS })
  );
  return client;
}

/** Docker's own message of an API error (`(HTTP code 404) no such container - …` → the text). */
function apiMessage(e: unknown): string {
  const err = e as { json?: { message?: string }; message?: string };
  return err?.json?.message ?? err?.message ?? String(e);
}

/** Whether a Docker engine answers, and its version or why not. Equivalent to: `docker version`. */
export async function dockerEngine(): Promise<{ ok: boolean; detail: string }> {
  try {
    const api = await engine();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no answer within 15 s")), 15_000);
    });
    const v = await Promise.race([api.version(), late]).finally(() => clearTimeout(timer));
    return { ok: true, detail: v.Version };
  } catch (e) {
    return { ok: false, detail: apiMessage(e) };
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
 * The Engine API body that creates `c` (pure; what `docker create` would send): networking off,
 * name and label, hostname, the lab's DNS, its own addresses in /etc/hosts, environment, image and
 * command.
 *
 * @example
 * ```ts
 * await (await engine()).createContainer(dockerCreateSpec(model.lab, container));
 * ```
 */
export function dockerCreateSpec(lab: string, c: Container): ContainerSpec {
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
  const host: ContainerSpec["HostConfig"] = { NetworkMode: "none" };
  if (c.mode.kind === "own" && c.endpoints.length > 0) {
    host.Dns = ["127.0.0.11"];
    host.DnsOptions = ["ndots:0"];
    const names = [...new Set([c.hostname, c.name])];
    host.ExtraHosts = c.endpoints.flatMap((ep) => names.map((n) => `${n}:${primaryAddress(ep)}`));
  }
  const spec: ContainerSpec = {
    name: dockerName(c),
    Hostname: c.hostname,
    Labels: { [LAB_LABEL]: lab },
    Image: c.image,
    HostConfig: host,
  };
  const env = Object.entries(c.environment).sort(([a], [b]) => a.localeCompare(b));
  if (env.length > 0) spec.Env = env.map(([k, v]) => `${k}=${v}`);
  if (c.command) spec.Cmd = c.command;
  return spec;
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
 * `docker inspect -f '{{.State.Pid}}' NAMES…` (through the Engine API, all at once).
 */
export async function startDockerContainers(
  model: Model,
  opts: StartOptions,
): Promise<Record<string, string>> {
  const wanted = dockerContainers(model);
  if (wanted.length === 0) return {};
  for (const c of wanted) opts.record(dockerName(c));
  const api = await engine();
  const step = async <T>(what: string, c: Container, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw new NslabError(`Cannot ${what} Docker container "${dockerName(c)}": ${apiMessage(e)}`);
    }
  };
  const pids = await Promise.all(wanted.map(async (c) => {
    const made = await step("create", c, () => api.createContainer(dockerCreateSpec(model.lab, c)));
    await step("start", c, () => made.start());
    const seen = await step("inspect", c, () => made.inspect());
    return seen.State.Running ? seen.State.Pid : 0;
  }));
  const adopt: Record<string, string> = {};
  for (const [i, c] of wanted.entries()) {
    if (pids[i] <= 0) {
      const logs = await api.getContainer(dockerName(c))
        .logs({ stdout: true, stderr: true, tail: 5, follow: false })
        .then((b) => demuxLogs(b as Uint8Array), () => "");
      throw new NslabError(
        `Cannot wire Docker container "${
          dockerName(c)
        }": it is not running right after "docker start" ` +
          `(its command exited); last log lines: ${
            logs.trim() || "(none)"
          } — give it a long-running command`,
      );
    }
    adopt[c.netns] = `/proc/${pids[i]}/ns/net`;
  }
  return adopt;
}

/**
 * The text of a non-TTY container's log stream: frames of an 8-byte header (stream, 3 zero bytes,
 * big-endian length) and a payload, as the Engine API sends them.
 */
export function demuxLogs(bytes: Uint8Array): string {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 8 <= bytes.length;) {
    const size = view.getUint32(at + 4);
    out.push(bytes.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return out.map((b) => new TextDecoder().decode(b)).join("");
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
  let labelled: string[];
  try {
    const api = await engine();
    const listed = await api.listContainers({
      all: true,
      filters: { label: [`${LAB_LABEL}=${lab}`] },
    });
    labelled = listed.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ""));
  } catch (e) {
    if (names.length > 0) {
      report.errors.push(
        new NslabError(
          `Cannot remove the Docker containers of lab "${lab}" (${names.join(", ")}): the engine ` +
            `does not answer (${
              apiMessage(e)
            }); start dockerd and run "nslab down -p ${lab}" again`,
        ),
      );
    }
    return report;
  }
  const api = await engine();
  await Promise.all(labelled.map(async (name) => {
    try {
      await api.getContainer(name).remove({ force: true, v: true });
      report.removed.push(name);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return;
      report.errors.push(
        new NslabError(`Cannot remove Docker container ${name}: ${apiMessage(e)}`),
      );
    }
  }));
  report.removed.sort();
  return report;
}
