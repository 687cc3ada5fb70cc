/**
 * `docker network …` on a running lab. The lab's state file (`/run/nslab/<lab>/state.json`:
 * model + plan) stays the single truth; every change is:
 *
 * load state → new model (`model_ops.ts`) → new plan → {@link diffPlans} → apply only the
 * difference ({@link applyChange}; on failure the reverse difference is applied and nothing is
 * recorded) → write the new state → tell the supervisor (so DNS answers and responders follow at
 * once).
 *
 * Operations on one lab are serialised with a lock file (`/run/nslab/<lab>/ops.lock`), so two
 * `nslab network connect` at once cannot both take the same address.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { Plan } from "../plan/types.ts";
import { buildPlan } from "../plan/plan.ts";
import { readMachineRoutes } from "../kernel/routes.ts";
import { uplinkName } from "../model/names.ts";
import { checkKernelFeatures } from "../kernel/features.ts";
import { checkImpairFeatures } from "../kernel/impair_features.ts";
import { ApplyError, NslabError } from "../errors.ts";
import { pollUntil } from "../poll.ts";
import { type LabState, readState, stateDir, writeState } from "./state.ts";
import { diffPlans, emptyNamespace } from "../plan/diff.ts";
import { applyChange } from "../kernel/apply.ts";
import {
  connectNetwork,
  createNetwork,
  disconnectNetwork,
  findNetwork,
  type NetworkConnectOptions,
  type NetworkCreateOptions,
  pruneNetworks,
  removeNetworks,
} from "../model/network_ops.ts";
import { type DockerNetwork, inspectNetwork, listNetworks, type NetworkRow } from "./inspect.ts";

/** The state file with what network operations add (extra keys; other readers ignore them). */
export interface NetworkState extends LabState {
  /** Creation time (RFC 3339) of networks made by `network create`; others: the lab's. */
  networkCreated?: Record<string, string>;
  /** Bumped by every network operation; the detached supervisor echoes it once reloaded. */
  generation?: number;
}

/** How a changed lab reaches its supervisor. */
export interface SupervisorLink {
  /** Throws when the supervisor cannot be told (checked before anything changes). */
  check(state: NetworkState): void;
  /** Makes the supervisor serve `state` (DNS answers, responders) before returning. */
  reload(state: NetworkState): Promise<void>;
}

/** What an operation changed. */
export interface OpResult {
  /** Kernel requests sent. */
  requests: number;
  /** Host namespaces whose firewall was reloaded. */
  firewalls: string[];
}

/**
 * Network operations on one running lab.
 *
 * @example
 * ```ts
 * const ops = new NetworkOps("t1", detachedSupervisor("t1"));
 * await ops.create("extra", { subnet: "172.30.0.0/24" });
 * await ops.connect("extra", "web", { aliases: ["w"] });
 * console.log(ops.inspect("extra").Containers);
 * ```
 */
export class NetworkOps {
  readonly lab: string;
  readonly #link: SupervisorLink;

  constructor(lab: string, link: SupervisorLink) {
    this.lab = lab;
    this.#link = link;
  }

  /** The lab's current state, or a clear error when it is not up. */
  state(): NetworkState {
    const s = readState(this.lab) as NetworkState | null;
    if (!s) {
      throw new NslabError(
        `Lab "${this.lab}" is not up (no ${stateDir(this.lab)}/state.json): start it with ` +
          `"nslab up -p ${this.lab} -f FILE"`,
        1,
      );
    }
    return s;
  }

  /** When `network` was created (the lab's start for networks from the file). */
  #created(s: NetworkState, network: string): string {
    return s.networkCreated?.[network] ?? s.createdAt;
  }

  /** `docker network ls`: rows sorted by name. */
  ls(): NetworkRow[] {
    const s = this.state();
    return listNetworks(s.model, (n) => this.#created(s, n));
  }

  /** `docker network inspect NAME`: Docker's JSON object. */
  inspect(name: string): DockerNetwork {
    const s = this.state();
    findNetwork(s.model, name);
    return inspectNetwork(s.model, name, this.#created(s, name));
  }

  /** `docker network create NAME [opts]`; returns the new network's id. */
  async create(name: string, opts: NetworkCreateOptions = {}): Promise<string> {
    const created = new Date().toISOString();
    await this.#change((m) => createNetwork(m, name, opts, this.#reserved()), (s) => {
      s.networkCreated = { ...s.networkCreated, [name]: created };
    });
    return this.inspect(name).Id;
  }

  /** `docker network connect [--ip] [--alias…] NET CONTAINER`. */
  async connect(
    network: string,
    container: string,
    opts: NetworkConnectOptions = {},
  ): Promise<OpResult> {
    return await this.#change((m) => connectNetwork(m, network, container, opts, this.#reserved()));
  }

  /** `docker network disconnect NET CONTAINER`. */
  async disconnect(network: string, container: string): Promise<OpResult> {
    return await this.#change((m) => disconnectNetwork(m, network, container));
  }

  /** `docker network rm NET…`: all or nothing; returns the removed names. */
  async rm(...names: string[]): Promise<string[]> {
    await this.#change((m) => removeNetworks(m, names), (s) => {
      const kept = { ...s.networkCreated };
      for (const n of names) delete kept[n];
      s.networkCreated = kept;
    });
    return names;
  }

  /** `docker network prune`: removes every unused user network; returns their names. */
  async prune(): Promise<string[]> {
    let removed: string[] = [];
    await this.#change((m) => {
      const r = pruneNetworks(m);
      removed = r.removed;
      return r.model;
    }, (s) => {
      const kept = { ...s.networkCreated };
      for (const n of removed) delete kept[n];
      s.networkCreated = kept;
    });
    return removed;
  }

  /**
   * Adds a container whose network namespace exists already and is pinned at `netns` (a running
   * Docker container's, see `lab.attach`): `op` adds it to the model and connects it; the
   * difference is applied as for `connect`, the new namespace counting as empty before.
   */
  async addContainer(netns: string, op: (model: Model) => Model): Promise<OpResult> {
    return await this.#change(op, () => {}, netns);
  }

  /** Routes on the machine that automatic subnets must avoid (not this lab's own uplink). */
  #reserved(): string[] {
    return readMachineRoutes().filter((r) => r.iface !== uplinkName(this.lab)).map((r) => r.cidr);
  }

  /**
   * Changes the lab's model with `op` and takes the kernel, the state and the supervisor along
   * (the one path every run-time change takes: network verbs, impairments, partitions).
   */
  async change(
    op: (model: Model) => Model,
    record: (s: NetworkState) => void = () => {},
  ): Promise<OpResult> {
    return await this.#change(op, record);
  }

  async #change(
    op: (model: Model) => Model,
    record: (s: NetworkState) => void = () => {},
    joining?: string,
  ): Promise<OpResult> {
    const lock = await this.#lock();
    try {
      const before = this.state();
      this.#link.check(before);
      const model = op(before.model);
      checkKernelFeatures(model);
      checkImpairFeatures(model);
      const plan = buildPlan(model);
      const from = joining === undefined
        ? before.plan
        : withEmptyNamespace(before.plan, plan, joining);
      const result = await this.#apply(from, plan);
      const after: NetworkState = {
        ...before,
        model,
        plan,
        generation: (before.generation ?? 0) + 1,
      };
      record(after);
      writeState(after);
      await this.#link.reload(after);
      return result;
    } finally {
      lock.close();
    }
  }

  /** Applies the difference; on failure puts the kernel back as `from` says and rethrows. */
  async #apply(from: Plan, to: Plan): Promise<OpResult> {
    const delta = diffPlans(from, to);
    if (delta.empty) return { requests: 0, firewalls: [] };
    const journal = `${stateDir(this.lab)}/journal`;
    const created = new Set<string>();
    try {
      const r = await applyChange(delta, { journal, created });
      return { requests: r.requests, firewalls: r.firewalls };
    } catch (e) {
      // Undo: remove only the links this apply made (a name clash must not cost someone else's
      // link), re-add what it removed, restore addresses, routes, firewall and files.
      const back = await applyChange(diffPlans(to, from), { tolerant: true, onlyRemove: created })
        .catch((err) => ({ tolerated: [err as Error] }));
      // Errors of the rollback that only say "already as it was" are expected; keep the rest.
      const real = back.tolerated.filter((x) =>
        !/ENODEV|ENOENT|ESRCH|EADDRNOTAVAIL|EEXIST|ENXIO|No such|does not exist/.test(x.message)
      );
      if (e instanceof NslabError && real.length === 0) throw e;
      throw new ApplyError(
        `Cannot change the network of lab "${this.lab}": ${(e as Error).message}`,
        e,
        real,
      );
    }
  }

  async #lock(): Promise<Deno.FsFile> {
    const f = await Deno.open(`${stateDir(this.lab)}/ops.lock`, {
      create: true,
      write: true,
      mode: 0o600,
    });
    await f.lock(true);
    return f;
  }
}

/**
 * `from` with an empty entry for the namespace `name` that `to` has and `from` lacks: a namespace
 * that exists already (a Docker container's) but holds nothing of the lab yet, so the difference
 * fills it instead of creating it.
 */
function withEmptyNamespace(from: Plan, to: Plan, name: string): Plan {
  const joining = to.namespaces.find((n) => n.name === name);
  if (!joining || from.namespaces.some((n) => n.name === name)) return from;
  return { ...from, namespaces: [...from.namespaces, emptyNamespace(joining)] };
}

/** Is `pid` a detached nslab supervisor (cli/supervisor.ts) of `lab`? */
function isDetachedSupervisor(pid: number, lab: string): boolean {
  try {
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    return argv.some((a) => a.endsWith("cli/supervisor.ts")) && argv.includes(lab);
  } catch {
    return false;
  }
}

/**
 * The link to a lab's detached supervisor: SIGHUP, then wait until it has written the new
 * generation to `/run/nslab/<lab>/reloaded`. A lab whose supervisor lives in a library process
 * (`Lab.up`) is refused: change it through `lab.network` there.
 */
export function detachedSupervisor(lab: string, timeoutMs = 10_000): SupervisorLink {
  return {
    check(state) {
      const pid = state.supervisorPid;
      if (pid > 0 && pid !== Deno.pid && !isDetachedSupervisor(pid, lab)) {
        let alive = true;
        try {
          Deno.statSync(`/proc/${pid}`);
        } catch {
          alive = false;
        }
        if (alive) {
          throw new NslabError(
            `Cannot change the networks of lab "${lab}" from here: its supervisor runs inside ` +
              `process ${pid} (a library Lab), which would not pick the change up; use ` +
              "lab.network in that program",
            1,
          );
        }
      }
    },
    async reload(state) {
      const pid = state.supervisorPid;
      if (!(pid > 0) || !isDetachedSupervisor(pid, lab)) return;
      const want = String(state.generation ?? 0);
      const file = `${stateDir(lab)}/reloaded`;
      Deno.kill(pid, "SIGHUP");
      let got = "";
      const settled = () => {
        try {
          got = Deno.readTextFileSync(file).trim();
        } catch { /* not yet */ }
        if (got.startsWith(`${want} error: `)) {
          throw new NslabError(
            `The network of lab "${lab}" changed, but its supervisor failed to follow: ` +
              `${got.slice(want.length + 8)}; see ${stateDir(lab)}/supervisor.log`,
            1,
          );
        }
        return got === want || !isDetachedSupervisor(pid, lab);
      };
      await pollUntil(settled, { timeoutMs, firstMs: 2, maxMs: 50 });
      if (got === want) return;
      throw new NslabError(
        `The supervisor of lab "${lab}" (pid ${pid}) did not reload within ${timeoutMs} ms; ` +
          `the network changed but DNS may still answer the old names — see ` +
          `${stateDir(lab)}/supervisor.log`,
        1,
      );
    },
  };
}
