/**
 * Run-time edits of a model's impairments (`nslab link set`, `nslab impair`, `nslab partition`,
 * `nslab heal`): each returns a new model and leaves the given one untouched. Pure.
 *
 * @module
 */

import type { Container, Endpoint, Host, Model } from "./types.ts";
import type { ImpairSpec } from "./impair.ts";
import { UsageError } from "../errors.ts";

/** A link named on the command line: `CONTAINER[:NETWORK]` or a host name. */
export type LinkTarget =
  | { kind: "host"; name: string; host: Host }
  | { kind: "endpoint"; name: string; container: Container; endpoint: Endpoint };

/**
 * Finds the link `NAME[:NETWORK]` names: a host's underlay link, or a container's endpoint (the
 * network may be left out when the container has one). Throws a {@link UsageError} naming the
 * choices otherwise.
 */
export function resolveLink(model: Model, target: string): LinkTarget {
  const [name, network] = target.split(":", 2);
  const host = model.hosts.find((h) => h.name === name);
  const container = model.containers.find((c) => c.name === name);
  if (host && !container && network === undefined) return { kind: "host", name, host };
  if (!container) {
    const replicas = model.containers.filter((c) => c.service === name).map((c) => c.name);
    throw new UsageError(
      replicas.length > 0
        ? `"${name}" has ${replicas.length} replicas; name one: ${replicas.join(", ")}`
        : `"${name}" is not a container or host of lab "${model.lab}"; links are ` +
          `CONTAINER[:NETWORK] or HOST (see "nslab link ls -p ${model.lab}")`,
    );
  }
  if (container.mode.kind !== "own") {
    throw new UsageError(
      `"${name}" has no link of its own (network_mode: ${container.mode.kind}); impair its host instead`,
    );
  }
  const candidates = network === undefined
    ? container.endpoints
    : container.endpoints.filter((e) => e.network === network);
  if (candidates.length !== 1) {
    const nets = container.endpoints.map((e) => `${name}:${e.network}`).join(", ");
    throw new UsageError(
      network === undefined
        ? `"${name}" is on ${container.endpoints.length} networks; name one: ${nets}`
        : `"${name}" is not on network "${network}"; its links: ${nets || "none"}`,
    );
  }
  return {
    kind: "endpoint",
    name: `${name}:${candidates[0].network}`,
    container,
    endpoint: candidates[0],
  };
}

/** The current impairments of a link (empty when none). */
export function impairOf(model: Model, target: string): ImpairSpec {
  const t = resolveLink(model, target);
  return { ...(t.kind === "host" ? t.host.impair : t.endpoint.impair) };
}

/** A copy of `model` in which link `target` has `spec` (an empty spec removes the key). */
export function withImpair(model: Model, target: string, spec: ImpairSpec): Model {
  const next = structuredClone(model);
  const t = resolveLink(next, target);
  const clean = Object.fromEntries(
    Object.entries(spec).filter(([, v]) => v !== undefined && v !== false),
  );
  const owner: { impair?: ImpairSpec } = t.kind === "host" ? t.host : t.endpoint;
  if (Object.keys(clean).length === 0) delete owner.impair;
  else owner.impair = clean as ImpairSpec;
  return next;
}

/** What a partition group stands for: endpoints (container, network) and hosts. */
export interface GroupMembers {
  endpoints: { container: Container; network: string }[];
  hosts: string[];
}

/**
 * The members of one group: a container (its endpoints), a service (its replicas'), a network
 * (the endpoints on it), a host (itself and its containers' endpoints). Throws on a name that is
 * none of these, or that is two of them.
 */
export function groupMembers(model: Model, names: string[]): GroupMembers {
  const out: GroupMembers = { endpoints: [], hosts: [] };
  for (const name of names) {
    const kinds: string[] = [];
    const cs = model.containers.filter((c) => c.name === name || c.service === name);
    if (cs.length) kinds.push("container");
    const net = model.networks.find((n) => n.name === name);
    if (net) kinds.push("network");
    const host = model.hosts.find((h) => h.name === name);
    if (host) kinds.push("host");
    if (kinds.length !== 1) {
      throw new Error(
        kinds.length === 0
          ? `"${name}" is not a container, service, network or host of lab "${model.lab}"`
          : `"${name}" is ambiguous: it names a ${kinds.join(" and a ")}; rename one of them`,
      );
    }
    for (const c of cs) {
      for (const e of c.endpoints) out.endpoints.push({ container: c, network: e.network });
    }
    if (net) {
      for (const c of model.containers) {
        if (c.endpoints.some((e) => e.network === name)) {
          out.endpoints.push({ container: c, network: name });
        }
      }
    }
    if (host) {
      out.hosts.push(host.name);
      for (const c of model.containers.filter((x) => x.host === host.name)) {
        for (const e of c.endpoints) out.endpoints.push({ container: c, network: e.network });
      }
    }
  }
  return out;
}

/**
 * A copy of `model` with one more partition between `groups` (each a list of names); returns its
 * id. Throws a {@link UsageError} for fewer than two groups, unknown or ambiguous names, or an
 * endpoint or host that two groups claim.
 */
export function withPartition(model: Model, groups: string[][]): { model: Model; id: number } {
  if (groups.length < 2 || groups.some((g) => g.length === 0)) {
    throw new UsageError(
      "A partition needs at least two non-empty groups, e.g. h1 h2 or web,db api",
    );
  }
  const owner = new Map<string, number>();
  groups.forEach((g, i) => {
    let members: GroupMembers;
    try {
      members = groupMembers(model, g);
    } catch (e) {
      throw new UsageError(`Cannot partition: ${(e as Error).message}`);
    }
    const keys = [
      ...members.endpoints.map((e) => `${e.container.name}:${e.network}`),
      ...members.hosts.map((h) => `host ${h}`),
    ];
    for (const k of keys) {
      const prior = owner.get(k);
      if (prior !== undefined && prior !== i) {
        throw new UsageError(
          `Cannot partition: ${k} is in group ${prior + 1} (${groups[prior].join(",")}) and in ` +
            `group ${i + 1} (${g.join(",")}); put each container, network or host in one group`,
        );
      }
      owner.set(k, i);
    }
  });
  const next = structuredClone(model);
  const id = Math.max(0, ...(next.partitions ?? []).map((p) => p.id)) + 1;
  next.partitions = [...(next.partitions ?? []), { id, groups }];
  return { model: next, id };
}

/** A copy of `model` without partition `id` (all partitions when `id` is absent). */
export function withoutPartition(model: Model, id?: number): Model {
  const next = structuredClone(model);
  const kept = (next.partitions ?? []).filter((p) => id !== undefined && p.id !== id);
  if (kept.length) next.partitions = kept;
  else delete next.partitions;
  return next;
}
