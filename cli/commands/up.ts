/** `nslab up`: build the lab, start its supervisor, wait until ready. */
import { upHostPart, upLab } from "../../core/lab/lab.ts";
import { downLab } from "../../core/lab/down.ts";
import { consoleProgress } from "../../core/lab/progress.ts";
import { formatDiagnostic } from "../../core/errors.ts";
import { formatSummary } from "./ps.ts";
import type { CheckFormat } from "../formats.ts";
import { UsageError } from "../../core/errors.ts";
import { type LabOptions, load, loadBundle } from "../common.ts";
import { formatChanges } from "../../core/lab/neighbours.ts";
import { Timings } from "../timings.ts";

export interface UpOptions extends LabOptions {
  attach?: boolean;
  check?: boolean;
  progress?: "auto" | "plain" | "quiet";
  down?: boolean;
  format?: CheckFormat;
  /** Build only this host's part of the lab (`--only-host`). */
  onlyHost?: string;
  /** Print where the time goes (`--timings`). */
  timings?: boolean;
  /** Apply the model of this resolved bundle instead of resolving a topology file. */
  bundle?: string;
  /** Bind the host's part to this machine interface (needs `onlyHost`). */
  underlayDev?: string;
}

/** Brings the lab up; with `down` (the `demo` verb) runs the checks and tears it down again. */
export async function upCommand(opts: UpOptions, fallback?: string): Promise<number> {
  const started = performance.now();
  const timings = new Timings(opts.timings ?? false);
  // The detached supervisor reports its own start-up in its log (read back below).
  if (timings.on) Deno.env.set("NSLAB_TIMINGS", "1");
  // Listen for Ctrl-C from the start: a signal that arrives while the lab is being built must
  // tear it down once it is up, not kill nslab half-way.
  const interrupted = opts.attach ? untilInterrupted() : null;
  if (opts.underlayDev !== undefined && opts.onlyHost === undefined) {
    throw new UsageError(
      "--underlay-dev binds one host's part to this machine's interface: give --only-host HOST",
    );
  }
  const { model, file, digest } = opts.bundle === undefined
    ? await load(opts, fallback)
    : await loadBundle(opts.bundle, opts);
  // A bundle's warnings were printed when it was made, about the machine that made it.
  for (const w of opts.bundle === undefined ? model.warnings : []) {
    console.error(formatDiagnostic({ pos: w.pos, message: `warning: ${w.message}`, hint: "" }));
  }
  timings.lap("read and validate the topology");
  const progress = timings.on ? timings.progress() : consoleProgress(opts.progress ?? "auto");
  const upOpts = {
    file,
    digest,
    supervisor: { kind: "detached" } as const,
    progress,
    underlayDev: opts.underlayDev,
  };
  const { state, unchanged, neighbours, warnings } = opts.onlyHost === undefined
    ? await upLab(model, upOpts)
    : await upHostPart(model, opts.onlyHost, upOpts);
  timings.lap("until every path answers (core/lab/ready.ts), state written");
  const what = opts.onlyHost === undefined ? "" : `Host "${opts.onlyHost}" of l`;
  if (unchanged) {
    console.error(`${what || "L"}ab "${model.lab}" is already up from ${file}; nothing to do.`);
  }
  for (const line of formatChanges(neighbours ?? [])) {
    console.log(`Raised ${line} (neighbour table: the lab can need more entries)`);
  }
  for (const w of warnings ?? []) console.error(`warning: ${w}`);
  if (timings.on) printSupervisorTimings(model.lab);
  console.log(formatSummary(state.model));
  console.error(
    `${what || "L"}ab "${model.lab}" up in ${((performance.now() - started) / 1000).toFixed(2)}s`,
  );
  let code = 0;
  try {
    if (opts.check || opts.down) {
      // The checks (and their DNS codec) are loaded only when asked for.
      const { runCheckReport } = await import("./check.ts");
      code = await runCheckReport(state.model, { format: opts.format ?? "table" });
    }
    if (opts.attach) {
      console.error("Attached: press Ctrl-C to tear the lab down.");
      await interrupted;
    }
  } finally {
    if (opts.attach || opts.down) {
      const report = await downLab(model.lab);
      for (const e of report.errors) console.error(`down: ${e.message}`);
      console.error(`Lab "${model.lab}" removed`);
      if (report.errors.length) code = 1;
    }
  }
  return code;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve());
    Deno.addSignalListener("SIGTERM", () => resolve());
  });
}

/** The detached supervisor's own timing line (written to its log under NSLAB_TIMINGS). */
function printSupervisorTimings(lab: string): void {
  try {
    const log = Deno.readTextFileSync(`/run/nslab/${lab}/supervisor.log`);
    const line = log.split("\n").findLast((l) => l.startsWith("timing"));
    if (line) console.error(line);
  } catch { /* no log */ }
}
