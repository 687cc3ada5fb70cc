/**
 * A network's IPv6 side, as Docker has it: `enable_ipv6: true`, an IPv6 `ipam.config` entry
 * (subnet, gateway, ip_range), and, when the file gives no IPv6 subnet, a /64 of a ULA /48.
 * moby derives its /48 from the machine (`fd` + 40 bits of a hash of the host id); a lab derives
 * it from the lab name instead, so the same file gives the same addresses on every machine.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Ipv6Network } from "./types.ts";
import {
  type Cidr6,
  contains6,
  containsCidr6,
  formatCidr6,
  formatIp6,
  overlaps6,
  parseCidr6,
  parseIp6,
} from "./ip6.ts";
import { hashHex } from "./names.ts";

/** The IPv6 side of a declared network, before and after its subnet is chosen. */
export interface Ipv6Decl {
  /** Explicit or assigned subnet; null until assigned. */
  subnet: Cidr6 | null;
  explicit: boolean;
  gateway: bigint | null;
  ipRange: Cidr6 | null;
}

/** What {@link assignIpv6Subnets} needs of a declared network. */
export interface Ipv6Holder {
  name: string;
  driver: "bridge" | "overlay" | "macvlan";
  path: (string | number)[];
  v6: Ipv6Decl | null;
}

/** One `ipam.config` entry as the file has it, with its index in the list. */
export interface IpamEntry {
  c: { subnet?: string; gateway?: string; ip_range?: string };
  i: number;
}

/** Longest IPv6 prefix a network may have: a /126 leaves the gateway and two containers. */
const LONGEST_PREFIX = 126;
/** Length of the prefixes handed out from the ULA /48 (Docker's default pool size). */
const ULA_NETWORK_PREFIX = 64;

/** Whether an `ipam.config` entry is the IPv6 one (its subnet has a colon). */
export function isIpv6Entry(e: IpamEntry): boolean {
  return (e.c.subnet ?? "").includes(":");
}

/**
 * The lab's ULA /48: `fd` followed by 40 bits of a hash of the lab name (moby hashes its host id).
 *
 * @example
 * ```ts
 * formatCidr6(ulaPrefix("shop")); // "fdXX:XXXX:XXXX::/48", always the same for "shop"
 * ```
 */
export function ulaPrefix(lab: string): Cidr6 {
  const bits40 = BigInt("0x" + hashHex("ula", lab).slice(0, 10));
  return { base: ((0xfdn << 40n) | bits40) << 80n, prefix: 48 };
}

function cidr6Field(
  text: string,
  path: (string | number)[],
  what: string,
  diags: Diagnostics,
  positions: Positions,
): Cidr6 | null {
  const r = parseCidr6(text);
  if (r.ok && r.cidr.prefix <= LONGEST_PREFIX) return r.cidr;
  diags.error(
    positions.of(path),
    r.ok
      ? `${what} "${text}" is too small: a /${r.cidr.prefix} leaves no address for containers`
      : r.reason === "hostbits"
      ? `invalid ${what} "${text}": it has host bits set`
      : `invalid ${what} "${text}": not an IPv6 prefix`,
    r.ok
      ? "use a /64 (Docker's size) or any prefix up to /126"
      : r.reason === "hostbits"
      ? `write it as ${r.normalized}`
      : "write it as address/length, e.g. fd00:db8:1::/64",
  );
  return null;
}

/**
 * Reads the IPv6 `ipam.config` entries of a network. Null when the network has no IPv6
 * (`enable_ipv6` not true); an IPv6 entry without `enable_ipv6: true` is an error, as is more
 * than one IPv6 entry, a gateway or ip_range outside the subnet.
 */
export function readIpv6Config(
  name: string,
  path: (string | number)[],
  enableIpv6: boolean,
  entries: IpamEntry[],
  diags: Diagnostics,
  positions: Positions,
): Ipv6Decl | null {
  const at = (e: IpamEntry, key?: string) =>
    positions.of([...path, "ipam", "config", e.i, ...(key ? [key] : [])]);
  if (!enableIpv6) {
    for (const e of entries) {
      diags.error(
        at(e, "subnet"),
        `network "${name}" has the IPv6 subnet ${e.c.subnet} but IPv6 is not enabled on it`,
        `add enable_ipv6: true to network "${name}", or remove the IPv6 ipam config entry`,
      );
    }
    return null;
  }
  const decl: Ipv6Decl = { subnet: null, explicit: false, gateway: null, ipRange: null };
  if (entries.length > 1) {
    diags.error(
      at(entries[1]),
      `network "${name}" has ${entries.length} IPv6 ipam configs; nslab supports one IPv6 subnet ` +
        "per network",
      "keep one IPv6 ipam config entry",
    );
  }
  if (entries.length === 0) return decl;
  const e = entries[0];
  decl.subnet = cidr6Field(
    e.c.subnet!,
    [...path, "ipam", "config", e.i, "subnet"],
    "subnet",
    diags,
    positions,
  );
  decl.explicit = decl.subnet !== null;
  if (decl.subnet === null) return decl;
  const subnet = decl.subnet;
  if (e.c.ip_range !== undefined) {
    const r = cidr6Field(
      e.c.ip_range,
      [...path, "ipam", "config", e.i, "ip_range"],
      "ip_range",
      diags,
      positions,
    );
    if (r && !containsCidr6(subnet, r)) {
      diags.error(
        at(e, "ip_range"),
        `ip_range ${formatCidr6(r)} is not inside subnet ${formatCidr6(subnet)}`,
        `choose an ip_range inside ${formatCidr6(subnet)}`,
      );
    } else if (r) decl.ipRange = r;
  }
  if (e.c.gateway !== undefined) {
    const g = parseIp6(e.c.gateway);
    const fix = `use an address inside ${formatCidr6(subnet)}, e.g. ${formatIp6(subnet.base + 1n)}`;
    if (g === null) {
      diags.error(at(e, "gateway"), `invalid gateway "${e.c.gateway}": not an IPv6 address`, fix);
    } else if (!contains6(subnet, g) || g === subnet.base) {
      diags.error(
        at(e, "gateway"),
        g === subnet.base
          ? `gateway ${e.c.gateway} is the subnet-router address of ${formatCidr6(subnet)}`
          : `gateway ${e.c.gateway} is outside subnet ${formatCidr6(subnet)}`,
        fix,
      );
    } else decl.gateway = g;
  }
  return decl;
}

/**
 * Refuses explicit IPv6 subnets that overlap in one scope (overlay against everything, local
 * networks against each other on a shared host), then gives every other IPv6 network the next
 * free /64 of the lab's ULA /48, and sets default gateways (the first address; none for macvlan,
 * whose router is outside the lab). Returns the /48 when a network took a /64 of it.
 */
export function assignIpv6Subnets(
  lab: string,
  nets: Ipv6Holder[],
  members: Map<string, string[]>,
  diags: Diagnostics,
  positions: Positions,
): Cidr6 | null {
  const explicit = nets.filter((n) => n.v6?.explicit);
  for (let i = 0; i < explicit.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [explicit[i], explicit[j]];
      if (!overlaps6(a.v6!.subnet!, b.v6!.subnet!)) continue;
      const global = a.driver === "overlay" || b.driver === "overlay";
      const bHosts = members.get(b.name) ?? [];
      const on = (members.get(a.name) ?? []).find((h) => bHosts.includes(h));
      if (!global && on === undefined) continue;
      diags.error(
        positions.of([...a.path, "ipam", "config"]),
        `IPv6 subnet ${formatCidr6(a.v6!.subnet!)} of network "${a.name}" overlaps ` +
          `${formatCidr6(b.v6!.subnet!)} of network "${b.name}"` +
          (global ? " (overlay networks span every host)" : ` on host "${on}"`),
        "give one of them a different IPv6 subnet, or leave it out to get a /64 of the lab's ULA",
      );
    }
  }
  const ula = ulaPrefix(lab);
  let used = false;
  let next = ula.base;
  const step = 1n << BigInt(128 - ULA_NETWORK_PREFIX);
  for (const n of nets) {
    if (!n.v6 || n.v6.subnet) continue;
    let candidate: Cidr6 = { base: next, prefix: ULA_NETWORK_PREFIX };
    while (explicit.some((x) => overlaps6(x.v6!.subnet!, candidate))) {
      candidate = { base: candidate.base + step, prefix: ULA_NETWORK_PREFIX };
    }
    n.v6.subnet = candidate;
    next = candidate.base + step;
    used = true;
  }
  for (const n of nets) {
    if (n.v6?.subnet && n.v6.gateway === null && n.driver !== "macvlan") {
      n.v6.gateway = n.v6.subnet.base + 1n;
    }
  }
  return used ? ula : null;
}

/** The model's view of a network's IPv6 side, or undefined when it has none. */
export function toIpv6Network(v6: Ipv6Decl | null, ula: Cidr6 | null): Ipv6Network | undefined {
  if (!v6?.subnet) return undefined;
  return {
    subnet: formatCidr6(v6.subnet),
    prefix: v6.subnet.prefix,
    gateway: v6.gateway === null ? "" : formatIp6(v6.gateway),
    ipRange: formatCidr6(v6.ipRange ?? v6.subnet),
    fromUla: !v6.explicit && ula !== null && containsCidr6(ula, v6.subnet),
  };
}
