/**
 * Hosts and the underlay: the `hosts:` section, the underlay subnet that joins the hosts, and
 * where each host and the uplink from the machine sit on it.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Host } from "./types.ts";
import {
  type Cidr,
  contains,
  enclosing,
  formatCidr,
  formatIp,
  lastOf,
  overlaps,
  parseCidr,
  parseIp,
} from "./ip.ts";
import { firstFreePool, underlayPools } from "./ipam.ts";
import { byteLength, MAX_HOST, NAME_PATTERN } from "./names.ts";
import { type HostPlacement, readPlacement } from "./placement.ts";

/** Name of the single host when `hosts:` is omitted. */
export const DEFAULT_HOST = "host";
/** Names no host or container may take. */
export const RESERVED_NAMES = ["underlay", "outside"];

/** `hosts:` as left by the shape check. */
export type RawHosts = Record<
  string,
  { address?: string; underlay_dev?: string; node?: string } | undefined
>;

/** `underlay:` as left by the shape check. */
export interface RawUnderlay {
  subnet?: string;
}

/** A host as read from the file, before it has its underlay address. */
export interface HostDraft {
  name: string;
  address: number | null;
  /** Where the host's part runs on real machines (only when the file says). */
  placement: HostPlacement;
  path: (string | number)[];
}

/** The hosts placed on the underlay. */
export interface PlacedHosts {
  hosts: Host[];
  subnet: Cidr;
  /** The uplink's address on the underlay, or null when the lab has no uplink. */
  uplink: number | null;
  /** Each host's underlay address, in the order of the drafts. */
  addresses: number[];
}

/**
 * Chooses the underlay and places the hosts and the uplink on it. `avoid` are the prefixes the
 * machine routes and the file's own subnets; an underlay the file sets that overlaps a route the
 * machine has runs without an uplink (a warning).
 */
export function placeOnUnderlay(
  lab: string,
  raw: RawUnderlay | undefined,
  drafts: HostDraft[],
  reserved: Cidr[],
  avoid: Cidr[],
  withUplink: boolean,
  diags: Diagnostics,
  positions: Positions,
): PlacedHosts {
  const subnet = chooseUnderlay(raw, drafts, [...reserved, ...avoid], diags, positions);
  let uplink: number | null = withUplink ? lastOf(subnet) - 1 : null;
  if (uplink !== null && raw?.subnet !== undefined) {
    const clash = reserved.find((r) => overlaps(r, subnet));
    if (clash) {
      diags.warn(
        positions.of(["underlay", "subnet"]),
        `no uplink: the machine already routes ${formatCidr(clash)}, which overlaps the underlay ` +
          `${formatCidr(subnet)} (another lab or a real network); the lab runs without one`,
      );
      uplink = null;
    }
  }
  const addresses = placeHosts(drafts, subnet, uplink, diags, positions);
  const hosts: Host[] = drafts.map((h, i) => ({
    name: h.name,
    netns: `${lab}-${h.name}`,
    address: formatIp(addresses[i]),
    mac: hostMac(addresses[i]),
    underlayIfname: `u-${h.name}`,
    ...h.placement,
  }));
  return { hosts, subnet, uplink, addresses };
}

/** `hosts:` read, or the one default host when the file has none. */
export function readHosts(
  raw: RawHosts | undefined,
  diags: Diagnostics,
  positions: Positions,
): HostDraft[] {
  if (raw === undefined || Object.keys(raw).length === 0) {
    if (raw !== undefined) {
      diags.error(
        positions.of(["hosts"]),
        "hosts: is empty",
        "declare at least one host (hosts: { h1: {} }), or remove hosts: to get one host",
      );
    }
    return [{ name: DEFAULT_HOST, address: null, placement: {}, path: [] }];
  }
  const out: HostDraft[] = [];
  for (const [name, body] of Object.entries(raw)) {
    const path = ["hosts", name];
    if (!NAME_PATTERN.test(name) || byteLength(name) > MAX_HOST) {
      diags.error(
        positions.keyOf(path),
        `host name "${name}" cannot be used: it becomes the interface name u-${name} (≤ 15 bytes)` +
          " and the namespace <lab>-" + name,
        `use at most ${MAX_HOST} lowercase letters, digits, '_', '.' or '-', starting with a ` +
          "letter or digit",
      );
      continue;
    }
    if (RESERVED_NAMES.includes(name)) {
      diags.error(
        positions.keyOf(path),
        `host name "${name}" is reserved`,
        "choose another name (underlay is the hosts' segment, outside the machine's root namespace)",
      );
      continue;
    }
    let address: number | null = null;
    if (body?.address !== undefined) {
      address = parseIp(body.address);
      if (address === null) {
        diags.error(
          positions.of([...path, "address"]),
          `invalid host address "${body.address}": not an IPv4 address`,
          "e.g. address: 10.77.0.12",
        );
      }
    }
    out.push({ name, address, placement: readPlacement(body, path, diags, positions), path });
  }
  return out;
}

/**
 * The underlay subnet: `underlay.subnet` when valid, else the /24 around the first host address
 * given, else the first free pool that avoids the machine's routes and the file's subnets.
 */
function chooseUnderlay(
  raw: RawUnderlay | undefined,
  hosts: HostDraft[],
  avoid: Cidr[],
  diags: Diagnostics,
  positions: Positions,
): Cidr {
  if (raw?.subnet !== undefined) {
    const r = parseCidr(raw.subnet);
    const pos = positions.of(["underlay", "subnet"]);
    if (r.ok && r.cidr.prefix <= 29) return r.cidr;
    diags.error(
      pos,
      r.ok
        ? `underlay subnet ${raw.subnet} is too small for the hosts and the uplink`
        : r.reason === "hostbits"
        ? `invalid underlay subnet "${raw.subnet}": it has host bits set`
        : r.reason === "ipv6"
        ? "an IPv6 underlay is not supported yet"
        : `invalid underlay subnet "${raw.subnet}": not an IPv4 prefix`,
      r.ok || r.reason !== "hostbits"
        ? "e.g. underlay: { subnet: 10.77.0.0/24 }"
        : `write ${r.normalized}`,
    );
  }
  const given = hosts.find((h) => h.address !== null);
  if (given) return enclosing(given.address!, 24);
  return firstFreePool(underlayPools(), avoid) ?? enclosing(parseIp("10.77.0.0")!, 24);
}

/**
 * Each host's underlay address: the one it was given (checked against the subnet, the uplink and
 * the other hosts), else the next free one from .11 (.1 in a small underlay).
 */
function placeHosts(
  hosts: HostDraft[],
  subnet: Cidr,
  uplink: number | null,
  diags: Diagnostics,
  positions: Positions,
): number[] {
  const taken = new Map<number, string>();
  if (uplink !== null) taken.set(uplink, "the uplink");
  const out: number[] = [];
  for (const h of hosts) {
    if (h.address === null) continue;
    const pos = positions.of([...h.path, "address"]);
    if (!contains(subnet, h.address)) {
      diags.error(
        pos,
        `host address ${formatIp(h.address)} is outside the underlay ${formatCidr(subnet)}`,
        `use an address inside ${formatCidr(subnet)}, or set underlay.subnet to hold it`,
      );
    } else if (h.address === subnet.base || h.address === lastOf(subnet)) {
      diags.error(
        pos,
        `host address ${formatIp(h.address)} is the ${
          h.address === subnet.base ? "network" : "broadcast"
        } address of the underlay ${formatCidr(subnet)}`,
        "use a usable address, e.g. the .11",
      );
    } else if (taken.has(h.address)) {
      diags.error(
        pos,
        `host address ${formatIp(h.address)} is already used by ${taken.get(h.address)}`,
        "give each host its own address",
      );
    } else taken.set(h.address, `host ${h.name}`);
  }
  // Hosts start at .11 (room for hand-placed gear below), or at .1 in a small underlay.
  let next = subnet.prefix <= 27 ? subnet.base + 11 : subnet.base + 1;
  for (const h of hosts) {
    if (h.address !== null) {
      out.push(h.address);
      continue;
    }
    while (taken.has(next) && next < lastOf(subnet)) next++;
    if (next >= lastOf(subnet)) {
      diags.error(
        positions.keyOf(h.path),
        `no free underlay address for host ${h.name} in ${formatCidr(subnet)}`,
        "use a larger underlay.subnet",
      );
      out.push(subnet.base + 1);
      continue;
    }
    taken.set(next, `host ${h.name}`);
    out.push(next++);
  }
  return out;
}

/** A host's underlay MAC: `02:4e:` + its address bytes. */
function hostMac(address: number): string {
  return [0x02, 0x4e, address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join(":");
}
