/**
 * Names a container is known by besides its own: Compose's container name as a DNS alias, and
 * `links:` (DNS answers on a user network, /etc/hosts lines on docker0), with `host-gateway`
 * written as docker0's address.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Container } from "./types.ts";
import type { Draft } from "./containers.ts";
import { formatIp } from "./ip.ts";
import { DEFAULT_SUBNET } from "./ipam.ts";
import { DOCKER0_NETWORK, type NetDecl } from "./networks.ts";
import { primaryAddress } from "./ipv6_only.ts";

/** The `extra_hosts` address Docker replaces with its host's address (docker0's gateway). */
export const HOST_GATEWAY = "host-gateway";

/**
 * Compose's container name (`<project>-<service>-<n>` or `container_name`) is a DNS name of the
 * container on each of its networks that has DNS (not docker0), as Docker's aliases are.
 */
export function addComposeNames(containers: Container[], nets: Map<string, NetDecl>): void {
  for (const c of containers) {
    const name = c.composeName;
    // A name with a label over 63 bytes cannot be asked in DNS (a long project's names).
    if (name === undefined || name === c.name || name.split(".").some((l) => l.length > 63)) {
      continue;
    }
    for (const e of c.endpoints) {
      if (nets.get(e.network)?.isDefault || nets.get(e.network)?.isGwbridge) continue;
      if (!e.aliases.includes(name)) e.aliases.push(name);
    }
  }
}

/**
 * `links: [db:database]`: `database` at db's address on the first network they share, seen by the
 * linking container only — answered by its embedded DNS on a user network, written into its
 * `/etc/hosts` on docker0 (Docker's legacy links).
 */
export function resolveLinks(
  containers: Container[],
  drafts: Draft[],
  diags: Diagnostics,
  positions: Positions,
): void {
  const firstOf = new Map<string, Container>();
  for (const c of containers) if (!firstOf.has(c.service)) firstOf.set(c.service, c);
  drafts.forEach((d, i) => {
    const c = containers[i];
    for (const link of d.keys.links) {
      const target = firstOf.get(link.service.toLowerCase()) ??
        containers.find((x) => x.composeName === link.service);
      if (target === undefined) {
        if (d.replica === null || d.replica === 1) {
          diags.error(
            positions.of(link.path),
            `service "${d.service}" depends on undefined service "${link.service}"`,
            `link to a service of this file (${[...firstOf.keys()].slice(0, 8).join(", ")})`,
          );
        }
        continue;
      }
      const owner = stackOwner(containers, c);
      const shared = owner.endpoints.map((e) =>
        target.endpoints.find((t) => t.network === e.network)
      )
        .find((t) => t !== undefined);
      if (shared === undefined) continue; // Docker resolves nothing across networks either
      if (shared.network === DOCKER0_NETWORK) {
        // Legacy links on docker0: /etc/hosts lines, as Docker writes them.
        const names = [...new Set([link.alias, link.service])];
        c.extraHosts = [
          ...(c.extraHosts ?? []),
          ...names.map((name) => ({ name, address: primaryAddress(shared) })),
        ];
      } else if (link.alias.toLowerCase() !== target.service) {
        c.links = [...(c.links ?? []), { name: link.alias, address: primaryAddress(shared) }];
      }
    }
    // The host answers on docker0's address from any of its containers (a local address of
    // the host namespace, reached through the container's default route).
    c.extraHosts = c.extraHosts?.map((h) =>
      h.address === HOST_GATEWAY ? { ...h, address: formatIp(DEFAULT_SUBNET.base + 1) } : h
    );
  });
}

/** The container whose network stack `c` uses: itself, or the one it shares (`container:X`). */
function stackOwner(containers: Container[], c: Container): Container {
  return c.mode.kind === "container"
    ? containers.find((x) => x.name === (c.mode as { of: string }).of) ?? c
    : c;
}
