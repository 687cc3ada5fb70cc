/**
 * A network's IPv4 IPAM: the one IPv4 entry of `ipam.config` read into a subnet, an `ip_range`
 * inside it, a gateway and `aux_addresses`, each checked where it was written. (The IPv6 entry
 * is read in ipv6.ts.)
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import {
  type Cidr,
  contains,
  containsCidr,
  formatCidr,
  formatIp,
  lastOf,
  parseCidr,
  parseIp,
} from "./ip.ts";

/** One `ipam.config` entry as left by the shape check. */
export interface IpamConfig {
  subnet?: string;
  gateway?: string;
  ip_range?: string;
  aux_addresses?: Record<string, string | undefined>;
}

/** What a network's IPv4 `ipam.config` entry sets; nulls where it sets nothing usable. */
export interface Ipv4Ipam {
  subnet: Cidr | null;
  /** Whether `subnet` came from the file (else it is assigned from Docker's pools later). */
  explicitSubnet: boolean;
  ipRange: Cidr | null;
  gateway: number | null;
  auxAddresses: Record<string, number>;
}

/** Where IPAM values report their problems. */
interface IpamContext {
  diags: Diagnostics;
  positions: Positions;
}

/**
 * Reads the IPv4 entries of network `name`'s `ipam.config` (`i`: each entry's index there).
 * nslab supports one IPv4 subnet per network: a second entry is an error.
 */
export function readIpv4Ipam(
  name: string,
  path: (string | number)[],
  entries: { c: IpamConfig; i: number }[],
  diags: Diagnostics,
  positions: Positions,
): Ipv4Ipam {
  const ctx: IpamContext = { diags, positions };
  const out: Ipv4Ipam = {
    subnet: null,
    explicitSubnet: false,
    ipRange: null,
    gateway: null,
    auxAddresses: {},
  };
  if (entries.length > 1) {
    diags.error(
      positions.of([...path, "ipam", "config", entries[1].i]),
      `network "${name}" has ${entries.length} IPv4 ipam configs; nslab supports one subnet per network`,
      "keep one ipam config entry",
    );
  }
  if (entries.length === 0) return out;
  const { c, i } = entries[0];
  const cpath = [...path, "ipam", "config", i];
  if (c.subnet !== undefined) {
    out.subnet = cidrField(c.subnet, [...cpath, "subnet"], "subnet", ctx);
    out.explicitSubnet = out.subnet !== null;
  } else if (c.gateway !== undefined || c.ip_range !== undefined) {
    diags.error(
      positions.of(cpath),
      `network "${name}" sets ${c.gateway !== undefined ? "gateway" : "ip_range"} without subnet`,
      "add subnet: to the same ipam config entry",
    );
  }
  if (out.subnet === null) return out;
  if (c.ip_range !== undefined) out.ipRange = readIpRange(c.ip_range, out.subnet, cpath, ctx);
  if (c.gateway !== undefined) out.gateway = readGateway(c.gateway, out.subnet, cpath, ctx);
  out.auxAddresses = readAuxAddresses(c.aux_addresses ?? {}, out.subnet, cpath, ctx);
  return out;
}

/** An IPv4 prefix with room for containers (at most /30); null, reported, when it is not. */
function cidrField(
  text: string,
  path: (string | number)[],
  what: string,
  { diags, positions }: IpamContext,
): Cidr | null {
  const r = parseCidr(text);
  if (r.ok) {
    if (r.cidr.prefix > 30) {
      diags.error(
        positions.of(path),
        `${what} "${text}" is too small: a /${r.cidr.prefix} leaves no address for containers`,
        "use a prefix of /30 or shorter, e.g. /24",
      );
      return null;
    }
    return r.cidr;
  }
  if (r.reason === "ipv6") {
    diags.error(
      positions.of(path),
      `${what} "${text}" is IPv6, in the ipam config entry of the IPv4 subnet`,
      "put IPv6 values in their own ipam config entry, with an IPv6 subnet",
    );
  } else if (r.reason === "hostbits") {
    diags.error(
      positions.of(path),
      `invalid ${what} "${text}": it has host bits set`,
      `write it as ${r.normalized}`,
    );
  } else {
    diags.error(
      positions.of(path),
      `invalid ${what} "${text}": not an IPv4 prefix`,
      "write it as address/length, e.g. 172.20.0.0/24",
    );
  }
  return null;
}

/** `ip_range`: the part of the subnet containers take addresses from. */
function readIpRange(
  text: string,
  subnet: Cidr,
  cpath: (string | number)[],
  ctx: IpamContext,
): Cidr | null {
  const r = cidrField(text, [...cpath, "ip_range"], "ip_range", ctx);
  if (r && !containsCidr(subnet, r)) {
    ctx.diags.error(
      ctx.positions.of([...cpath, "ip_range"]),
      `ip_range ${formatCidr(r)} is not inside subnet ${formatCidr(subnet)}`,
      `choose an ip_range inside ${formatCidr(subnet)}`,
    );
    return null;
  }
  return r;
}

/** `gateway`: a usable address of the subnet (not its network or broadcast address). */
function readGateway(
  text: string,
  subnet: Cidr,
  cpath: (string | number)[],
  { diags, positions }: IpamContext,
): number | null {
  const g = parseIp(text);
  const gpos = positions.of([...cpath, "gateway"]);
  if (g === null) {
    diags.error(gpos, `invalid gateway "${text}": not an IPv4 address`, "e.g. 172.20.0.1");
  } else if (!contains(subnet, g)) {
    diags.error(
      gpos,
      `gateway ${text} is outside subnet ${formatCidr(subnet)}`,
      `use an address inside ${formatCidr(subnet)}, e.g. ${formatIp(subnet.base + 1)}`,
    );
  } else if (g === subnet.base || g === lastOf(subnet)) {
    diags.error(
      gpos,
      `gateway ${text} is the ${g === subnet.base ? "network" : "broadcast"} address ` +
        `of ${formatCidr(subnet)}`,
      `use a usable address, e.g. ${formatIp(subnet.base + 1)}`,
    );
  } else return g;
  return null;
}

/** `aux_addresses`: addresses inside the subnet that IPAM never hands out, by name. */
function readAuxAddresses(
  aux: Record<string, string | undefined>,
  subnet: Cidr,
  cpath: (string | number)[],
  { diags, positions }: IpamContext,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [host, text] of Object.entries(aux)) {
    if (text === undefined) continue;
    const ip = parseIp(text);
    if (ip === null || !contains(subnet, ip)) {
      diags.error(
        positions.of([...cpath, "aux_addresses", host]),
        ip === null
          ? `aux address "${text}" is not an IPv4 address`
          : `aux address ${text} is outside subnet ${formatCidr(subnet)}`,
        `use an address inside ${formatCidr(subnet)}`,
      );
    } else out[host] = ip;
  }
  return out;
}
