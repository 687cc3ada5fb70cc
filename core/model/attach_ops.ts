/**
 * A container from outside the file joins a running lab (`lab.attach`): it becomes a container of
 * the model with no endpoint yet, whose namespace someone else (Docker) made. `connectNetwork`
 * then gives it endpoints as it does any container. Pure.
 *
 * @module
 */

import type { Container, Model } from "./types.ts";
import { NslabError } from "../errors.ts";
import { MAX_CONTAINER, NAME_PATTERN } from "./names.ts";

/** Where an attached container comes from. */
export interface AttachedSource {
  /** The Docker container id (shown as the container's image: `attached <id12>`). */
  id: string;
  /** Host of the lab it sits on (default: the lab's first host). */
  host?: string;
}

/**
 * The model with `name` added as a container whose namespace exists already: no endpoints,
 * `runtime: docker` (Docker runs its process; nslab serves its DNS and probes it), its own
 * namespace `<lab>-<name>`.
 *
 * @throws {NslabError} when the name is not a valid container name or is taken in the lab.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addAttachedContainer } from "./attach_ops.ts";
 * import { connectNetwork } from "./network_ops.ts";
 * import { loadTopologyObject } from "./load.ts";
 * const { model } = loadTopologyObject(
 *   { name: "shop", networks: { back: {} }, containers: { web: { networks: ["back"] } } },
 *   { reserved: [], uplink: false },
 * );
 * const next = connectNetwork(addAttachedContainer(model, "pg", { id: "3f2a…" }), "back", "pg");
 * assert.ok(next.containers.some((c) => c.name === "pg" && c.endpoints.length === 1));
 * ```
 */
export function addAttachedContainer(model: Model, name: string, from: AttachedSource): Model {
  if (!NAME_PATTERN.test(name) || name.length > MAX_CONTAINER) {
    throw new NslabError(
      `Cannot attach "${name}": a container name is lowercase letters, digits, "_", "." and "-" ` +
        `(at most ${MAX_CONTAINER}); pass { name: "…" }`,
      2,
    );
  }
  const taken = [
    ...model.containers.flatMap((c) => [c.name, c.service]),
    ...model.hosts.map((h) => h.name),
    "underlay",
  ];
  if (taken.includes(name)) {
    throw new NslabError(
      `Cannot attach "${name}" to lab "${model.lab}": the name is taken by a container or host ` +
        `of the lab; pass another { name: "…" }`,
      2,
    );
  }
  const host = from.host ?? model.hosts[0]?.name;
  if (!host || !model.hosts.some((h) => h.name === host)) {
    throw new NslabError(`Cannot attach "${name}": lab "${model.lab}" has no host "${host}"`, 2);
  }
  const container: Container = {
    name,
    service: name,
    replica: null,
    host,
    netns: `${model.lab}-${name}`,
    mode: { kind: "own" },
    hostname: name,
    endpoints: [],
    ports: [],
    expose: [],
    command: null,
    environment: {},
    runtime: "docker",
    image: `attached ${from.id.slice(0, 12)}`,
    restart: "no",
    defaultEndpoint: -1,
    pos: { file: "lab.attach", line: 0, col: 0 },
  };
  return { ...model, containers: [...model.containers, container] };
}
