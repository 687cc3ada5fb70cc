/**
 * `nslab check`: derive the expectations of a running lab, probe them all concurrently from inside
 * the namespaces, and judge each one.
 *
 * @module
 */

import { nameFailingFamily } from "./families.ts";
import type { Model } from "../model/types.ts";
import { UsageError } from "../errors.ts";
import { deriveWithNotes, probeKey } from "./expectations.ts";
import { judge } from "./judge.ts";
import { runProbes } from "./probes.ts";
import { type Controls, planControls } from "./controls.ts";
import { neighSnapshot, runCauses } from "./causes.ts";
import { forPart } from "./part.ts";
import { formatObserved } from "./report.ts";
import { listNetns } from "../kernel/netns/netns.ts";
import { applyCuts, impairedTimeoutMs } from "./impair_cuts.ts";
import { measureExpectations, runMeasures } from "./measure.ts";
import type { CheckKind, CheckReport, CheckResult, Expectation, Observed, Probe } from "./types.ts";

/** Options of {@link runChecks}. */
export interface CheckOptions {
  /** Kinds (`dns`, `reach`, `ports`, `isolation`, `iface`) and/or container names. */
  only?: string[];
  /** Deadline of each probe (default 1000 ms). */
  timeoutMs?: number;
  /** Probes in flight at once (default 256). */
  concurrency?: number;
  /** Causes the caller can see after the probes (e.g. "the lab's supervisor is down"). */
  health?: () => string[];
  /**
   * Judge as if nothing were impaired: pairs cut by a partition or a down link then fail instead
   * of expecting unreachable (default false).
   */
  expectIntact?: boolean;
  /**
   * Only what this host's part can check by itself (`check --only-host`, core/checks/part.ts):
   * expectations probed from the host or its containers, towards any machine.
   */
  fromHost?: string;
}

/**
 * Silent probes asked a second time, at most, and how many at once. A few silent probes among
 * thousands may have lost a race with the load; more than this is a fault, and asking each again
 * with its full timeout turned one broken run into minutes.
 */
const REASK_LIMIT = 512;
const REASK_CONCURRENCY = 64;

/**
 * The time a run of `probes` may take: each wave of `concurrency` probes its timeout, plus two
 * (start-up, stragglers). Probes not started by then are reported as not run.
 */
export function runBudgetMs(probes: number, timeoutMs: number, concurrency: number): number {
  return timeoutMs * (2 + Math.ceil(probes / Math.max(1, concurrency)));
}

/** No answer at all (as opposed to a refusal or a wrong name, which retrying would not change). */
export function isSilence(o: Observed): boolean {
  return o.kind === "timeout" ||
    (o.kind === "wrong-answer" && o.detail.includes("no answer before the deadline"));
}

const KIND_WORDS: Record<string, CheckKind> = {
  dns: "dns",
  reach: "reach",
  ports: "port",
  port: "port",
  isolation: "isolation",
  iface: "iface",
  ifaces: "iface",
};

/** What `--only` asks for: check kinds and container/service/host names. */
interface Selection {
  kinds: Set<CheckKind>;
  names: Set<string>;
}

/** Parses `--only` words; throws a {@link UsageError} for a word that is neither kind nor name. */
function parseOnly(model: Model, only: string[] | undefined): Selection {
  const words = (only ?? []).flatMap((w) => w.split(",")).map((w) => w.trim()).filter(Boolean);
  const kinds = new Set<CheckKind>();
  const names = new Set<string>();
  const known = new Set([
    ...model.containers.map((c) => c.name),
    ...model.containers.map((c) => c.service),
    ...model.hosts.map((h) => h.name),
  ]);
  for (const w of words) {
    if (KIND_WORDS[w]) kinds.add(KIND_WORDS[w]);
    else if (known.has(w)) names.add(w);
    else {
      throw new UsageError(
        `Unknown --only value "${w}": it is neither a check kind nor a container of lab ` +
          `"${model.lab}"; use dns, reach, ports, isolation, iface or one of: ` +
          `${[...known].slice(0, 8).join(", ")}${known.size > 8 ? ", …" : ""}`,
      );
    }
  }
  return { kinds, names };
}

/** Keeps the expectations `only` selected: kinds and containers; both given → both must match. */
function select(model: Model, exps: Expectation[], { kinds, names }: Selection): Expectation[] {
  if (kinds.size === 0 && names.size === 0) return exps;
  const services = new Map(model.containers.map((c) => [c.name, c.service]));
  return exps.filter((e) => {
    if (kinds.size && !kinds.has(e.kind)) return false;
    if (!names.size) return true;
    const involved = [e.source, ...e.containers];
    return involved.some((n) => names.has(n) || names.has(services.get(n) ?? ""));
  });
}

/**
 * Runs the implied and explicit checks of a running lab: every negative row with its positive
 * controls (core/checks/controls.ts), within a time budget derived from the number of probes, and
 * with the causes the machine shows (neighbour overflow, namespaces gone, …) when rows fail.
 *
 * @example
 * ```ts
 * const report = await runChecks(model, { only: ["dns"] });
 * console.log(formatTable(report, { color: false }));
 * ```
 */
export async function runChecks(model: Model, opts: CheckOptions = {}): Promise<CheckReport> {
  const start = performance.now();
  const timeoutMs = opts.timeoutMs ?? impairedTimeoutMs(model);
  const concurrency = Math.max(1, opts.concurrency ?? 256);
  const selection = parseOnly(model, opts.only);
  const derived = deriveWithNotes(model, selection.kinds);
  // Pairs cut by a partition or a down link expect unreachable (core/checks/impair_cuts.ts).
  const cuts = opts.expectIntact
    ? { expectations: derived.expectations, notes: [] }
    : applyCuts(model, derived.expectations);
  const selected = select(model, cuts.expectations, selection);
  const { exps, controls, notes: partNotes } = opts.fromHost === undefined
    ? { exps: selected, controls: planControls(model, selected, cuts.expectations), notes: [] }
    : forPart(model, selected, cuts.expectations, opts.fromHost);
  // Two expectations (or controls) that probe the same thing share one probe.
  const unique = new Map<string, Probe>();
  const answerWanted = new Set<string>();
  for (
    const e of [
      ...exps,
      ...[...controls.values()].flatMap((c) => c.controls.flatMap((x) => x.alternatives)),
    ]
  ) {
    const k = probeKey(e.probe);
    unique.set(k, e.probe);
    if (e.expect.kind !== "unreachable" && e.expect.kind !== "closed") answerWanted.add(k);
  }
  const before = neighSnapshot();
  const budgetMs = runBudgetMs(unique.size, timeoutMs, concurrency);
  const byKey = await observe(unique, [...unique.keys()], timeoutMs, concurrency, budgetMs);
  const notes = [...derived.notes, ...cuts.notes, ...partNotes];
  const reasked = await reaskSilent(unique, byKey, answerWanted, timeoutMs, notes);
  const results = nameFailingFamily(
    exps.map((e) => withControls(judged(e, byKey), controls.get(e.id), byKey)),
  );
  // Measured checks (rtt, loss, rate) run after the probes, one at a time.
  results.push(...await runMeasures(model, select(model, measureExpectations(model), selection)));
  const present = new Set(listNetns());
  const missingNetns = [...new Set([...unique.values()].map((p) => p.netns))]
    .filter((ns) => ns !== "" && !present.has(ns)).sort();
  const facts = {
    before,
    after: neighSnapshot(),
    missingNetns,
    health: opts.health?.() ?? [],
    budgetMs,
  };
  return {
    lab: model.lab,
    results,
    probes: unique.size + reasked,
    elapsedMs: performance.now() - start,
    notes,
    causes: runCauses(results, facts),
  };
}

/**
 * Asks the probes that should have been answered but saw silence once more, few at a time — when
 * there are few of them (a race with the load of thousands of others); a real fault answers the
 * same way twice. Updates `byKey`, notes what it did, and returns how many it asked.
 */
async function reaskSilent(
  unique: Map<string, Probe>,
  byKey: Map<string, Observed>,
  answerWanted: Set<string>,
  timeoutMs: number,
  notes: string[],
): Promise<number> {
  const silent = [...byKey].filter(([k, o]) => answerWanted.has(k) && isSilence(o)).map(([k]) => k);
  if (silent.length === 0) return 0;
  if (silent.length > REASK_LIMIT) {
    notes.push(
      `${silent.length} probes were silent: too many to be a race with load, not asked again`,
    );
    return 0;
  }
  const budgetMs = runBudgetMs(silent.length, timeoutMs, REASK_CONCURRENCY);
  const again = await observe(unique, silent, timeoutMs, REASK_CONCURRENCY, budgetMs);
  for (const [k, o] of again) byKey.set(k, o);
  notes.push(
    `${silent.length} silent probe(s) asked a second time, ${REASK_CONCURRENCY} at a time`,
  );
  return silent.length;
}

/** Runs the probes of `keys` within `budgetMs`; their observations by key. */
async function observe(
  unique: Map<string, Probe>,
  keys: string[],
  timeoutMs: number,
  concurrency: number,
  budgetMs: number,
): Promise<Map<string, Observed>> {
  const seen = await runProbes(keys.map((k) => unique.get(k)!), {
    timeoutMs,
    concurrency,
    deadline: Date.now() + budgetMs,
  });
  return new Map(keys.map((k, i) => [k, seen[i]]));
}

function judged(e: Expectation, byKey: Map<string, Observed>): CheckResult {
  const o = byKey.get(probeKey(e.probe))!;
  const v = judge(e, o);
  return { expectation: e, observed: o, pass: v.pass, hint: v.hint };
}

/** A passing negative row stays a pass only when its controls passed too. */
function withControls(
  r: CheckResult,
  c: Controls | undefined,
  byKey: Map<string, Observed>,
): CheckResult {
  if (!r.pass || !c) return r;
  const inconclusive = (hint: string): CheckResult => ({
    ...r,
    pass: false,
    inconclusive: true,
    hint,
  });
  if (c.missing.length > 0) {
    return inconclusive(
      `inconclusive: no ${c.missing.join(" or ")} control — nothing in the lab should ` +
        `${
          c.missing.includes("source")
            ? `be reached by ${r.expectation.source}`
            : "reach the target"
        }`,
    );
  }
  for (const { role, alternatives } of c.controls) {
    const tried = alternatives.map((x) => judged(x, byKey));
    if (tried.some((t) => t.pass)) continue;
    const what = role === "source"
      ? `${r.expectation.source} reaches nothing it should (namespace cut off or dead?)`
      : "the target answers no one (link down, listener down?)";
    const first = tried[0];
    return inconclusive(
      `inconclusive: ${what} — control ${first.expectation.source} → ` +
        `${first.expectation.target}: ${formatObserved(first.observed)}`,
    );
  }
  return r;
}
