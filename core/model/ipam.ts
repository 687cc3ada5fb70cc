/**
 * IPAM as Docker does it: the predefined pools and their order, choosing the first pool that
 * overlaps nothing in use, and handing out the first free address of a range.
 *
 * @module
 */

import { type Cidr, contains, formatIp, lastOf, overlaps, parseCidr } from "./ip.ts";

/** docker0: the `default` network's subnet. */
export const DEFAULT_SUBNET: Cidr = (parseCidr("172.17.0.0/16") as { cidr: Cidr }).cidr;

function* split(base: string, prefix: number): Generator<Cidr> {
  const outer = (parseCidr(base) as { cidr: Cidr }).cidr;
  const step = 2 ** (32 - prefix);
  for (let b = outer.base; b <= lastOf(outer); b += step) yield { base: b, prefix };
}

/**
 * Docker's local-scope pools after docker0, in order: 172.18/16, 172.19/16, the /16s of
 * 172.20/14, 172.24/14 and 172.28/14, then the /20s of 192.168/16.
 */
export function* localPools(): Generator<Cidr> {
  yield* split("172.18.0.0/16", 16);
  yield* split("172.19.0.0/16", 16);
  yield* split("172.20.0.0/14", 16);
  yield* split("172.24.0.0/14", 16);
  yield* split("172.28.0.0/14", 16);
  yield* split("192.168.0.0/16", 20);
}

/** Docker's global-scope (overlay) pools: the /24s of 10.0.0.0/8. */
export function* globalPools(): Generator<Cidr> {
  yield* split("10.0.0.0/8", 24);
}

/** nslab's underlay candidates: the /24s of 10.77.0.0/16. */
export function* underlayPools(): Generator<Cidr> {
  yield* split("10.77.0.0/16", 24);
}

/**
 * The first pool that overlaps none of `avoid`, or null when every pool is taken
 * (Docker: "all predefined address pools have been fully subnetted").
 *
 * @example
 * ```ts
 * firstFreePool(localPools(), [DEFAULT_SUBNET]); // 172.18.0.0/16
 * ```
 */
export function firstFreePool(pools: Iterable<Cidr>, avoid: readonly Cidr[]): Cidr | null {
  for (const p of pools) {
    if (!avoid.some((a) => overlaps(a, p))) return p;
  }
  return null;
}

/**
 * Addresses of one subnet in one allocation scope: who holds which address, and the first free
 * address of the allocation range. The network and broadcast addresses are never handed out.
 */
export class AddressPool {
  readonly #owners = new Map<number, string>();
  #cursor: number;

  constructor(readonly subnet: Cidr, readonly range: Cidr) {
    this.#cursor = range.base;
  }

  /** Who holds `ip`, if anyone. */
  owner(ip: number): string | undefined {
    return this.#owners.get(ip);
  }

  /** Records that `owner` holds `ip` (callers check {@link owner} first). */
  take(ip: number, owner: string): void {
    this.#owners.set(ip, owner);
  }

  /** Whether `ip` is the network or the broadcast address of the subnet. */
  isReserved(ip: number): boolean {
    return ip === this.subnet.base || ip === lastOf(this.subnet);
  }

  /** Takes and returns the first free address of the range, or null when it is full. */
  next(owner: string): number | null {
    const last = lastOf(this.range);
    for (let ip = this.#cursor; ip <= last; ip++) {
      if (this.isReserved(ip) || this.#owners.has(ip) || !contains(this.subnet, ip)) continue;
      this.#cursor = ip + 1;
      this.#owners.set(ip, owner);
      return ip;
    }
    this.#cursor = last + 1;
    return null;
  }

  /** How many addresses of the range are held (for "no free address" messages). */
  used(): number {
    let n = 0;
    for (const ip of this.#owners.keys()) if (contains(this.range, ip)) n++;
    return n;
  }

  /** Human text of the range, e.g. `172.20.0.0/24`. */
  describe(): string {
    return `${formatIp(this.range.base)}/${this.range.prefix}`;
  }
}
