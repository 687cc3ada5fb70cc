/** `nslab exec NAME -- CMD…` and `nslab logs NAME` and `nslab inspect NAME`. */
import { pinOnFirstUse } from "../../core/runtime/process.ts";
import { execArgs } from "../../core/runtime/sandbox.ts";
import { readState, stateDir } from "../../core/lab/state.ts";
import { UsageError } from "../../core/errors.ts";
import { labName, type LabOptions } from "../common.ts";

async function containerOf(opts: LabOptions, name: string) {
  const lab = await labName(opts);
  const state = readState(lab);
  if (!state) throw new UsageError(`Lab "${lab}" is not up`);
  const c = state.model.containers.find((x) => x.name === name);
  if (!c) {
    const names = state.model.containers.map((x) => x.name).join(", ");
    throw new UsageError(`No container "${name}" in lab "${lab}" (containers: ${names})`);
  }
  const p = state.plan.processes.find((x) => x.container === name)!;
  return { lab, state, container: c, process: p };
}

export async function execCommand(opts: LabOptions, name: string, argv: string[]): Promise<number> {
  const cmd = argv[0] === "--" ? argv.slice(1) : argv;
  if (cmd.length === 0) {
    throw new UsageError("nslab exec NAME -- COMMAND [ARGS…]: the command is missing");
  }
  const { lab, process, container } = await containerOf(opts, name);
  pinOnFirstUse(lab, process, container);
  const [bin, ...args] = execArgs(lab, process, cmd);
  const child = new Deno.Command(bin, {
    args,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

export async function logsCommand(opts: LabOptions, name: string): Promise<number> {
  const { lab, container } = await containerOf(opts, name);
  if (!container.command) {
    console.error(`${name} has no command: nslab's responder answers on its ports (no output).`);
    return 0;
  }
  try {
    await Deno.stdout.write(Deno.readFileSync(`${stateDir(lab)}/logs/${name}.log`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return 0;
}

export async function inspectCommand(opts: LabOptions, name: string): Promise<number> {
  const { state, container, process } = await containerOf(opts, name);
  const host = state.model.hosts.find((h) => h.name === container.host)!;
  console.log(JSON.stringify(
    {
      Name: container.name,
      Service: container.service,
      Host: { Name: host.name, Address: host.address, Netns: host.netns },
      Netns: process.netns,
      NetworkMode: container.mode.kind === "container"
        ? `container:${container.mode.of}`
        : container.mode.kind,
      Hostname: container.hostname,
      Networks: Object.fromEntries(container.endpoints.map((e) => [e.network, {
        Interface: e.ifname,
        IPAddress: e.address ?? "",
        IPPrefixLen: e.prefix ?? 0,
        Gateway: e.gateway,
        MacAddress: e.mac,
        Aliases: e.aliases,
        HostInterface: e.hostIfname,
      }])),
      Ports: container.ports,
      Expose: container.expose,
      Command: container.command,
      SupervisorPid: state.supervisorPid,
    },
    null,
    2,
  ));
  return 0;
}
