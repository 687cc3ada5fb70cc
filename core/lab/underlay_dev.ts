/**
 * Binding a host's part to one of the machine's interfaces (`up --underlay-dev DEV`): before
 * anything is made, DEV must exist and the host's underlay address must lie on DEV's segment (a
 * prefix of an IPv4 address the machine has on DEV), without being one of the machine's own
 * addresses. The machine is only read here.
 *
 * @module
 */

import type { Host, Model } from "../model/types.ts";
import { contains, enclosing, formatCidr, parseIp } from "../model/ip.ts";
import { MACHINE_IFNAME } from "../model/names.ts";
import { UsageError } from "../errors.ts";
import { handleFor } from "../kernel/netlink/client.ts";
import { linkGet } from "../kernel/netlink/link.ts";
import { addrList } from "../kernel/netlink/addr.ts";
import { AF_INET } from "../kernel/netlink/constants.ts";

/** An IPv4 address the machine has on an interface. */
export interface DeviceAddress {
  address: string;
  prefix: number;
}

/**
 * Why `host` cannot be bound to `dev` whose addresses are `addrs` (null: the device is missing),
 * or null when it can. Pure.
 *
 * @example
 * ```ts
 * segmentProblem(host, "ens4", [{ address: "192.0.2.1", prefix: 24 }]); // null for 192.0.2.11
 * ```
 */
export function segmentProblem(
  host: Host,
  dev: string,
  addrs: DeviceAddress[] | null,
): string | null {
  if (!MACHINE_IFNAME.test(dev)) return `"${dev}" is not an interface name`;
  if (addrs === null) return `this machine has no interface "${dev}"`;
  if (addrs.length === 0) {
    return `"${dev}" has no IPv4 address, so its segment is unknown; give the machine an ` +
      `address on the underlay segment first`;
  }
  const ip = parseIp(host.address)!;
  const segments = addrs.map((a) => enclosing(parseIp(a.address)!, a.prefix));
  if (addrs.some((a) => a.address === host.address)) {
    return `${host.address} is the machine's own address on "${dev}"; give host ` +
      `"${host.name}" an address of its own (hosts.${host.name}.address)`;
  }
  if (!segments.some((s) => contains(s, ip))) {
    const list = segments.map(formatCidr).join(", ");
    return `host "${host.name}"'s underlay address ${host.address} is not on "${dev}"'s ` +
      `segment (${list}); give hosts.${host.name}.address and underlay.subnet in ${list}`;
  }
  return null;
}

/** The IPv4 addresses of `dev` in this process's network namespace, or null when it is missing. */
export function deviceAddresses(dev: string): DeviceAddress[] | null {
  if (!MACHINE_IFNAME.test(dev)) return null;
  const h = handleFor("");
  const link = linkGet(h, dev);
  if (!link) return null;
  return addrList(h, AF_INET)
    .filter((a) => a.index === link.index)
    .map((a) => ({ address: a.address, prefix: a.prefix }));
}

/**
 * Refuses (exit 2, nothing made) to bind host `hostName` to `dev` unless DEV exists here and
 * holds the host's underlay address on its segment.
 */
export function assertBindable(model: Model, hostName: string, dev: string): void {
  const host = model.hosts.find((h) => h.name === hostName)!;
  const problem = segmentProblem(host, dev, MACHINE_IFNAME.test(dev) ? deviceAddresses(dev) : []);
  if (problem) {
    throw new UsageError(
      `Cannot bind host "${hostName}" of lab "${model.lab}" to "${dev}": ${problem}`,
    );
  }
}
