/** `nslab check`: implied + explicit checks from inside the namespaces; exit 1 on any failure. */
import type { Model } from "../../core/model/types.ts";
import { runChecks } from "../../core/checks/run.ts";
import { formatJson, formatJunit, formatTable, reportPassed } from "../../core/checks/report.ts";
import { labHealth } from "../../core/lab/health.ts";
import { formatGithub, formatTap } from "../../core/checks/ci_formats.ts";
import type { CheckReport } from "../../core/checks/types.ts";
import { useColor } from "../../core/lab/progress.ts";
import { type LabOptions, runningModel } from "../common.ts";
import type { CheckFormat } from "../formats.ts";
import { liveSvg } from "../../core/lab/live_picture.ts";
import { keepLastCheck, linkStates } from "../../core/lab/live.ts";

export interface CheckOptions {
  format?: CheckFormat;
  only?: string[];
  /** Judge as if nothing were impaired (cut pairs fail). */
  expectIntact?: boolean;
  /** Only the checks probed from this host's part (`--only-host`). */
  onlyHost?: string;
  /** Write the report to this file instead of stdout. */
  output?: string;
}

/** The report as text in `format`; `svg` draws it on the lab's picture with its link states. */
export function formatReport(
  model: Model,
  report: CheckReport,
  format: CheckFormat = "table",
): string {
  switch (format) {
    case "svg":
      return liveSvg({
        model,
        report,
        checkedAt: new Date().toISOString(),
        links: linkStates(model),
      });
    case "json":
      return formatJson(report);
    case "junit":
      return formatJunit(report);
    case "github":
      return formatGithub(report);
    case "tap":
      return formatTap(report);
    case "table":
      return formatTable(report, { color: useColor() });
  }
}

/** Runs the checks of a running lab and prints the report; returns the exit code. */
export async function runCheckReport(model: Model, opts: CheckOptions): Promise<number> {
  const report = await runChecks(model, {
    only: opts.only,
    expectIntact: opts.expectIntact,
    health: () => labHealth(model.lab),
    fromHost: opts.onlyHost,
  });
  keepLastCheck(model.lab, report);
  const text = formatReport(model, report, opts.format);
  if (opts.output) await Deno.writeTextFile(opts.output, text.endsWith("\n") ? text : text + "\n");
  else console.log(text);
  if (report.results.length === 0) console.error("nothing was checked");
  return reportPassed(report) ? 0 : 1;
}

export async function checkCommand(opts: LabOptions & CheckOptions): Promise<number> {
  return await runCheckReport(await runningModel(opts), opts);
}
