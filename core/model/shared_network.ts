/**
 * Shared network namespaces: `network_mode: container:X` / `service:X` resolved to the container
 * that owns the namespace, following chains and refusing cycles and unknown names.
 *
 * @module
 */

import type { Draft, ServiceContext } from "./containers.ts";
import { suggestion } from "./names.ts";

/**
 * Resolves `container:X` / `service:X` to the container whose namespace is shared (following
 * chains, refusing cycles and unknown names), and moves the sharer to X's host.
 */
export function resolveContainerModes(drafts: Draft[], ctx: ServiceContext): void {
  // container:NAME names a Docker container: Compose's name or container_name works too.
  const byName = new Map(drafts.flatMap((d) => [[d.composeName, d], [d.name, d]]));
  const firstOfService = new Map<string, Draft>();
  for (const d of drafts) if (!firstOfService.has(d.service)) firstOfService.set(d.service, d);
  const reported = new Set<string>();
  for (const d of drafts) {
    if (!d.modeRef) continue;
    const pos = ctx.positions.of([...d.path, "network_mode"]);
    const target = d.modeRef.service
      ? firstOfService.get(d.modeRef.target)
      : byName.get(d.modeRef.target) ??
        (firstOfService.get(d.modeRef.target)?.replicas === 1
          ? firstOfService.get(d.modeRef.target)
          : undefined);
    if (!target) {
      if (reported.has(d.service)) continue;
      reported.add(d.service);
      const candidates = d.modeRef.service ? [...firstOfService.keys()] : [...byName.keys()];
      ctx.diags.error(
        pos,
        `network_mode refers to ${d.modeRef.service ? "service" : "container"} ` +
          `"${d.modeRef.target}", which is not defined${suggestion(d.modeRef.target, candidates)}`,
        `use the name of a container in this file (${candidates.slice(0, 8).join(", ")})`,
      );
      continue;
    }
    // Follow chains to the namespace owner.
    let owner = target;
    const chain = [d.name];
    while (owner.modeRef && owner.mode.kind === "container") {
      if (chain.includes(owner.name)) break;
      chain.push(owner.name);
      const next = owner.modeRef.service
        ? firstOfService.get(owner.modeRef.target)
        : byName.get(owner.modeRef.target) ?? firstOfService.get(owner.modeRef.target);
      if (!next) break;
      owner = next;
    }
    if (chain.includes(owner.name) || owner.name === d.name) {
      const cycle = [...new Set([...chain, owner.name])].sort().join(" ");
      if (!reported.has(d.service) && !reported.has(cycle)) {
        reported.add(d.service);
        reported.add(cycle);
        ctx.diags.error(
          pos,
          `network_mode of "${d.name}" forms a cycle (${[...chain, owner.name].join(" → ")})`,
          "let one container of the cycle have its own network",
        );
      }
      continue;
    }
    d.mode = owner.mode.kind === "host" ? { kind: "host" } : { kind: "container", of: owner.name };
    if (d.host !== owner.host) {
      if (d.hostExplicit) {
        ctx.diags.error(
          ctx.positions.of([...d.path, "host"]),
          `"${d.name}" shares the network of "${owner.name}", which runs on host ${owner.host}, ` +
            `but is placed on host ${d.host}`,
          `remove host:, or set host: ${owner.host}`,
        );
      }
      d.host = owner.host;
    }
  }
}
