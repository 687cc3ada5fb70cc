/**
 * `docker network ls` and `docker network inspect` for a lab: the rows of `ls` and the JSON of
 * `inspect`, in Docker's API shape (`api/types/network`), from the model alone.
 *
 * @module
 */

import type { Model, Network } from "../model/types.ts";
import { hashHex } from "../model/names.ts";
import { containerId, endpointId, findNetwork, membersOf } from "../model/network_ops.ts";

/** One IPAM config entry, as Docker prints it. */
export interface DockerIpamConfig {
  Subnet: string;
  IPRange?: string;
  Gateway?: string;
}

/** One attached container, as `docker network inspect` lists it under `Containers`. */
export interface DockerEndpointResource {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** `a.b.c.d/nn`. */
  IPv4Address: string;
  IPv6Address: string;
}

/** `docker network inspect` output for one network. */
export interface DockerNetwork {
  Name: string;
  Id: string;
  Created: string;
  Scope: "local" | "swarm";
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: "default"; Options: Record<string, string>; Config: DockerIpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, DockerEndpointResource>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** A row of `docker network ls`. */
export interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  scope: "local" | "swarm";
}

/** Docker-style network id: stable for the network's life (lab, name and creation time). */
export function networkId(model: Model, network: string, created: string): string {
  return hashHex("network", model.lab, network, created);
}

function scopeOf(n: Network): "local" | "swarm" {
  return n.scope === "global" ? "swarm" : "local";
}

/** Docker's driver options of a network: the file's `driver_opts`, plus the bridge name. */
function optionsOf(n: Network): Record<string, string> {
  const out: Record<string, string> = { ...n.driverOpts };
  if (n.driver === "bridge") {
    out["com.docker.network.bridge.name"] ??= n.bridge;
    if (n.isDefault) out["com.docker.network.bridge.default_bridge"] ??= "true";
  }
  if (n.mtu !== 1500 || n.driver === "overlay") {
    out["com.docker.network.driver.mtu"] ??= String(n.mtu);
  }
  if (n.vxlan) out["com.docker.network.driver.overlay.vxlanid_list"] ??= String(n.vxlan.vni);
  if (n.macvlan) {
    out.parent ??= n.macvlan.parent;
    out.macvlan_mode ??= n.macvlan.mode;
  }
  return out;
}

/**
 * The `docker network inspect NAME` object of one network. `created` is when the network was
 * made (RFC 3339), which also seeds its id.
 *
 * @example
 * ```ts
 * const j = inspectNetwork(model, "front", "2025-01-01T00:00:00.000Z");
 * console.log(j.IPAM.Config[0].Subnet, Object.keys(j.Containers).length);
 * ```
 */
export function inspectNetwork(model: Model, name: string, created: string): DockerNetwork {
  const n = findNetwork(model, name);
  const configs: DockerIpamConfig[] = [];
  if (n.enableIpv4 !== false) {
    const config: DockerIpamConfig = { Subnet: n.subnet };
    if (n.ipRange && n.ipRange !== n.subnet) config.IPRange = n.ipRange;
    if (n.gateway) config.Gateway = n.gateway;
    configs.push(config);
  }
  if (n.ipv6) {
    const v6: DockerIpamConfig = { Subnet: n.ipv6.subnet };
    if (n.ipv6.ipRange !== n.ipv6.subnet) v6.IPRange = n.ipv6.ipRange;
    if (n.ipv6.gateway) v6.Gateway = n.ipv6.gateway;
    configs.push(v6);
  }
  const containers: Record<string, DockerEndpointResource> = {};
  for (const c of membersOf(model, name)) {
    const ep = c.endpoints.find((e) => e.network === name)!;
    containers[containerId(model, c.name)] = {
      Name: c.name,
      EndpointID: endpointId(model, c.name, name),
      MacAddress: ep.mac,
      IPv4Address: ep.address === undefined ? "" : `${ep.address}/${ep.prefix}`,
      IPv6Address: ep.ipv6 ? `${ep.ipv6.address}/${ep.ipv6.prefix}` : "",
    };
  }
  return {
    Name: n.dockerName ?? n.name, // Docker's name: <project>_<key>, or the file's name:
    Id: networkId(model, n.name, created),
    Created: created,
    Scope: scopeOf(n),
    Driver: n.driver,
    EnableIPv4: n.enableIpv4 !== false,
    EnableIPv6: n.enableIpv6,
    IPAM: { Driver: "default", Options: {}, Config: configs },
    Internal: n.internal,
    Attachable: n.driver === "overlay",
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: optionsOf(n),
    Labels: {},
  };
}

/** The rows of `docker network ls`, sorted by name (Docker's order). */
export function listNetworks(
  model: Model,
  createdOf: (network: string) => string,
): NetworkRow[] {
  return model.networks.map((n) => ({
    id: networkId(model, n.name, createdOf(n.name)).slice(0, 12),
    name: n.name,
    driver: n.driver,
    scope: scopeOf(n),
  })).sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** `docker network ls` as a table: `NETWORK ID  NAME  DRIVER  SCOPE`. */
export function formatNetworkTable(rows: NetworkRow[]): string {
  const all = [
    ["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
    ...rows.map((r) => [r.id, r.name, r.driver, r.scope]),
  ];
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("   ").trimEnd()).join("\n");
}
