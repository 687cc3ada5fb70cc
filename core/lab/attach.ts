/**
 * `lab.attach(container, { networks, aliases })`: a running Docker container — one started by
 * testcontainers, or any container id — joins networks of a running lab. Its network namespace is
 * pinned at `/run/netns/<lab>-<name>` (what `ip netns attach` does) and gets nslab endpoints like
 * any container: veths on the lab's bridges, addresses, routes, DNS names (its name and aliases)
 * in the embedded DNS, a DNS listener at 127.0.0.11 inside it, and the implied checks. Docker
 * keeps running its process; teardown only unpins the namespace (its veths go with the lab), so
 * the container is left as it was before, and whoever started it stops it.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import { engine } from "../runtime/docker.ts";
import { adoptNetns, deleteNetns } from "../kernel/netns/netns.ts";
import { addAttachedContainer } from "../model/attach_ops.ts";
import { connectNetwork } from "../model/network_ops.ts";
import { readMachineRoutes } from "../kernel/routes.ts";
import type { LabNetwork } from "./lab_network.ts";
import { ensureStateDir } from "./state.ts";

/** Something with a Docker container id: a testcontainers `StartedTestContainer`, or the id. */
export type ContainerRef = string | { getId(): string };

/** Options of `lab.attach`. */
export interface AttachOptions {
  /** Lab networks to join, in order (the first one carries the default route). */
  networks: string[];
  /** Extra DNS names on every joined network. */
  aliases?: string[];
  /** Its container name in the lab (default: Docker's name of the container). */
  name?: string;
  /** The lab host it sits on (default: the lab's first host). */
  host?: string;
}

/** What `docker inspect` says about a container nslab attaches. */
interface Inspected {
  id: string;
  name: string;
  pid: number;
  networkMode: string;
}

/** `docker inspect` of a running container (through the Engine API), or a clear error. */
async function inspectRunning(ref: string): Promise<Inspected> {
  let seen;
  try {
    seen = await (await engine()).getContainer(ref).inspect();
  } catch (e) {
    const why = (e as { json?: { message?: string } }).json?.message ?? (e as Error).message;
    throw new NslabError(`Cannot attach Docker container "${ref}": ${why}`);
  }
  if (!seen.State.Running || seen.State.Pid <= 0) {
    throw new NslabError(
      `Cannot attach Docker container "${ref}": it is not running; start it first`,
    );
  }
  return {
    id: seen.Id,
    name: seen.Name.replace(/^\//, ""),
    pid: seen.State.Pid,
    networkMode: seen.HostConfig.NetworkMode ?? "",
  };
}

/** Docker's container name made into a lab container name (lowercase, safe characters). */
function labName(dockerName: string): string {
  return dockerName.toLowerCase().replace(/[^a-z0-9_.-]/g, "-").replace(/^[^a-z0-9]+/, "");
}

/** Attaches a running Docker container to `networks` of the lab behind `ops`; returns its name. */
export async function attachContainer(
  lab: string,
  ops: LabNetwork,
  ref: ContainerRef,
  opts: AttachOptions,
): Promise<string> {
  const found = await inspectRunning(typeof ref === "string" ? ref : ref.getId());
  if (found.networkMode.startsWith("container:") || found.networkMode === "host") {
    throw new NslabError(
      `Cannot attach Docker container "${found.name}": it uses network mode ` +
        `${found.networkMode}, so its namespace is not its own; start it with network mode none`,
    );
  }
  if (opts.networks.length === 0) {
    throw new NslabError(`Cannot attach "${found.name}": name at least one network to join`, 2);
  }
  const name = opts.name ?? labName(found.name);
  const netns = `${lab}-${name}`;
  // Recorded before pinning: a `down` after a crash still unpins it (and only unpins it).
  const dir = ensureStateDir(lab);
  await Deno.writeTextFile(`${dir}/attached`, `${netns}\n`, { append: true, mode: 0o600 });
  adoptNetns(netns, `/proc/${found.pid}/ns/net`);
  try {
    const reserved = readMachineRoutes().filter((r) => r.iface !== `nsl-${lab}`).map((r) => r.cidr);
    await ops.addContainer(netns, (model) => {
      let next = addAttachedContainer(model, name, { id: found.id, host: opts.host });
      for (const network of opts.networks) {
        next = connectNetwork(next, network, name, { aliases: opts.aliases }, reserved);
      }
      return next;
    });
  } catch (e) {
    deleteNetns(netns);
    throw e;
  }
  return name;
}
