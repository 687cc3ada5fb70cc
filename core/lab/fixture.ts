/**
 * `Lab`: a running lab as a test fixture. `await using lab = await Lab.up(file)` tears everything
 * down when the scope ends, also when the test throws.
 *
 * @module
 */

import {
  loadTopology,
  loadTopologyObject,
  type MachineView,
  type TopologyInput,
} from "../model/load.ts";
import { readMachine } from "./alloc.ts";
import type { Container, Model } from "../model/types.ts";
import { upLab } from "./lab.ts";
import { downLab } from "./down.ts";
import type { Supervisor } from "../runtime/supervisor.ts";
import { pinOnFirstUse } from "../runtime/process.ts";
import { execArgs } from "../runtime/sandbox.ts";
import { type CheckOptions as CheckRunOptions, runChecks } from "../checks/run.ts";
import { labHealth } from "./health.ts";
import type { TeardownReport } from "../kernel/teardown.ts";
import { digest, readState, stateDir } from "./state.ts";
import { NslabError } from "../errors.ts";
import { inProcess, LabNetwork } from "./lab_network.ts";
import { NetworkOps } from "./network.ts";
import { ImpairOps, LabBreaker, type Undo } from "./impair_ops.ts";
import type { RawImpair } from "../model/impair.ts";
import { assertReport, type CheckOutcome, withVerdict } from "../checks/verdict.ts";
import { LabExpect } from "./expect.ts";
import { keepLastCheck } from "./live.ts";
import { attachContainer, type AttachOptions, type ContainerRef } from "./attach.ts";

/** Options of {@link Lab.up}. */
export interface LabUpOptions {
  /** Lab name (namespaces are `<name>-…`); overrides the file's `name:`. */
  name?: string;
  /** Create the uplink from the machine's root namespace (default true). */
  uplink?: boolean;
  /**
   * Prefixes automatic subnets must avoid (default: the machine's routes), e.g. the subnets of
   * a Docker engine's networks when a test compares nslab with it.
   */
  reserved?: string[];
}

/** Output of a command run inside a container. */
export interface ExecResult {
  /** Exit code of the command. */
  code: number;
  /** What it wrote to stdout. */
  stdout: string;
  /** What it wrote to stderr. */
  stderr: string;
}

/** A started lab. Leaving an `await using` scope tears it down. */
export class Lab implements AsyncDisposable {
  /** The lab name: namespaces are `<name>-<container>`, state is in `/run/nslab/<name>`. */
  readonly name: string;
  /** `docker network ls|inspect|create|connect|disconnect|rm|prune` on this lab. */
  readonly network: LabNetwork;
  #model: Model;
  #supervisor: Supervisor | null;
  #down = false;
  readonly #breaker: LabBreaker;

  private constructor(model: Model, supervisor: Supervisor | null) {
    this.name = model.lab;
    this.#model = model;
    this.#supervisor = supervisor;
    const hooks = {
      supervisor: () => this.#supervisor,
      changed: (next: Model) => (this.#model = next),
    };
    this.network = new LabNetwork(model.lab, hooks);
    this.#breaker = new LabBreaker(
      new ImpairOps(new NetworkOps(model.lab, inProcess(model.lab, hooks))),
    );
  }

  /**
   * One link of the lab — `lab.link("web", "front")` (network optional when the container has
   * one), or a host's underlay link `lab.link("h1")` — to set down or up; each returns an
   * {@link Undo} that puts the link back as it was.
   *
   * @example
   * ```ts
   * import { Lab } from "../../mod.ts";
   * await using lab = await Lab.up("topologies/bridge.yaml", { name: "usdoc-ln", uplink: false });
   * {
   *   await using _down = await lab.link("web", "front").down();
   *   await lab.expect("web").cannotReach("app", 8000);
   * } // the link is up again here
   * await lab.expect("web").reaches("app", 8000);
   * ```
   */
  link(name: string, network?: string): { down(): Promise<Undo>; up(): Promise<Undo> } {
    const target = network === undefined ? name : `${name}:${network}`;
    return {
      down: () => this.#breaker.setLink(target, false),
      up: () => this.#breaker.setLink(target, true),
    };
  }

  /**
   * Impairs a link (`"web:front"`, `"web"`, `"h1"`) in the file's spelling; the {@link Undo}
   * restores what it had.
   *
   * @example
   * ```ts
   * import { Lab } from "../../mod.ts";
   * await using lab = await Lab.up("topologies/bridge.yaml", { name: "usdoc-im", uplink: false });
   * await using _slow = await lab.impair("web:front", { delay: "50ms" });
   * await lab.expect("web").reaches("app", 8000); // slower, still there
   * ```
   */
  async impair(target: string, spec: RawImpair): Promise<Undo> {
    return await this.#breaker.impair(target, spec);
  }

  /**
   * Drops traffic between groups of containers, networks and hosts; the {@link Undo} heals it.
   *
   * @example
   * ```ts
   * import { Lab } from "../../mod.ts";
   * await using lab = await Lab.up("topologies/bridge.yaml", { name: "usdoc-pt", uplink: false });
   * await using _cut = await lab.partition(["web"], ["app"]);
   * await lab.expect("web").cannotReach("app", 8000);
   * ```
   */
  async partition(...groups: string[][]): Promise<Undo> {
    return await this.#breaker.partition(groups);
  }

  /** Heals every partition; the {@link Undo} makes them again. */
  async heal(): Promise<Undo> {
    return await this.#breaker.heal();
  }

  /** The lab's resolved model; after a `lab.network` change, the new one. */
  get model(): Model {
    return this.#model;
  }

  /**
   * Builds a lab from a topology file or object and waits until it is ready. A failed start rolls
   * back and rethrows.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Lab } from "../../mod.ts";
   * await using lab = await Lab.up("topologies/bridge.yaml", { name: "usdoc-up", uplink: false });
   * const r = await lab.exec("web", ["getent", "hosts", "app"]);
   * assert.equal(r.code, 0, r.stderr);
   * ```
   */
  static async up(source: string | TopologyInput, opts: LabUpOptions = {}): Promise<Lab> {
    const loadOpts = { project: opts.name, uplink: opts.uplink, reserved: opts.reserved };
    let file: string;
    let text: string;
    let load: (machine: MachineView) => Model;
    if (typeof source === "string") {
      file = source;
      text = await Deno.readTextFile(source);
      load = (machine) => loadTopology({ file, text }, { ...loadOpts, machine }).model;
    } else {
      file = "<object>";
      text = JSON.stringify(source);
      load = (machine) => loadTopologyObject(source, { ...loadOpts, machine }).model;
    }
    const model = load(readMachine());
    const up = await upLab(model, {
      file,
      digest: await digest(text),
      supervisor: { kind: "in-process" },
      reload: load,
    });
    if (up.unchanged) throw new NslabError(`Lab "${model.lab}" is already up in another process`);
    return new Lab(up.state.model, up.supervisor);
  }

  /**
   * The lab's in-process supervisor (DNS listeners, responders, commands) — for tests that break
   * the lab on purpose, e.g. `await lab.supervisor.stopDns("t1-web")`.
   */
  get supervisor(): Supervisor {
    if (!this.#supervisor) throw new NslabError(`Lab "${this.name}" is down`);
    return this.#supervisor;
  }

  /** The container `name`, or a clear error. */
  container(name: string): Container {
    const c = this.model.containers.find((x) => x.name === name);
    if (!c) throw new NslabError(`No container "${name}" in lab "${this.name}"`);
    return c;
  }

  /** Runs a command inside a container's sandbox (its namespaces, resolv.conf and hosts). */
  async exec(container: string, cmd: string[]): Promise<ExecResult> {
    const c = this.container(container);
    const p = readState(this.name)!.plan.processes.find((x) => x.container === container)!;
    pinOnFirstUse(this.name, p, c);
    const [bin, ...args] = execArgs(this.name, p, cmd);
    const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /**
   * Runs the implied and explicit checks (the same engine as `nslab check`). The report has
   * `ok` and `failed` besides every row.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Lab } from "../../mod.ts";
   * await using lab = await Lab.up("topologies/bridge.yaml", { name: "usdoc-ck", uplink: false });
   * const report = await lab.check({ only: ["dns"] });
   * assert.ok(report.ok, report.failed.map((r) => r.hint).join("\n"));
   * ```
   */
  async check(opts: CheckRunOptions = {}): Promise<CheckOutcome> {
    const report = await runChecks(this.model, { ...opts, health: () => labHealth(this.name) });
    keepLastCheck(this.name, report); // for `nslab graph --serve` and `check --format svg`
    return withVerdict(report);
  }

  /**
   * Runs the checks and throws a `ChecksFailedError` unless every row passed; its message is
   * the table of failing rows (source, target, expected, observed, hint).
   *
   * @example
   * ```ts
   * import { Lab } from "../../mod.ts";
   * await using lab = await Lab.up("topologies/bridge.yaml", { name: "usdoc-as", uplink: false });
   * await lab.assertChecks({ only: ["reach", "isolation"] });
   * ```
   */
  async assertChecks(opts: CheckRunOptions = {}): Promise<CheckOutcome> {
    const report = await this.check(opts);
    assertReport(report);
    return report;
  }

  /**
   * One-line assertions from `from` (a container, a host or `outside`) that run one probe now and
   * throw a `ChecksFailedError` naming expected, observed and hint when it does not hold.
   *
   * @example
   * ```ts
   * import { Lab } from "../../mod.ts";
   * await using lab = await Lab.up({
   *   networks: { front: {}, back: {} },
   *   containers: {
   *     web: { networks: ["front"] },
   *     api: { networks: ["front", "back"], expose: [8000] },
   *     db: { networks: ["back"] },
   *   },
   * }, { name: "usdoc-ex", uplink: false });
   * await lab.expect("web").reaches("api", 8000);
   * await lab.expect("web").cannotReach("db");
   * const front = lab.inspect("api").endpoints.find((e) => e.network === "front")!;
   * await lab.expect("web").resolves("api", [front.address!]);
   * await lab.expect("web").cannotResolve("db");
   * ```
   */
  expect(from: string): LabExpect {
    return new LabExpect(() => this.model, from);
  }

  /**
   * A running Docker container joins lab networks: a testcontainers container (anything with
   * `getId()`) or a container id. Its namespace gets nslab endpoints, its name and `aliases` are
   * in the lab's DNS, and `check()` covers it like any container. Start it with network mode
   * `none` (its interfaces are then exactly the lab's). On teardown it is detached, not stopped.
   *
   * @example Not run by `deno test --doc` (it needs a Docker engine and an image; the same steps
   * run in tests/attach_test.ts), but type-checked:
   * ```ts
   * import { GenericContainer } from "testcontainers";
   * import { Lab } from "../../mod.ts";
   * export async function postgresOnBack(lab: Lab): Promise<void> {
   *   const pg = await new GenericContainer("postgres:16").withNetworkMode("none").start();
   *   await lab.attach(pg, { networks: ["back"], aliases: ["db"] });
   *   await lab.expect("api").reaches("db", 5432);
   *   await pg.stop();
   * }
   * ```
   */
  async attach(container: ContainerRef, opts: AttachOptions): Promise<Container> {
    return this.container(await attachContainer(this.name, this.network, container, opts));
  }

  /** A container's resolved model entry (networks, addresses, MACs, ports). */
  inspect(container: string): Container {
    return this.container(container);
  }

  /** Output of a container's command so far. */
  async logs(container: string): Promise<string> {
    this.container(container);
    try {
      return await Deno.readTextFile(`${stateDir(this.name)}/logs/${container}.log`);
    } catch {
      return "";
    }
  }

  /** Tears the lab down (idempotent). */
  async down(): Promise<TeardownReport | null> {
    if (this.#down) return null;
    this.#down = true;
    const report = await downLab(this.name, { supervisor: this.#supervisor });
    this.#supervisor = null;
    if (report.errors.length) {
      throw new NslabError(
        `Lab "${this.name}" was not removed cleanly:\n${
          report.errors.map((e) => `  - ${e.message}`).join("\n")
        }`,
      );
    }
    return report;
  }

  /** Tears the lab down when an `await using` scope ends ({@link Lab.down}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
