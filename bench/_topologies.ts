/**
 * Generated topologies for the benchmarks.
 *
 * @module
 */

import type { TopologyInput } from "../core/model/load.ts";

/** N containers on one user bridge network on one host, each exposing port 80 (DNS on). */
export function singleBridge(n: number, name = "bench"): TopologyInput {
  const containers: Record<string, unknown> = {};
  for (let i = 1; i <= n; i++) containers[`c${i}`] = { networks: ["net"], expose: [80] };
  return { name, networks: { net: { driver: "bridge" } }, containers } as TopologyInput;
}

/** N containers over `hosts` hosts: every container on a shared overlay and on its host's bridge. */
export function multiHost(n: number, hosts: number, name = "bench"): TopologyInput {
  const hostMap: Record<string, unknown> = {};
  for (let h = 1; h <= hosts; h++) hostMap[`h${h}`] = {};
  const containers: Record<string, unknown> = {};
  for (let i = 1; i <= n; i++) {
    containers[`c${i}`] = {
      host: `h${1 + (i % hosts)}`,
      networks: ["mesh", "local"],
      expose: [80],
    };
  }
  return {
    name,
    hosts: hostMap,
    networks: {
      mesh: { driver: "overlay", ipam: { config: [{ subnet: "10.128.0.0/20" }] } },
      local: { driver: "bridge" },
    },
    containers,
  } as TopologyInput;
}
