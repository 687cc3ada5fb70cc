/**
 * `nslab link ls|set`, `nslab impair`, `nslab partition`, `nslab heal`: breaking a running lab on
 * purpose. Thin: parsing here, everything else in `core/lab/impair_ops.ts`.
 *
 * @module
 */

import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import type { ImpairOps, LinkRow } from "../../core/lab/impair_ops.ts";
import type { RawImpair } from "../../core/model/impair.ts";
import type { LabOptions } from "../common.ts";
import { examples, labOptions, type RunVerb } from "../options.ts";

/** The impairment operations of the addressed lab (imported when a verb runs, not at start-up). */
async function opsFor(opts: LabOptions): Promise<ImpairOps> {
  const { labName } = await import("../common.ts");
  const { detachedSupervisor, NetworkOps } = await import("../../core/lab/network.ts");
  const { ImpairOps } = await import("../../core/lab/impair_ops.ts");
  const lab = await labName(opts);
  return new ImpairOps(new NetworkOps(lab, detachedSupervisor(lab)));
}

/** `link ls` as a table. */
export function formatLinkTable(rows: LinkRow[], partitions: string[]): string {
  const head = ["LINK", "KIND", "DEVICE", "STATE", "IMPAIRMENTS", "MADE WITH"];
  const body = rows.map((r) => [
    r.name,
    r.kind,
    r.device,
    r.state,
    r.impair || "-",
    r.mechanisms.join(", ") || "-",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(head), ...body.map(line)];
  out.push("", `partitions: ${partitions.length ? partitions.join("; ") : "none"}`);
  return out.join("\n");
}

/** The impairment flags of `nslab impair` as raw values (file spelling). */
function rawFlags(o: Record<string, string | undefined>): RawImpair {
  const raw: RawImpair = {};
  for (const k of ["delay", "jitter", "loss", "rate"] as const) {
    if (o[k] !== undefined) raw[k] = o[k];
  }
  return raw;
}

/** `a,b` `c` → `[["a","b"],["c"]]`. */
export function parseGroups(words: string[]): string[][] {
  return words.map((w) => w.split(",").map((x) => x.trim()).filter(Boolean));
}

/** Adds the verbs to the program; `run` takes each exit code. */
export function addImpairCommands(program: Command, run: RunVerb): void {
  addLinkCommands(program, run);
  addImpairCommand(program, run);
  addPartitionCommands(program, run);
}

/** `nslab link ls|set`. */
function addLinkCommands(program: Command, run: RunVerb): void {
  const link = program.command("link").description(
    "links of a running lab (endpoints and hosts' underlay links): list, set up or down",
  );
  labOptions(link.command("ls").alias("list").description("every link, its state and impairments"))
    .option("--json", "JSON output")
    .action((o) =>
      run((async () => {
        const ops = await opsFor(o);
        const rows = ops.ls();
        const partitions = ops.partitions();
        if (o.json) console.log(JSON.stringify({ links: rows, partitions }, null, 2));
        else {
          const { formatPartitions } = await import("../../core/lab/impair_ops.ts");
          const { delayMechanism } = await import("../../core/kernel/impair_features.ts");
          console.log(formatLinkTable(rows, formatPartitions(ops.ops.state().model)));
          console.log(`delay: ${delayMechanism()}`);
        }
        return 0;
      })())
    );
  labOptions(link.command("set").description("set a link up or down"))
    .argument("<link>", "CONTAINER[:NETWORK] or HOST")
    .argument("<state>", "up or down")
    .addHelpText(
      "after",
      examples(["nslab link set -p shop web:front down", "nslab link set -p shop h2 up"]),
    )
    .action((target, state, o) =>
      run((async () => {
        if (state !== "up" && state !== "down") {
          throw new UsageError(`link state must be "up" or "down", not "${state}"`);
        }
        await (await opsFor(o)).setLink(target, state === "up");
        return 0;
      })())
    );
}

/** `nslab impair LINK --delay … | --clear`. */
function addImpairCommand(program: Command, run: RunVerb): void {
  labOptions(
    program.command("impair").description(
      "delay, jitter, loss or rate on a link (both directions)",
    ),
  )
    .argument("<link>", "CONTAINER[:NETWORK] or HOST")
    .option("--delay <time>", "added delay each way, e.g. 50ms")
    .option("--jitter <time>", "± random variation of the delay, e.g. 5ms")
    .option("--loss <percent>", "packets dropped each way, e.g. 2%")
    .option("--rate <rate>", "rate limit each way, tc units: 1mbit, 500kbit")
    .option("--clear", "remove every impairment of the link (but down)")
    .addHelpText(
      "after",
      examples([
        "nslab impair -p shop web:front --delay 50ms --jitter 5ms --loss 2% --rate 1mbit",
        "nslab impair -p shop h2 --delay 30ms",
        "nslab impair -p shop web:front --clear",
      ]),
    )
    .action((target, o) =>
      run((async () => {
        const raw = rawFlags(o);
        if (o.clear && Object.keys(raw).length) {
          throw new UsageError("--clear takes no other impairment flag");
        }
        if (!o.clear && Object.keys(raw).length === 0) {
          throw new UsageError("say what to impair: --delay, --jitter, --loss, --rate, or --clear");
        }
        const ops = await opsFor(o);
        if (o.clear) await ops.clear(target);
        else await ops.impair(target, raw);
        return 0;
      })())
    );
}

/** `nslab partition GROUP…` and `nslab heal [ID]`. */
function addPartitionCommands(program: Command, run: RunVerb): void {
  labOptions(program.command("partition").description("drop traffic between groups (both ways)"))
    .argument("<groups...>", "each a container, service, network or host, or a comma list")
    .addHelpText(
      "after",
      examples(["nslab partition -p seed h1 h2", "nslab partition -p shop web,db api"]),
    )
    .action((groups, o) =>
      run((async () => {
        const id = await (await opsFor(o)).partition(parseGroups(groups));
        console.log(`partition ${id}`);
        return 0;
      })())
    );

  labOptions(program.command("heal").description("remove partitions (all, or one by id)"))
    .argument("[id]", "partition id (from `nslab partition` or `link ls`)")
    .action((id, o) =>
      run((async () => {
        if (id !== undefined && !/^\d+$/.test(id)) {
          throw new UsageError(`partition id must be a number, not "${id}"`);
        }
        await (await opsFor(o)).heal(id === undefined ? undefined : Number(id));
        return 0;
      })())
    );
}
