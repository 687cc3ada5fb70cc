/**
 * Host ports: each host's published ports checked for conflicts (the same port, protocol and
 * host_ip twice; 0.0.0.0 conflicts with every address) and free ports chosen for entries without a
 * host port — the first free port from 49153 up on that host, in file order, so the choice is
 * deterministic.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { PublishedPort } from "./types.ts";
import type { Draft } from "./containers.ts";

/** A host port taken, at one host address, by one container. */
interface Held {
  hostIp: string;
  owner: string;
}

/** The holder whose address clashes with `hostIp` (0.0.0.0 clashes with every address). */
function clash(held: Held[] | undefined, hostIp: string): Held | undefined {
  return held?.find((h) => h.hostIp === hostIp || h.hostIp === "0.0.0.0" || hostIp === "0.0.0.0");
}

/** Who holds each host port on each host, by `<protocol>/<port>`. */
class HeldPorts {
  readonly #byHost = new Map<string, Map<string, Held[]>>();

  /** Who already holds `port` on `host` for an address that clashes with `hostIp`. */
  clash(host: string, protocol: string, port: number, hostIp: string): Held | undefined {
    return clash(this.#on(host).get(`${protocol}/${port}`), hostIp);
  }

  /** Records that `owner` holds `port` on `host` at `hostIp`. */
  hold(host: string, protocol: string, port: number, hostIp: string, owner: string): void {
    const held = this.#on(host);
    const key = `${protocol}/${port}`;
    held.set(key, [...(held.get(key) ?? []), { hostIp, owner }]);
  }

  #on(host: string): Map<string, Held[]> {
    let m = this.#byHost.get(host);
    if (!m) this.#byHost.set(host, m = new Map());
    return m;
  }
}

/** One entry of a draft's `ports:` with where it was written. */
type PortEntry = Draft["ports"][number];

/** Each container's published ports, slot by slot in `ports:` order (null: not published). */
type Slots = Map<string, (PublishedPort | null)[]>;

/**
 * Returns the published ports of every container (by name), reporting conflicts on a host.
 * Containers that share another's network publish nothing (that is refused earlier).
 */
export function publishPorts(
  drafts: Draft[],
  diags: Diagnostics,
  positions: Positions,
): Map<string, PublishedPort[]> {
  const held = new HeldPorts();
  const slots: Slots = new Map();
  for (const d of drafts) slots.set(d.name, d.ports.map(() => null));
  // Fixed host ports first, so a range never takes a port a fixed entry names later.
  for (const d of drafts) {
    if (d.mode.kind !== "own") continue;
    d.ports.forEach((entry, i) => {
      const port = publishFixed(d, entry, held, diags, positions);
      if (port) slots.get(d.name)![i] = port;
    });
  }
  for (const d of drafts) {
    if (d.mode.kind !== "own") continue;
    d.ports.forEach((entry, i) => {
      const port = publishFromRange(d, entry, held, diags, positions);
      if (port) slots.get(d.name)![i] = port;
    });
  }
  const out = new Map<string, PublishedPort[]>();
  for (const d of drafts) {
    out.set(d.name, slots.get(d.name)!.filter((p): p is PublishedPort => p !== null));
  }
  return out;
}

/** An entry with a fixed host port: published unless another container holds it (reported). */
function publishFixed(
  d: Draft,
  { req, path }: PortEntry,
  held: HeldPorts,
  diags: Diagnostics,
  positions: Positions,
): PublishedPort | null {
  if (req.host.kind !== "fixed") return null;
  const other = held.clash(d.host, req.protocol, req.host.port, req.hostIp);
  if (other) {
    const replicaHint = d.replicas > 1
      ? `; each replica of "${d.service}" needs its own host port: publish a range such as ` +
        `"${req.host.port}-${req.host.port + d.replicas - 1}:${req.containerPort}"`
      : "";
    diags.error(
      positions.of(path),
      `host port ${req.hostIp}:${req.host.port}/${req.protocol} of "${d.name}" is already ` +
        `published by ${other.owner} on host "${d.host}" (Bind for ${req.hostIp}:` +
        `${req.host.port} failed: port is already allocated)`,
      `publish a different host port, or bind each to its own host_ip${replicaHint}`,
    );
    return null;
  }
  held.hold(d.host, req.protocol, req.host.port, req.hostIp, `"${d.name}"`);
  return published(req, req.host.port, false);
}

/** An entry with a host port range (or none): the first free port of the range (reported if none). */
function publishFromRange(
  d: Draft,
  { req, path }: PortEntry,
  held: HeldPorts,
  diags: Diagnostics,
  positions: Positions,
): PublishedPort | null {
  if (req.host.kind !== "range") return null;
  let chosen: number | null = null;
  for (let p = req.host.first; p <= req.host.last; p++) {
    if (!held.clash(d.host, req.protocol, p, req.hostIp)) {
      chosen = p;
      break;
    }
  }
  if (chosen === null) {
    diags.error(
      positions.of(path),
      `no free host port in ${req.host.first}-${req.host.last}/${req.protocol} on host ` +
        `${d.host} for "${d.name}"`,
      "widen the host port range, or publish fewer ports",
    );
    return null;
  }
  held.hold(d.host, req.protocol, chosen, req.hostIp, `"${d.name}"`);
  return published(req, chosen, req.host.ephemeral);
}

/** The published port of a request, on `hostPort` (`random`: the file named no host port). */
function published(req: PortEntry["req"], hostPort: number, random: boolean): PublishedPort {
  return {
    hostIp: req.hostIp,
    hostPort,
    containerPort: req.containerPort,
    protocol: req.protocol,
    name: req.name,
    random,
  };
}
