/**
 * Breaking a running lab on purpose: `nslab link ls|set`, `nslab impair`, `nslab partition`,
 * `nslab heal`, and the fixture's disposable versions. Every change is a model edit
 * (core/model/impair_edit.ts) taken to the kernel, the state and the supervisor by
 * {@link NetworkOps.change} — the same path as `network connect`.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import {
  formatImpair,
  type ImpairSpec,
  type RawImpair,
  readImpair,
  specToRaw,
} from "../model/impair.ts";
import {
  impairOf,
  resolveLink,
  withImpair,
  withoutPartition,
  withPartition,
} from "../model/impair_edit.ts";
import { impairableLinks } from "../plan/impair.ts";
import { handleFor } from "../kernel/netlink/client.ts";
import { linkGet } from "../kernel/netlink/link.ts";
import { UsageError } from "../errors.ts";
import type { NetworkOps } from "./network.ts";

/** One row of `nslab link ls`. */
export interface LinkRow {
  /** `CONTAINER:NETWORK` or a host name. */
  name: string;
  kind: "endpoint" | "host";
  /** The inner end, `namespace/device`. */
  device: string;
  /** What the kernel says about the inner end: `up`, `no-carrier` (its peer is down), `missing`. */
  state: "up" | "no-carrier" | "missing";
  /** Declared impairments for people, `""` when none. */
  impair: string;
  /** How they are made: `relay rl…`, `tbf`, `iptables statistic`, `link down`. */
  mechanisms: string[];
}

/** Partitions in force, for people: `1: h1 | h2`. */
export function formatPartitions(model: Model): string[] {
  return (model.partitions ?? []).map((p) =>
    `${p.id}: ${p.groups.map((g) => g.join(",")).join(" | ")}`
  );
}

/** Reads raw values (file or CLI spelling) into a spec, or throws a {@link UsageError}. */
export function parseImpair(raw: RawImpair): ImpairSpec {
  const { spec, problems } = readImpair(raw);
  if (problems.length) {
    throw new UsageError(problems.map((p) => `${p.message}; ${p.hint}`).join("\n"));
  }
  return spec;
}

/** Run-time impairments of one lab. */
export class ImpairOps {
  constructor(readonly ops: NetworkOps) {}

  /** Every link of the lab with its state and impairments. */
  ls(): LinkRow[] {
    const s = this.ops.state();
    const planned = new Map((s.plan.impair?.links ?? []).map((l) => [l.name, l]));
    return impairableLinks(s.model, s.plan.namespaces).map((l) => {
      const spec = impairOf(s.model, l.name);
      const p = planned.get(l.name);
      const mechanisms: string[] = [];
      if (p?.relay) mechanisms.push(`relay ${p.relay.dev}`);
      if (spec.rateBit !== undefined) mechanisms.push("tbf");
      if (spec.lossPct !== undefined) mechanisms.push("iptables statistic");
      if (spec.down) mechanisms.push("link down");
      let state: LinkRow["state"] = "missing";
      try {
        const link = linkGet(handleFor(l.inner.ns), l.inner.dev);
        if (link) state = link.lowerUp ? "up" : "no-carrier";
      } catch { /* namespace gone */ }
      return {
        name: l.name,
        kind: l.kind,
        device: `${l.inner.ns}/${l.inner.dev}`,
        state,
        impair: formatImpair(spec),
        mechanisms,
      };
    });
  }

  /** Partitions in force. */
  partitions(): NonNullable<Model["partitions"]> {
    return this.ops.state().model.partitions ?? [];
  }

  /** `nslab link set NAME[:NETWORK] up|down`. */
  async setLink(target: string, up: boolean): Promise<void> {
    await this.ops.change((m) => withImpair(m, target, { ...impairOf(m, target), down: !up }));
  }

  /**
   * `nslab impair NAME[:NETWORK] --delay …`: the given values replace those of the same key (a
   * zero removes one), the others stay. Returns the spec before, for undoing.
   */
  async impair(target: string, raw: RawImpair): Promise<ImpairSpec> {
    let before: ImpairSpec = {};
    await this.ops.change((m) => {
      before = impairOf(m, target);
      return withImpair(m, target, parseImpair({ ...specToRaw(before), ...raw }));
    });
    return before;
  }

  /** `nslab impair NAME --clear`: removes every impairment but `down`. Returns the spec before. */
  async clear(target: string): Promise<ImpairSpec> {
    let before: ImpairSpec = {};
    await this.ops.change((m) => {
      before = impairOf(m, target);
      return withImpair(m, target, before.down ? { down: true } : {});
    });
    return before;
  }

  /** Puts back exactly `spec` on `target` (the undo of {@link impair}). */
  async restore(target: string, spec: ImpairSpec): Promise<void> {
    await this.ops.change((m) => withImpair(m, target, spec));
  }

  /** `nslab partition GROUP GROUP…`; returns the new partition's id. */
  async partition(groups: string[][]): Promise<number> {
    let id = 0;
    await this.ops.change((m) => {
      const r = withPartition(m, groups);
      id = r.id;
      return r.model;
    });
    return id;
  }

  /** `nslab heal [ID]`: removes one partition, or all. Returns the groups removed. */
  async heal(id?: number): Promise<string[][][]> {
    let removed: string[][][] = [];
    await this.ops.change((m) => {
      const all = m.partitions ?? [];
      if (id !== undefined && !all.some((p) => p.id === id)) {
        throw new UsageError(
          `Lab "${m.lab}" has no partition ${id}; in force: ${
            formatPartitions(m).join("; ") || "none"
          }`,
        );
      }
      removed = all.filter((p) => id === undefined || p.id === id).map((p) => p.groups);
      return withoutPartition(m, id);
    });
    return removed;
  }

  /** Checks that `target` names a link (before anything changes). */
  resolve(target: string): string {
    return resolveLink(this.ops.state().model, target).name;
  }
}

/** Something done to a lab that `await using` undoes. */
export interface Undo extends AsyncDisposable {
  /** Undoes it now (idempotent). */
  undo(): Promise<void>;
}

function undoable(fn: () => Promise<void>): Undo {
  let done = false;
  const undo = async () => {
    if (done) return;
    done = true;
    await fn();
  };
  return { undo, [Symbol.asyncDispose]: undo };
}

/**
 * The fixture's side of {@link ImpairOps}: every change returns an {@link Undo}, so
 * `await using _cut = await lab.partition(["h1"], ["h2"])` heals when the scope ends, also
 * when the test throws.
 */
export class LabBreaker {
  constructor(readonly ops: ImpairOps) {}

  /** Sets link `target` down (or up); the undo puts it back as it was. */
  async setLink(target: string, up: boolean): Promise<Undo> {
    const name = this.ops.resolve(target);
    const wasDown = Boolean(impairOf(this.ops.ops.state().model, name).down);
    await this.ops.setLink(name, up);
    return undoable(() => this.ops.setLink(name, !wasDown));
  }

  /** Impairs `target` (file spelling: `{ delay: "50ms", loss: "2%" }`); the undo restores it. */
  async impair(target: string, raw: RawImpair): Promise<Undo> {
    const name = this.ops.resolve(target);
    const before = await this.ops.impair(name, raw);
    return undoable(() => this.ops.restore(name, before));
  }

  /** Partitions the lab between `groups`; the undo heals this partition. */
  async partition(groups: string[][]): Promise<Undo> {
    const id = await this.ops.partition(groups);
    return undoable(async () => {
      await this.ops.heal(id);
    });
  }

  /** Heals every partition; the undo makes them again. */
  async heal(): Promise<Undo> {
    const removed = await this.ops.heal();
    return undoable(async () => {
      for (const groups of removed) await this.ops.partition(groups);
    });
  }
}
