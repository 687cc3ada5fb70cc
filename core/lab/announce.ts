/**
 * What a host's part says to the other parts of its lab (core/lab/join.ts): one line on TCP
 * {@link JOIN_PORT} of its host's underlay address. A module of its own so that the supervisor,
 * which serves it, loads nothing of the asking side.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { Supervisor } from "../runtime/supervisor.ts";

/** TCP port of the part announcement (Docker's overlay control plane uses the same, 7946). */
export const JOIN_PORT = 7946;

/** The line a part answers with. */
export function announcement(lab: string, host: string, digest: string): string {
  return `nslab-part/${lab}/${host}/${digest}`;
}

/** Serves a part's announcement from its host's underlay address, until the supervisor stops. */
export async function announcePart(
  supervisor: Supervisor,
  model: Model,
  host: string,
  digest: string,
): Promise<void> {
  const h = model.hosts.find((x) => x.name === host)!;
  await supervisor.announce(h.netns, h.address, JOIN_PORT, announcement(model.lab, host, digest));
}
