/**
 * The IPv4 routes already on the machine (`ip -4 route show table main`, read from
 * `/proc/net/route`), so IPAM skips pools that would collide with them, as Docker does. This is the
 * kernel layer's job, not the model's: the model takes the list as input (`LoadOptions.machine`).
 *
 * @module
 */

import { type Cidr, formatCidr } from "../model/ip.ts";

/** One route: destination prefix and the interface it goes out of. */
export interface MachineRoute {
  cidr: string;
  iface: string;
}

function hexLe(hex: string): number | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return null;
  const n = parseInt(hex, 16);
  return (((n & 0xff) << 24) | ((n >>> 8 & 0xff) << 16) | ((n >>> 16 & 0xff) << 8) | (n >>> 24)) >>>
    0;
}

function prefixOfMask(mask: number): number | null {
  let p = 0;
  while (p < 32 && (mask & (0x80000000 >>> p)) !== 0) p++;
  return ((mask << p) >>> 0) === 0 || p === 32 ? p : null;
}

/**
 * Parses the text of `/proc/net/route`. The default route (0.0.0.0/0) is left out: it overlaps
 * everything and Docker does not avoid it either.
 *
 * @example
 * ```ts
 * parseProcRoute("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n" +
 *   "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"); // [{ cidr: "192.168.0.0/24", iface: "eth0" }]
 * ```
 */
export function parseProcRoute(text: string): MachineRoute[] {
  const out: MachineRoute[] = [];
  const lines = text.split("\n").slice(1);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dst = hexLe(f[1]);
    const mask = hexLe(f[7]);
    if (dst === null || mask === null) continue;
    const prefix = prefixOfMask(mask);
    if (prefix === null || prefix === 0) continue;
    const cidr: Cidr = { base: (dst & mask) >>> 0, prefix };
    const text = formatCidr(cidr);
    if (!out.some((r) => r.cidr === text && r.iface === f[0])) {
      out.push({ cidr: text, iface: f[0] });
    }
  }
  return out;
}

/**
 * Reads the machine's IPv4 routes (`ip -4 route`); an unreadable file gives an empty list.
 *
 * @example
 * ```ts
 * const reserved = readMachineRoutes().map((r) => r.cidr);
 * ```
 */
export function readMachineRoutes(
  read: () => string = () => Deno.readTextFileSync("/proc/net/route"),
): MachineRoute[] {
  try {
    return parseProcRoute(read());
  } catch {
    return [];
  }
}
