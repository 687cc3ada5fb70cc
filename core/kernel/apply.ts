/**
 * The one path from plan to kernel. Everything is a {@link PlanDelta}: `up` applies
 * `diffPlans(emptyPlan(lab), plan)`, a network operation the difference between the running plan
 * and the new one. {@link applyDelta} takes the delta section by section — one exhaustive
 * `switch` in {@link Applier.section}, so a section without an applier does not compile — and
 * writes to a {@link KernelTarget}: the real kernel, or a recording one (`plan --dry-run`, tests).
 *
 * Order and cost (`up`): every namespace is created, tagged and journaled first; then one batch
 * (one `sendto`) per namespace creates its links, with ifindexes chosen by nslab so a batch can
 * refer to links it has not created yet; then one batch per namespace configures them (masters,
 * up, addresses, routes, neighbours, FDB); then xfrm, the firewalls and the `/etc/netns` files
 * (written beside the kernel work, from the moment the namespaces exist).
 *
 * Every object is journaled (`/run/nslab/<lab>/journal`, JSON lines) before it is created, and
 * every namespace's `lo` (and the root uplink) carries the alias `nslab:<lab>`, so
 * `core/kernel/teardown.ts` finds everything after `kill -9` at any point, journal or not. On
 * failure the namespaces and root links this apply made are removed in reverse order and an
 * {@link ApplyError} carries the original error and every cleanup error.
 *
 * @module
 */

import type { NsName, Plan } from "../plan/types.ts";
import { diffPlans, emptyPlan, type PlanDelta } from "../plan/diff.ts";
import { ApplyError } from "../errors.ts";
import { LiveKernel } from "./target.ts";
import { type JournalEntry, labStateDir, readJournal, STATE_ROOT } from "./journal.ts";
import { type DeltaOptions, type DeltaReport, type Section, SECTION_GROUPS } from "./sections.ts";
import { Applier } from "./applier.ts";
import type { KernelTarget } from "./target.ts";

export { type JournalEntry, labStateDir, readJournal, STATE_ROOT };
export { type DeltaOptions, type DeltaReport, type Section, SECTION_GROUPS };

/**
 * Applies `delta` to `kernel`, section by section. Throws at the first failure (unless
 * `tolerant`); what this apply created (namespaces, root links) is removed first, and the error
 * is then an {@link ApplyError}. A network operation rolls back by applying the reverse delta
 * tolerantly.
 *
 * @example
 * ```ts
 * const kernel = new RecordingKernel();
 * await applyDelta(diffPlans(emptyPlan(plan.lab), plan), kernel);
 * console.log(kernel.messages.length, "netlink messages");
 * ```
 */
export async function applyDelta(
  delta: PlanDelta,
  kernel: KernelTarget,
  opts: DeltaOptions = {},
): Promise<DeltaReport> {
  await Promise.resolve();
  const a = new Applier(delta, kernel, opts);
  try {
    for (const group of SECTION_GROUPS) {
      for (const s of group) await a.section(s);
      kernel.flush();
    }
    await a.settle();
    return a.finish();
  } catch (e) {
    await a.settle().catch(() => {});
    const cleanup = a.rollback();
    // A delta that creates namespaces or root links is an `up`: its failure always says so.
    const creates = delta.namespaces.some((d) => d.create) || delta.root.links.length > 0;
    if (!creates && cleanup.length === 0) throw e;
    const what = e instanceof Error ? e.message : String(e);
    throw new ApplyError(`Cannot apply the network of lab "${delta.lab}": ${what}`, e, cleanup);
  }
}

/** Options of {@link applyNetwork} and {@link applyPlan}. */
export interface ApplyOptions {
  /** Where the journal goes (default `/run/nslab/<lab>`). */
  stateDir?: string;
  /** Called with a short description before each phase. */
  onStep?: (step: string) => void;
  /** Called before each section. */
  onSection?: (section: Section) => void;
  /**
   * Namespaces that already exist elsewhere (a Docker container's `/proc/<pid>/ns/net`): pinned
   * under their plan name instead of created, then wired like any other.
   */
  adopt?: Record<NsName, string>;
  /**
   * Namespaces that already exist and belong to someone else's apply (the underlay another host's
   * part made, `up --only-host`): used as they are — never created, tagged or rolled back; their
   * existing links can be masters, and new links there get free ifindexes.
   */
  shared?: NsName[];
}

/** What {@link applyNetwork} made. */
export interface Applied extends DeltaReport {
  journal: string;
}

/**
 * Creates the network part of `plan` (namespaces, sysctls, links, addresses, routes, neighbours,
 * FDB) and returns what it made. Firewall, xfrm and `/etc/netns` files are left out: see
 * {@link applyPlan}.
 *
 * @example
 * ```ts
 * const applied = await applyNetwork(plan, { onStep: (s) => console.error(s) });
 * // … later: await teardown(plan.lab);
 * ```
 */
export function applyNetwork(plan: Plan, opts: ApplyOptions = {}): Promise<Applied> {
  return applyPlan({ ...plan, firewall: [], xfrm: [], processes: [] }, opts);
}

/**
 * Brings every section of `plan` into the kernel (`up`): the delta from an empty lab, applied
 * through {@link applyDelta} to the real kernel in batches, journaled in the lab's state
 * directory. A failed apply that rolled back cleanly leaves no journal.
 */
export async function applyPlan(plan: Plan, opts: ApplyOptions = {}): Promise<Applied> {
  const dir = opts.stateDir ?? labStateDir(plan.lab);
  Deno.mkdirSync(STATE_ROOT, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(dir, 0o700);
  const journal = `${dir}/journal`;
  const delta = diffPlans(emptyPlan(plan.lab), plan);
  const shared = new Set(opts.shared ?? []);
  for (const d of delta.namespaces) if (shared.has(d.name)) d.create = false;
  const step = opts.onStep ?? (() => {});
  const kernel = new LiveKernel(plan.lab, { batch: true });
  try {
    const report = await applyDelta(delta, kernel, {
      journal,
      adopt: opts.adopt,
      onSection: (s) => {
        opts.onSection?.(s);
        if (s === "namespaces") step(`Namespaces (${plan.namespaces.length})`);
        else if (plan.namespaces.length === 0) return;
        else if (s === "links") step("Links");
        else if (s === "bridge ports") step("Addresses, routes, neighbours");
      },
    });
    return { ...report, journal };
  } catch (e) {
    if (e instanceof ApplyError && e.cleanupErrors.length === 0) {
      try {
        Deno.removeSync(journal);
      } catch { /* already gone */ }
    }
    throw e;
  }
}

/**
 * Applies a network operation's delta to a running lab, each request sent at once so the first
 * failure stops it and `created` says exactly what was made (see {@link DeltaOptions}).
 *
 * @example
 * ```ts
 * await applyChange(diffPlans(oldPlan, newPlan), { journal: "/run/nslab/t1/journal" });
 * ```
 */
export async function applyChange(delta: PlanDelta, opts: DeltaOptions = {}): Promise<DeltaReport> {
  const kernel = new LiveKernel(delta.lab, { batch: false });
  try {
    return await applyDelta(delta, kernel, opts);
  } finally {
    kernel.close();
  }
}
