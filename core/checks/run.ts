/**
 * `nslab check`: derive the expectations of a running lab, probe them all concurrently from inside
 * the namespaces, and judge each one.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { UsageError } from "../errors.ts";
import { deriveWithNotes, probeKey } from "./expectations.ts";
import { judge } from "./judge.ts";
import { runProbes } from "./probes.ts";
import type { CheckKind, CheckReport, CheckResult, Expectation, Observed, Probe } from "./types.ts";

/** Options of {@link runChecks}. */
export interface CheckOptions {
  /** Kinds (`dns`, `reach`, `ports`, `isolation`, `iface`) and/or container names. */
  only?: string[];
  /** Deadline of each probe (default 1000 ms). */
  timeoutMs?: number;
  /** Probes in flight at once (default 256). */
  concurrency?: number;
}

/** Probes in flight at once when silent probes are asked again. */
const RETRY_CONCURRENCY = 32;

/** No answer at all (as opposed to a refusal or a wrong name, which retrying would not change). */
function isSilence(o: Observed): boolean {
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
 * Runs the implied and explicit checks of a running lab.
 *
 * @example
 * ```ts
 * const report = await runChecks(model, { only: ["dns"] });
 * console.log(formatTable(report, { color: false }));
 * ```
 */
export async function runChecks(model: Model, opts: CheckOptions = {}): Promise<CheckReport> {
  const start = performance.now();
  const selection = parseOnly(model, opts.only);
  const derived = deriveWithNotes(model, selection.kinds);
  const exps = select(model, derived.expectations, selection);
  // Two expectations that probe the same thing share one probe.
  const unique = new Map<string, Probe>();
  for (const e of exps) unique.set(probeKey(e.probe), e.probe);
  const keys = [...unique.keys()];
  const observed = await runProbes([...unique.values()], {
    timeoutMs: opts.timeoutMs,
    concurrency: opts.concurrency,
  });
  const byKey = new Map(keys.map((k, i) => [k, observed[i]]));
  const judgeAll = () =>
    exps.map((e): CheckResult => {
      const o = byKey.get(probeKey(e.probe))!;
      const v = judge(e, o);
      return { expectation: e, observed: o, pass: v.pass, hint: v.hint };
    });
  let results = judgeAll();
  // A probe that should have been answered but saw silence may have lost a race with the load
  // of thousands of others: ask once more, few at a time. A real fault answers the same way twice.
  const again = [
    ...new Set(
      results.filter((r) => !r.pass && isSilence(r.observed)).map((r) =>
        probeKey(r.expectation.probe)
      ),
    ),
  ];
  const notes = [...derived.notes];
  if (again.length > 0) {
    const second = await runProbes(again.map((k) => unique.get(k)!), {
      timeoutMs: opts.timeoutMs,
      concurrency: RETRY_CONCURRENCY,
    });
    again.forEach((k, i) => byKey.set(k, second[i]));
    results = judgeAll();
    notes.push(
      `${again.length} silent probe(s) asked a second time, ${RETRY_CONCURRENCY} at a time`,
    );
  }
  return {
    lab: model.lab,
    results,
    probes: keys.length + again.length,
    elapsedMs: performance.now() - start,
    notes,
  };
}
