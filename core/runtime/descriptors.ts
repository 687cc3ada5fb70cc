/**
 * What a supervisor holds open and binds, computed from the plan alone (pure): a module of its
 * own so that `nslab up`, which checks the numbers before it applies anything, does not load the
 * supervisor (DNS server, responders, processes) that runs in another process.
 *
 * @module
 */

import type { Container } from "../model/types.ts";
import type { Plan, ProcessPlan } from "../plan/types.ts";

/** Descriptors per container command: its log file, stdout and stderr pipes, the child's handle. */
const COMMAND_DESCRIPTORS = 4;
/**
 * Descriptors per DNS namespace: the UDP and TCP sockets at 127.0.0.11:53, and the forwarder's
 * socket once a name is forwarded upstream.
 */
const DNS_DESCRIPTORS = 3;

/**
 * The file descriptors a supervisor holds for `plan` (pure): per DNS namespace three sockets, per
 * command four, per responder one socket for each port and each address it binds. Namespace
 * handles are closed once a namespace's sockets exist. Four per container of a lab without
 * commands: 16,000 for 4,000 containers.
 */
export function supervisorDescriptors(containers: readonly Container[], plan: Plan): number {
  const byName = new Map(containers.map((c) => [c.name, c]));
  let n = 0;
  for (const p of plan.processes) {
    if (p.dns) n += DNS_DESCRIPTORS;
    const c = byName.get(p.container);
    if (c?.runtime === "docker") continue;
    if (p.command) n += COMMAND_DESCRIPTORS;
    else if (c) n += p.listen.length * bindAddresses(p, c).length;
  }
  return n;
}

/**
 * Where a responder binds: the wildcard, one socket per port (`::` when the container has IPv6:
 * one socket for both families). A container that serves port 53 beside the embedded DNS binds
 * its own addresses (IPv4 and IPv6) and 127.0.0.1 instead, leaving 127.0.0.11:53 to the DNS (a
 * wildcard socket on port 53 would collide with it).
 */
export function bindAddresses(p: ProcessPlan, c: Container): string[] {
  if (!p.dns || !p.listen.some((l) => l.port === DNS_PORT)) {
    return [c.endpoints.some((e) => e.ipv6) ? "::" : "0.0.0.0"];
  }
  return [
    "127.0.0.1",
    ...c.endpoints.flatMap((e) => [e.address ?? [], e.ipv6?.address ?? []].flat()),
  ];
}

const DNS_PORT = 53;
