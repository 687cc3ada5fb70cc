/**
 * The one step `down` takes for a host bound to a machine NIC (`up --underlay-dev`), in a module
 * of its own so that `nslab down` loads only netlink for it.
 *
 * @module
 */

import { closeHandle, handleFor } from "../kernel/netlink/client.ts";
import { linkDel, linkGet } from "../kernel/netlink/link.ts";

/**
 * Removes a host namespace's `eth0` when it is a macvlan of a machine interface, before the
 * namespace goes: the kernel frees a deleted namespace's links later, on its own time, and until
 * then the old macvlan keeps the host's MAC on the NIC — a part brought up again at once would be
 * refused with EADDRINUSE. Deleting the link is synchronous. Best effort: a missing namespace or
 * link is fine.
 */
export function releaseMachineLink(hostNetns: string): void {
  try {
    const h = handleFor(hostNetns);
    const eth0 = linkGet(h, "eth0");
    if (eth0?.kind === "macvlan") linkDel(h, eth0.index);
  } catch {
    /* the namespace is gone already */
  } finally {
    closeHandle(hostNetns);
  }
}
