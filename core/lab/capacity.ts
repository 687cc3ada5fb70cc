/**
 * What a lab costs a process in file descriptors, made room for before anything is applied: the
 * apply holds a netlink socket and a namespace handle per namespace, the supervisor a few sockets
 * per container (`supervisorDescriptors`). A lab that cannot fit is refused with the numbers,
 * before the kernel is touched.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import type { Model } from "../model/types.ts";
import type { Plan } from "../plan/types.ts";
import { supervisorDescriptors } from "../runtime/descriptors.ts";
import {
  ensureOpenFiles,
  openFileCeiling,
  openFileLimit,
  planFileLimit,
  tooManyFiles,
} from "../kernel/sys/limits.ts";

/** Descriptors the apply holds per namespace: its netlink socket and its namespace handle. */
export const APPLY_DESCRIPTORS_PER_NAMESPACE = 2;

/**
 * Raises this process's open-file limit for applying `plan` (and for serving it, when the
 * supervisor runs in this process); for a detached supervisor, checks that the one it raises for
 * itself will fit. Throws an NslabError with the numbers otherwise.
 */
export function ensureLabDescriptors(
  model: Model,
  plan: Plan,
  supervisor: "in-process" | "detached",
): void {
  const serving = supervisorDescriptors(model.containers, plan);
  const applying = APPLY_DESCRIPTORS_PER_NAMESPACE * plan.namespaces.length;
  const who = `lab "${model.lab}"`;
  if (supervisor === "in-process") {
    ensureOpenFiles(applying + serving, `applying and serving ${who}`);
    return;
  }
  ensureOpenFiles(applying, `applying ${who}`);
  const limit = openFileLimit();
  const ceiling = openFileCeiling();
  const { target, fits } = planFileLimit(serving, 0, limit, ceiling);
  if (!fits) throw new NslabError(tooManyFiles(`the supervisor of ${who}`, target, limit, ceiling));
}
