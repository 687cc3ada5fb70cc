/**
 * `lab.network`: the `docker network` verbs for a library {@link Lab}, whose supervisor runs in
 * this process (`supervisor.reload(model, plan)` instead of SIGHUP).
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { Supervisor } from "../runtime/supervisor.ts";
import { NslabError } from "../errors.ts";
import { NetworkOps, type NetworkState, type OpResult, type SupervisorLink } from "./network.ts";
import type { NetworkConnectOptions, NetworkCreateOptions } from "../model/network_ops.ts";
import type { DockerNetwork, NetworkRow } from "./inspect.ts";

export type { NetworkConnectOptions, NetworkCreateOptions } from "../model/network_ops.ts";
export type { DockerNetwork, NetworkRow } from "./inspect.ts";

/** What {@link LabNetwork} needs from its lab. */
export interface LabHooks {
  /** The lab's in-process supervisor, or null once the lab is down. */
  supervisor(): Supervisor | null;
  /** Called with the new model after every change. */
  changed(model: Model): void;
}

/** The link to a library lab's in-process supervisor: reload it directly, then tell the lab. */
export function inProcess(lab: string, hooks: LabHooks): SupervisorLink {
  return {
    check() {
      if (!hooks.supervisor()) {
        throw new NslabError(`Cannot change the networks of lab "${lab}": it is down`, 1);
      }
    },
    async reload(state: NetworkState) {
      await hooks.supervisor()?.reload(state.model, state.plan);
      hooks.changed(state.model);
    },
  };
}

/**
 * Network operations on a running library lab; after each, `lab.model` is the new model.
 *
 * @example
 * ```ts
 * await using lab = await Lab.up("topologies/bridge.yaml", { name: "t1" });
 * await lab.network.connect("back", "web", { aliases: ["w"] });
 * const j = lab.network.inspect("back"); // Docker's JSON
 * await lab.network.disconnect("back", "web");
 * ```
 */
export class LabNetwork {
  readonly #ops: NetworkOps;

  constructor(lab: string, hooks: LabHooks) {
    this.#ops = new NetworkOps(lab, inProcess(lab, hooks));
  }

  /** A container whose namespace exists joins the lab (what `lab.attach` applies). */
  async addContainer(netns: string, op: (model: Model) => Model): Promise<OpResult> {
    return await this.#ops.addContainer(netns, op);
  }

  /** `docker network ls`. */
  ls(): NetworkRow[] {
    return this.#ops.ls();
  }

  /** `docker network inspect NAME`. */
  inspect(name: string): DockerNetwork {
    return this.#ops.inspect(name);
  }

  /** `docker network create NAME`; returns the network's id. */
  async create(name: string, opts: NetworkCreateOptions = {}): Promise<string> {
    return await this.#ops.create(name, opts);
  }

  /** `docker network connect [--ip] [--alias…] NET CONTAINER`. */
  async connect(
    network: string,
    container: string,
    opts: NetworkConnectOptions = {},
  ): Promise<OpResult> {
    return await this.#ops.connect(network, container, opts);
  }

  /** `docker network disconnect NET CONTAINER`. */
  async disconnect(network: string, container: string): Promise<OpResult> {
    return await this.#ops.disconnect(network, container);
  }

  /** `docker network rm NET…`; returns the removed names. */
  async rm(...names: string[]): Promise<string[]> {
    return await this.#ops.rm(...names);
  }

  /** `docker network prune`; returns the removed names. */
  async prune(): Promise<string[]> {
    return await this.#ops.prune();
  }
}
