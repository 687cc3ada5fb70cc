/**
 * `nslab network ls|inspect|create|connect|disconnect|rm|prune`: Docker's `docker network` verbs
 * on a running lab. Thin: parsing here, everything else in `core/lab/network.ts`.
 *
 * @module
 */

import { type Command, Option } from "commander";
import { UsageError } from "../../core/errors.ts";
import type { NetworkOps } from "../../core/lab/network.ts";
import { labName, type LabOptions } from "../common.ts";
import { refuseWhileShared } from "../../core/lab/shared.ts";
import { collect, examples, labOptions, type RunVerb } from "../options.ts";

/** The network operations of the addressed lab (imported when a `network` verb runs). */
async function opsFor(opts: LabOptions): Promise<NetworkOps> {
  const lab = await labName(opts);
  const { detachedSupervisor, NetworkOps } = await import("../../core/lab/network.ts");
  return new NetworkOps(lab, detachedSupervisor(lab));
}

/** `-o k=v` values into a map; exit 2 on anything else. */
export function parseDriverOpts(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf("=");
    if (i <= 0) {
      throw new UsageError(
        `invalid driver option "${item}": write it as key=value, e.g. -o com.docker.network.driver.mtu=1400`,
      );
    }
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** Adds `network` and its sub-verbs to the program; `run` receives each verb's exit code. */
export function addNetworkCommand(program: Command, run: RunVerb): void {
  const network = program.command("network").description(
    "Docker-like network operations on a running lab (ls, inspect, create, connect, …)",
  ).addHelpText(
    "after",
    examples([
      "nslab network ls -p shop",
      "nslab network create -p shop --subnet 172.30.0.0/24 extra",
      "nslab network connect -p shop --alias w extra web",
      "nslab network inspect -p shop extra",
    ]),
  );
  addLs(network, run);
  addInspect(network, run);
  addCreate(network, run);
  addConnect(network, run);
  addDisconnect(network, run);
  addRm(network, run);
  addPrune(network, run);
}

/** `network ls`: the lab's networks as a table, JSON or ids. */
function addLs(network: Command, run: RunVerb): void {
  labOptions(network.command("ls").alias("list").description("networks of the lab"))
    .option("--json", "JSON output")
    .option("-q, --quiet", "only network ids")
    .action((o) =>
      run(
        opsFor(o).then(async (ops) => {
          const rows = ops.ls();
          const { formatNetworkTable } = await import("../../core/lab/inspect.ts");
          if (o.json) console.log(JSON.stringify(rows, null, 2));
          else if (o.quiet) { for (const r of rows) console.log(r.id); }
          else console.log(formatNetworkTable(rows));
          return 0;
        }),
      )
    );
}

/** `network inspect`: networks as Docker's JSON. */
function addInspect(network: Command, run: RunVerb): void {
  labOptions(network.command("inspect").description("networks as Docker's JSON"))
    .argument("<network...>")
    .action((names: string[], o) =>
      run(
        opsFor(o).then((ops) => {
          console.log(JSON.stringify(names.map((n) => ops.inspect(n)), null, 4));
          return 0;
        }),
      )
    );
}

/** `network create`: a new network (members join with `connect`). */
function addCreate(network: Command, run: RunVerb): void {
  labOptions(network.command("create").description("create a network (members join with connect)"))
    .argument("<name>")
    .addOption(
      new Option("-d, --driver <driver>", "network driver").choices([
        "bridge",
        "overlay",
        "macvlan",
      ])
        .default("bridge"),
    )
    .option("--subnet <cidr>", "subnet, e.g. 172.30.0.0/24 (default: the first free pool)")
    .option("--gateway <ip>", "gateway address (default: the first usable one)")
    .option("--ip-range <cidr>", "allocate container addresses from this sub-range")
    .option("--internal", "no route out of the network")
    .option("-o, --opt <key=value>", "driver option (repeatable)", collect, [])
    .action((name: string, o) =>
      run((async () => {
        const ops = await opsFor(o);
        const id = await ops.create(name, {
          driver: o.driver,
          subnet: o.subnet,
          gateway: o.gateway,
          ipRange: o.ipRange,
          internal: o.internal ?? false,
          options: parseDriverOpts(o.opt),
        });
        console.log(id);
        return 0;
      })())
    );
}

/** `network connect`: a container joins a network. */
function addConnect(network: Command, run: RunVerb): void {
  labOptions(network.command("connect").description("connect a container to a network"))
    .argument("<network>")
    .argument("<container>")
    .option("--ip <address>", "IPv4 address inside the network's subnet")
    .option("--alias <name>", "network-scoped DNS alias (repeatable)", collect, [])
    .action((net: string, container: string, o) =>
      run((async () => {
        const ops = await opsFor(o);
        await ops.connect(net, container, { ip: o.ip, aliases: o.alias });
        return 0;
      })())
    );
}

/** `network disconnect`: a container leaves a network. */
function addDisconnect(network: Command, run: RunVerb): void {
  labOptions(network.command("disconnect").description("disconnect a container from a network"))
    .argument("<network>")
    .argument("<container>")
    .action((net: string, container: string, o) =>
      run((async () => {
        const ops = await opsFor(o);
        await ops.disconnect(net, container);
        return 0;
      })())
    );
}

/** `network rm`: networks with no members removed. */
function addRm(network: Command, run: RunVerb): void {
  labOptions(network.command("rm").alias("remove").description("remove networks with no members"))
    .argument("<network...>")
    .action((names: string[], o) =>
      run((async () => {
        const ops = await opsFor(o);
        for (const n of names) refuseWhileShared(await labName(o), n); // another lab uses it
        for (const n of await ops.rm(...names)) console.log(n);
        return 0;
      })())
    );
}

/** `network prune`: every network no container uses removed. */
function addPrune(network: Command, run: RunVerb): void {
  labOptions(network.command("prune").description("remove every network no container uses"))
    .action((o) =>
      run((async () => {
        const ops = await opsFor(o);
        const removed = await ops.prune();
        if (removed.length > 0) console.log(`Deleted Networks:\n${removed.join("\n")}`);
        return 0;
      })())
    );
}
