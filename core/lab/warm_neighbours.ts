/**
 * Cheap neighbour tables for the first `check` after `up`. The first packet from each container to
 * each other one on a bridge waits for ARP: a broadcast request that the bridge copies to every
 * member, so a reach matrix of n containers on one bridge costs about n²/2 requests times n
 * deliveries (100 containers: ~490,000 deliveries, ~0.5 s of a first check on a 2-CPU machine).
 *
 * Instead, while `up` waits for the lab to answer, every container on a bridge network announces
 * itself once (a gratuitous ARP, n requests times n deliveries), and its bridge neighbours accept
 * the announcement because `arp_accept` is 1 on their interface for that moment only; it is put
 * back to its value before `up` returns. The entries are STALE, learned ones: the kernel still
 * confirms or drops them as it does any other, nothing is static, and a check still proves each
 * path by sending over it (a dead path leaves a STALE entry and a lost packet: the check fails).
 * Best effort: an announcement that is lost only leaves that pair to ARP during the check.
 *
 * Bridge networks only (IPv4): macvlan leaves the machine and an overlay's members are on other
 * hosts' bridges.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { sendGarp } from "../kernel/garp.ts";
import { withNetns } from "../kernel/netns/netns.ts";

/** One interface that announces itself and accepts its bridge neighbours' announcements. */
export interface Announcer {
  netns: string;
  ifname: string;
  mac: string;
  address: string;
}

/**
 * The interfaces that announce themselves (pure): each own-namespace, non-Docker container's
 * endpoint on a bridge network with an IPv4 subnet, on `host` (null: every host).
 */
export function announcers(model: Model, host: string | null): Announcer[] {
  const bridges = new Set(
    model.networks.filter((n) => n.driver === "bridge" && n.hasSubnet).map((n) => n.name),
  );
  return model.containers
    .filter((c) => c.mode.kind === "own" && c.runtime === "netns")
    .filter((c) => host === null || c.host === host)
    .flatMap((c) =>
      c.endpoints.flatMap((e) =>
        bridges.has(e.network) && e.address && e.hostIfname
          ? [{ netns: c.netns, ifname: e.ifname, mac: e.mac, address: e.address }]
          : []
      )
    );
}

function acceptKey(ifname: string): string {
  return `/proc/sys/net/ipv4/conf/${ifname}/arp_accept`;
}

/** Reads and writes `arp_accept` of `a` (inside its namespace); returns the value it replaced. */
function swapAccept(a: Announcer, value: string): string {
  return withNetns(a.netns, () => {
    const old = Deno.readTextFileSync(acceptKey(a.ifname)).trim();
    if (old !== value) Deno.writeTextFileSync(acceptKey(a.ifname), value);
    return old;
  });
}

/**
 * Sets `arp_accept` to 1 on every announcer, then sends each one's gratuitous ARP; returns the
 * function that puts every `arp_accept` back (call it once the lab has answered, so the
 * announcements have been received; it also waits for the announcing sockets to close). On a
 * failure midway, what was changed is put back and the error thrown.
 */
export function announceOnBridges(list: Announcer[]): () => Promise<void> {
  const changed: [Announcer, string][] = [];
  const closing: Promise<void>[] = [];
  const restore = async () => {
    for (const [a, old] of changed.splice(0)) swapAccept(a, old);
    await Promise.all(closing.splice(0));
  };
  try {
    for (const a of list) changed.push([a, swapAccept(a, "1")]);
    for (const a of list) closing.push(sendGarp(a.netns, a.ifname, a.mac, a.address));
  } catch (e) {
    void restore();
    throw e;
  }
  return restore;
}
