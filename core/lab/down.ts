/**
 * `down`: stops a lab's supervisors and removes everything the lab made. A module of its own so
 * that `nslab down` loads only this, the state files and the teardown — not the model loader
 * (and its YAML parser), the planner or the appliers that `up` needs.
 *
 * @module
 */

import { leaveSharedNetworks } from "./shared.ts";
import type { Supervisor } from "../runtime/supervisor.ts";
import { teardown, type TeardownReport } from "../kernel/teardown.ts";
import { removeDockerContainers } from "../runtime/docker.ts";
import { pollUntil } from "../poll.ts";
import { type Progress, silent } from "./progress.ts";
import { processAlive, readPartState, readState } from "./state.ts";
import { releaseNeighbours, type ThresholdChange } from "./neighbours.ts";
import { NslabError } from "../errors.ts";
import { releaseMachineLink } from "./machine_link.ts";

/** What `down` removed, and the neighbour thresholds it put back. */
export type DownReport = TeardownReport & { neighbours: ThresholdChange[] };

/** Lowers the neighbour thresholds to what the labs still up need; a failure joins `errors`. */
export async function releaseInto(errors: Error[]): Promise<ThresholdChange[]> {
  try {
    return await releaseNeighbours();
  } catch (e) {
    errors.push(
      new NslabError(`Cannot restore the neighbour-table thresholds: ${(e as Error).message}`),
    );
    return [];
  }
}

/** Stops a lab's supervisor (TERM, then KILL) and removes everything the lab made. Idempotent. */
export async function downLab(
  lab: string,
  opts: { supervisor?: Supervisor | null; progress?: Progress } = {},
): Promise<DownReport> {
  const progress = opts.progress ?? silent;
  progress.step("Stop the supervisor");
  if (opts.supervisor) await opts.supervisor.stop();
  const state = readState(lab);
  // the lab's supervisor, and those of its hosts' parts (`up --only-host`)
  const pids = [state?.supervisorPid ?? 0];
  if (state) {
    for (const h of state.model.hosts) pids.push(readPartState(lab, h.name)?.supervisorPid ?? 0);
  }
  for (const pid of pids) {
    if (!(pid > 0 && pid !== Deno.pid && processAlive(pid))) continue;
    try {
      Deno.kill(pid, "SIGTERM");
    } catch { /* already gone */ }
    const gone = await pollUntil(() => !processAlive(pid), {
      timeoutMs: 5_000,
      firstMs: 1,
      maxMs: 20,
    });
    if (!gone) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
  }
  progress.done("Supervisor stopped");
  for (const h of state?.model.hosts ?? []) {
    if (readPartState(lab, h.name)?.underlayDev) releaseMachineLink(h.netns);
  }
  progress.step("Teardown (processes, links, namespaces, files)");
  // The plan's objects go through the applier's removal sections; the journal and discovery
  // remove the rest (and everything, when the state is gone).
  const report = await teardown(lab, {
    removeContainers: removeDockerContainers,
    plan: state?.plan,
  });
  await leaveSharedNetworks(lab); // the owners of its external networks forget its endpoints
  const neighbours = await releaseInto(report.errors);
  progress.done("Teardown");
  return { ...report, neighbours };
}
