/**
 * What a check run can learn from the lab's state (and `check` cannot see from its probes): is
 * the lab's supervisor — DNS at 127.0.0.11, responders, commands — still running?
 *
 * @module
 */

import { readPartState } from "./state.ts";
import { processAlive, readState } from "./state.ts";

/**
 * Causes for a failing check run, from the lab's state: a supervisor (the lab's, or one host
 * part's) that is not running. Empty when all is well or the lab has no state.
 *
 * @example
 * ```ts
 * const report = await runChecks(model, { health: () => labHealth(model.lab) });
 * ```
 */
export function labHealth(lab: string): string[] {
  const state = readState(lab);
  if (!state) return [`lab "${lab}" has no state: it is not up (or "nslab down" removed it)`];
  const fix = `"nslab down -p ${lab}" then "nslab up" rebuilds it`;
  const parts = state.model.hosts.map((h) => ({ host: h.name, part: readPartState(lab, h.name) }))
    .filter((p) => p.part !== null);
  if (parts.length === 0) {
    if (processAlive(state.supervisorPid)) return [];
    return [
      `the lab's supervisor (pid ${state.supervisorPid}) is not running: no DNS at 127.0.0.11, ` +
      `no responders, no commands — ${fix}`,
    ];
  }
  return parts.filter((p) => !processAlive(p.part!.supervisorPid)).map((p) =>
    `the supervisor of host "${p.host}" (pid ${p.part!.supervisorPid}) is not running: its ` +
    `containers have no DNS and no responders — ${fix}`
  );
}
