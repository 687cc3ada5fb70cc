/**
 * Attachments: a service's `networks:` entries (list or map form) read into one request per
 * network, with the fixed addresses, aliases, MAC and interface name each entry may carry checked.
 * Replica offsets are applied later, when the service is expanded into containers.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import { parseIp } from "./ip.ts";
import { parseIp6 } from "./ip6.ts";
import { HOSTNAME_PATTERN, MAC_PATTERN, suggestion } from "./names.ts";
import { DOCKER0_NETWORK, PROJECT_NETWORK } from "./networks.ts";

/** A container's request to join one network. */
export interface Attachment {
  network: string;
  aliases: string[];
  /** Fixed address for this container (replica offset applied), or null. */
  ipv4: number | null;
  /** The service's ipv4_address (replica 1's address), for messages. */
  ipv4Base: number | null;
  /** Fixed IPv6 address (replica offset applied), or null. */
  ipv6: bigint | null;
  /** The service's ipv6_address (replica 1's address). */
  ipv6Base: bigint | null;
  mac: string | null;
  priority: number;
  /** `gw_priority`: the highest carries the default route. */
  gwPriority: number;
  /** `interface_name`, or null for eth<n>. */
  interfaceName: string | null;
  path: (string | number)[];
}

/** A service's attachment before the replica's offset gives it `ipv4`/`ipv6`. */
export type ServiceAttachment = Omit<Attachment, "ipv4" | "ipv6">;

/** One entry under a service's `networks:` map. */
export interface RawAttachment {
  aliases?: (string | undefined)[];
  ipv4_address?: string;
  ipv6_address?: string;
  mac_address?: string;
  priority?: number;
  gw_priority?: number;
  interface_name?: string;
}

/** A service's `networks:` as left by the shape check: a list of names or a map of entries. */
export type RawNetworks = (string | undefined)[] | Record<string, RawAttachment | undefined>;

/** What reading attachments needs from the rest of the file. */
export interface AttachmentContext {
  /** The networks declared in the file. */
  networks: string[];
  /** Networks declared but not built, each already reported (an external one not found …). */
  unbuilt?: string[];
  diags: Diagnostics;
  positions: Positions;
}

/** One `networks:` entry with where it was written. */
interface NetworkRef {
  name: string;
  body: RawAttachment;
  path: (string | number)[];
}

/** What Linux accepts as an interface name (at most 15 bytes). */
const INTERFACE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;

/**
 * Reads a service's `networks:` (at `path`) into one attachment per network, in the order Compose
 * connects them: by `priority`, highest first, then by name. Entries naming an undeclared
 * network, or a network twice, are reported and left out.
 */
export function readAttachments(
  networks: RawNetworks | undefined,
  path: (string | number)[],
  ctx: AttachmentContext,
): ServiceAttachment[] {
  const out: ServiceAttachment[] = [];
  const seen = new Set<string>();
  for (const ref of networkRefs(networks, path)) {
    if (!checkNetworkRef(ref, path, seen, ctx)) continue;
    seen.add(ref.name);
    out.push(readAttachment(ref, ctx));
  }
  // Compose connects a container's networks by priority, then by name: the first is its primary
  // network (the service's mac_address goes there). The interfaces' order is the engine's
  // (endpoints.ts engineOrder), which priority does not change.
  return out.sort((x, y) =>
    y.priority - x.priority || (x.network < y.network ? -1 : x.network > y.network ? 1 : 0)
  );
}

/**
 * The attachment of a service without `networks:`: the project's default network, or docker0
 * for `network_mode: bridge`/`default`.
 */
export function defaultAttachment(docker0: boolean, path: (string | number)[]): ServiceAttachment {
  return {
    network: docker0 ? DOCKER0_NETWORK : PROJECT_NETWORK,
    aliases: [],
    ipv4Base: null,
    ipv6Base: null,
    mac: null,
    priority: 0,
    gwPriority: 0,
    interfaceName: null,
    path: [...path],
  };
}

/**
 * A service-level `mac_address` is the MAC of the container's first interface (Compose gives it
 * to the primary network); a per-network one wins.
 */
export function applyServiceMac(
  mac: string | undefined,
  attachments: ServiceAttachment[],
  path: (string | number)[],
  ctx: AttachmentContext,
): void {
  if (mac === undefined || attachments.length === 0) return;
  const pos = ctx.positions.of([...path, "mac_address"]);
  if (!MAC_PATTERN.test(mac) || isMulticastMac(mac)) {
    ctx.diags.error(
      pos,
      `invalid mac_address "${mac}"`,
      "write six hex bytes of a unicast MAC, e.g. 02:42:ac:14:00:0a",
    );
    return;
  }
  attachments[0].mac ??= mac.toLowerCase();
}

/** Replicas cannot share one MAC: reports and drops a fixed MAC on a replicated service. */
export function dropReplicatedMacs(
  attachments: ServiceAttachment[],
  service: string,
  replicas: number,
  ctx: AttachmentContext,
): void {
  for (const a of attachments) {
    if (replicas > 1 && a.mac !== null) {
      a.mac = null;
      ctx.diags.error(
        ctx.positions.of([...a.path, "mac_address"]),
        `mac_address on service "${service}" with ${replicas} replicas would give every ` +
          "replica the same MAC",
        "remove mac_address, or use one replica",
      );
    }
  }
}

/** The entries of `networks:` in file order, list and map form alike. */
function networkRefs(networks: RawNetworks | undefined, path: (string | number)[]): NetworkRef[] {
  const refs: NetworkRef[] = [];
  if (Array.isArray(networks)) {
    networks.forEach((n, i) => {
      if (n !== undefined) refs.push({ name: n, body: {}, path: [...path, "networks", i] });
    });
  } else if (networks) {
    for (const [name, body] of Object.entries(networks)) {
      refs.push({ name, body: body ?? {}, path: [...path, "networks", name] });
    }
  }
  return refs;
}

/** Whether the entry names a declared network not listed before; reports it when not. */
function checkNetworkRef(
  ref: NetworkRef,
  path: (string | number)[],
  seen: Set<string>,
  ctx: AttachmentContext,
): boolean {
  const isKey = typeof ref.path[ref.path.length - 1] === "string";
  const refPos = isKey ? ctx.positions.keyOf(ref.path) : ctx.positions.of(ref.path);
  if (ctx.unbuilt?.includes(ref.name)) return false; // its own error says why, once
  if (!ctx.networks.includes(ref.name) && ref.name !== PROJECT_NETWORK) {
    const known = ctx.networks.filter((n) => n !== PROJECT_NETWORK);
    ctx.diags.error(
      refPos,
      `service "${path[1]}" refers to undefined network ${ref.name}` +
        suggestion(ref.name, ctx.networks),
      ref.name === DOCKER0_NETWORK
        ? "docker0 is joined with network_mode: bridge (without networks:)"
        : known.length > 0
        ? `declare it under networks:, or use one of: ${known.join(", ")}`
        : `declare it under networks: (networks: { ${ref.name}: {} })`,
    );
    return false;
  }
  if (seen.has(ref.name)) {
    ctx.diags.error(refPos, `network "${ref.name}" is listed twice`, "list each network once");
    return false;
  }
  return true;
}

/** One entry's settings, each checked where it was written. */
function readAttachment(ref: NetworkRef, ctx: AttachmentContext): ServiceAttachment {
  const b = ref.body;
  const ipv4Base = readIpv4Address(b.ipv4_address, ref.path, ctx);
  const ipv6Base = readIpv6Address(b.ipv6_address, ref.path, ctx);
  const aliases = readAliases(b.aliases, ref.path, ctx);
  const mac = readMac(b.mac_address, ref.path, ctx);
  const interfaceName = readInterfaceName(b.interface_name, ref.path, ctx);
  return {
    network: ref.name,
    aliases,
    ipv4Base,
    ipv6Base,
    mac,
    priority: b.priority ?? 0,
    gwPriority: b.gw_priority ?? 0,
    interfaceName,
    path: ref.path,
  };
}

function readIpv4Address(
  text: string | undefined,
  path: (string | number)[],
  ctx: AttachmentContext,
): number | null {
  if (text === undefined) return null;
  const p = ctx.positions.of([...path, "ipv4_address"]);
  if (text.includes(":")) {
    ctx.diags.error(p, "ipv4_address must be an IPv4 address", "e.g. ipv4_address: 172.20.0.10");
    return null;
  }
  const address = parseIp(text);
  if (address === null) {
    ctx.diags.error(
      p,
      `invalid ipv4_address "${text}": not an IPv4 address`,
      "e.g. ipv4_address: 172.20.0.10",
    );
  }
  return address;
}

function readIpv6Address(
  text: string | undefined,
  path: (string | number)[],
  ctx: AttachmentContext,
): bigint | null {
  if (text === undefined) return null;
  const address = parseIp6(text);
  if (address === null) {
    ctx.diags.error(
      ctx.positions.of([...path, "ipv6_address"]),
      `invalid ipv6_address "${text}": not an IPv6 address`,
      "e.g. ipv6_address: fd00:db8:1::10",
    );
  }
  return address;
}

/** The entry's aliases; each must be a DNS name (reported, but kept, when not). */
function readAliases(
  raw: (string | undefined)[] | undefined,
  path: (string | number)[],
  ctx: AttachmentContext,
): string[] {
  const aliases = (raw ?? []).filter((a): a is string => a !== undefined);
  aliases.forEach((a, i) => {
    if (!HOSTNAME_PATTERN.test(a) || a.length > 253) {
      ctx.diags.error(
        ctx.positions.of([...path, "aliases", i]),
        `alias "${a}" is not a valid DNS name`,
        "use letters, digits, '-' and '.', e.g. www",
      );
    }
  });
  return aliases;
}

/** A per-network `mac_address`, lower-cased; null when absent or not a unicast MAC. */
function readMac(
  text: string | undefined,
  path: (string | number)[],
  ctx: AttachmentContext,
): string | null {
  if (text === undefined) return null;
  const p = ctx.positions.of([...path, "mac_address"]);
  if (!MAC_PATTERN.test(text)) {
    ctx.diags.error(
      p,
      `invalid mac_address "${text}"`,
      "write six hex bytes, e.g. 02:42:ac:14:00:0a",
    );
    return null;
  }
  if (isMulticastMac(text)) {
    ctx.diags.error(
      p,
      `mac_address ${text} is a multicast address`,
      "use a unicast MAC: the lowest bit of the first byte must be 0, e.g. 02:…",
    );
    return null;
  }
  return text.toLowerCase();
}

/** `interface_name`, or null (eth<n>) when absent or not a valid interface name. */
function readInterfaceName(
  name: string | undefined,
  path: (string | number)[],
  ctx: AttachmentContext,
): string | null {
  if (name === undefined) return null;
  if (INTERFACE_NAME.test(name)) return name;
  ctx.diags.error(
    ctx.positions.of([...path, "interface_name"]),
    `interface_name "${name}" is not a valid interface name (at most 15 bytes)`,
    "use at most 15 letters, digits, '_', '.' or '-', e.g. lan0",
  );
  return null;
}

/** A MAC whose first byte has the group bit set. */
function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}
