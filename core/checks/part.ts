/**
 * `check --only-host HOST`: what one machine's part of a lab can check by itself — the
 * expectations probed from HOST or its containers (towards any machine), with positive controls
 * chosen among probes that also start there. A negative row whose control only another machine
 * could run (its target answers nobody on this one) is left out with a note: that machine's
 * check, from the other side, covers the pair.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { UsageError } from "../errors.ts";
import { type Controls, planControls } from "./controls.ts";
import type { Expectation } from "./types.ts";

/** The expectations and controls of one host's part, and notes on what was left out. */
export interface PartSelection {
  exps: Expectation[];
  controls: Map<string, Controls>;
  notes: string[];
}

/**
 * Selects what `host`'s part checks among `selected` (all the lab's expectations: `all`).
 *
 * @example
 * ```ts
 * const { exps, controls, notes } = forPart(model, selected, derived.expectations, "h1");
 * ```
 */
export function forPart(
  model: Model,
  selected: Expectation[],
  all: Expectation[],
  host: string,
): PartSelection {
  if (!model.hosts.some((h) => h.name === host)) {
    throw new UsageError(
      `Unknown host "${host}" (--only-host): lab "${model.lab}" has ` +
        model.hosts.map((h) => `"${h.name}"`).join(", "),
    );
  }
  const local = new Set(model.containers.filter((c) => c.host === host).map((c) => c.name));
  const here = (e: Expectation) => e.source === host || local.has(e.source);
  const mine = selected.filter(here);
  const controls = new Map<string, Controls>();
  const dropped = new Set<string>();
  const notes: string[] = [];
  for (const [id, c] of planControls(model, mine, all)) {
    // Controls run here too: keep the alternatives probed from this part.
    const kept = c.controls.map((x) => ({ ...x, alternatives: x.alternatives.filter(here) }));
    const elsewhere = kept.filter((x) => x.alternatives.length === 0).map((x) => x.role);
    if (elsewhere.length === 0) {
      controls.set(id, { controls: kept, missing: c.missing });
      continue;
    }
    dropped.add(id);
    notes.push(
      `${id}: not checked from host "${host}" (only another machine's part can show its ` +
        `${elsewhere.join(" and ")} answers)`,
    );
  }
  const exps = mine.filter((e) => !dropped.has(e.id));
  return { exps, controls, notes };
}
