/**
 * Dual-stack pairs: a reach or isolation row is derived once per address family (the IPv6 one's
 * id carries `/ipv6` after the network). When only one of the two fails, the fault is in that
 * family's own path — its addresses, routes or firewall (iptables vs ip6tables) — not in the
 * link, the namespace or the listener both share; the hint says so.
 *
 * @module
 */

import type { CheckResult } from "./types.ts";

/** The tag an IPv6 row's id carries after its network (`reach:a->b@front/ipv6:tcp/80`). */
export const IPV6_TAG = "/ipv6";

/** The id both families of one pair share. */
function pairKey(id: string): string {
  return id.replace(`${IPV6_TAG}:`, ":");
}

/**
 * Results with the hint of a failing row that has a passing twin in the other family prefixed
 * by the family that fails. Rows without a twin are returned as they are.
 *
 * @example
 * ```ts
 * const named = nameFailingFamily(report.results);
 * // "only IPv6 fails for this pair (IPv4 passes): …"
 * ```
 */
export function nameFailingFamily(results: CheckResult[]): CheckResult[] {
  const byPair = new Map<string, CheckResult[]>();
  for (const r of results) {
    const k = pairKey(r.expectation.id);
    const list = byPair.get(k);
    if (list) list.push(r);
    else byPair.set(k, [r]);
  }
  return results.map((r) => {
    if (r.pass) return r;
    const twins = byPair.get(pairKey(r.expectation.id)) ?? [];
    if (twins.length !== 2 || !twins.every((t) => t === r || t.pass)) return r;
    const v6 = r.expectation.id.includes(`${IPV6_TAG}:`);
    const family = v6
      ? "only IPv6 fails for this pair (IPv4 passes): an IPv6 route, address or ip6tables rule?"
      : "only IPv4 fails for this pair (IPv6 passes): an IPv4 route, address or iptables rule?";
    return { ...r, hint: r.hint ? `${family} ${r.hint}` : family };
  });
}
