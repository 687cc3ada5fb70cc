/**
 * Which ports have a listener inside a namespace, read from the kernel's socket tables
 * (`/proc/thread-self/net/{tcp,tcp6,udp,udp6}` opened while inside the namespace) — so `up` can
 * wait until a container's own command listens on the ports it declares.
 *
 * @module
 */

import { withNetns } from "../kernel/netns/netns.ts";
import { pollUntil } from "../poll.ts";

const TCP_LISTEN = "0A";

/** Local ports in a /proc/net/{tcp,udp}[6] table; for TCP only sockets in LISTEN state. */
export function parseSocketTable(text: string, tcp: boolean): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const port = parseInt(f[1].split(":")[1] ?? "", 16);
    if (!Number.isFinite(port)) continue;
    if (tcp && f[3] !== TCP_LISTEN) continue;
    ports.add(port);
  }
  return ports;
}

function readTable(name: string): string {
  try {
    return Deno.readTextFileSync(`/proc/thread-self/net/${name}`);
  } catch {
    return ""; // no IPv6 in this namespace, for example
  }
}

/** Ports with a listener in namespace `netns`, per protocol. */
export function listeningPorts(netns: string): { tcp: Set<number>; udp: Set<number> } {
  return withNetns(netns, () => {
    const tcp = new Set([
      ...parseSocketTable(readTable("tcp"), true),
      ...parseSocketTable(readTable("tcp6"), true),
    ]);
    const udp = new Set([
      ...parseSocketTable(readTable("udp"), false),
      ...parseSocketTable(readTable("udp6"), false),
    ]);
    return { tcp, udp };
  });
}

/**
 * Waits until every tcp/udp port of `ports` has a listener in `netns`, or the deadline passes.
 * Returns the ports still missing (empty when all listen).
 */
export async function waitListening(
  netns: string,
  ports: { port: number; protocol: string }[],
  timeoutMs: number,
): Promise<{ port: number; protocol: string }[]> {
  const wanted = ports.filter((p) => p.protocol === "tcp" || p.protocol === "udp");
  let missing = wanted;
  await pollUntil(() => {
    const now = listeningPorts(netns);
    missing = wanted.filter((p) => !(p.protocol === "tcp" ? now.tcp : now.udp).has(p.port));
    return missing.length === 0;
  }, { timeoutMs, firstMs: 10, maxMs: 200 });
  return missing;
}
