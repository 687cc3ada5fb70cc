/**
 * `docker network create|connect|disconnect|rm|prune` as pure functions on a resolved
 * {@link Model}: each takes the current model and returns a new one (the input is never changed),
 * or throws with Docker's error text where Docker has one.
 *
 * Nothing here re-implements IPAM or option parsing: network options go through the loader's
 * `declareNetworks`/`toNetwork`, pools through `firstFreePool`, addresses through `AddressPool`,
 * MACs through `macFromIp` and the default route through `defaultEndpointOf` — so a network made
 * here looks exactly like one declared in a file.
 *
 * @module
 */

import type { Container, Model, Network } from "./types.ts";
import { NslabError, UsageError } from "../errors.ts";
import { Diagnostics } from "./diagnostics.ts";
import { Positions } from "./positions.ts";
import { declareNetworks, GWBRIDGE, type NetDecl, PREDEFINED } from "./networks.ts";
import { toNetwork } from "./network_entry.ts";
import { firstFreePool, globalPools, localPools } from "./ipam.ts";
import { type Cidr, overlaps, parseCidr } from "./ip.ts";
import { defaultEndpointOf, ipv6DefaultEndpointOf } from "./default_route.ts";
import { hashHex, suggestion } from "./names.ts";
import {
  addEndpoint,
  cidrOf,
  clashes,
  declView,
  ensureGwbridge,
  fixedAddress,
  refreshHosts,
  refuseMode,
} from "./network_wiring.ts";

/** Options of {@link createNetwork}, as `docker network create` takes them. */
export interface NetworkCreateOptions {
  /** `--driver` (default bridge). */
  driver?: "bridge" | "overlay" | "macvlan";
  /** `--subnet`, e.g. `172.30.0.0/24`; default: the first free pool. */
  subnet?: string;
  /** `--gateway`; default: the first usable address (none for macvlan). */
  gateway?: string;
  /** `--ip-range`: where automatic addresses come from. */
  ipRange?: string;
  /** `--internal`: no route out of the network. */
  internal?: boolean;
  /** `-o k=v` driver options (`com.docker.network.driver.mtu`, `parent`, `vni`, …). */
  options?: Record<string, string>;
}

/** Options of {@link connectNetwork}, as `docker network connect` takes them. */
export interface NetworkConnectOptions {
  /** `--ip`: a fixed address inside the network's subnet. */
  ip?: string;
  /** `--alias` (repeatable): extra DNS names on this network. */
  aliases?: string[];
}

/** Networks `rm` refuses and `prune` skips (Docker's pre-defined ones, and nslab's gwbridge). */
export const PREDEFINED_NETWORKS: readonly string[] = PREDEFINED;

/** A copy of the model that the operations may change freely. */
function clone(model: Model): Model {
  return structuredClone(model);
}

/** The network `name`, or Docker's `network X not found` with a did-you-mean. */
export function findNetwork(model: Model, name: string): Network {
  const n = model.networks.find((x) => x.name === name);
  if (n) return n;
  const names = model.networks.map((x) => x.name);
  throw new NslabError(
    `network ${name} not found${suggestion(name, names)}; networks of lab "${model.lab}": ${
      names.join(", ") || "none"
    } (list them with "nslab network ls")`,
    1,
  );
}

/** The container `name`, or Docker's `No such container: X` with a did-you-mean. */
export function findContainer(model: Model, name: string): Container {
  const c = model.containers.find((x) => x.name === name);
  if (c) return c;
  const names = model.containers.map((x) => x.name);
  throw new NslabError(
    `No such container: ${name}${suggestion(name, names)}; containers of lab "${model.lab}": ${
      names.join(", ") || "none"
    } (list them with "nslab ps")`,
    1,
  );
}

/** Docker-style id of a container in a lab: 64 hex characters, stable for the lab's life. */
export function containerId(model: Model, container: string): string {
  return hashHex("container", model.lab, container);
}

/** Docker-style id of an endpoint (container × network). */
export function endpointId(model: Model, container: string, network: string): string {
  return hashHex("endpoint", model.lab, container, network);
}

/**
 * `docker network create NAME`: a new network with no members (it gets kernel objects on a host
 * when a container there connects). Subnet from the options or the first free pool (Docker's local
 * pools, 10.0.0.0/8 /24s for overlay, the underlay for macvlan), avoiding `reserved` (the machine's
 * routes).
 *
 * @throws {NslabError} `network with name X already exists`; `invalid pool request: Pool overlaps
 *   with other one on this address space`; `all predefined address pools have been fully
 *   subnetted`. {@link UsageError} (exit 2) for malformed options.
 * @example
 * ```ts
 * const next = createNetwork(model, "extra", { subnet: "172.30.0.0/24" });
 * ```
 */
export function createNetwork(
  model: Model,
  name: string,
  opts: NetworkCreateOptions = {},
  reserved: readonly string[] = [],
): Model {
  if (PREDEFINED.includes(name) || model.networks.some((n) => n.name === name)) {
    throw new NslabError(
      `network with name ${name} already exists; pick another name, or remove it first with ` +
        `"nslab network rm ${name}"`,
      1,
    );
  }
  const positions = new Positions(model.file);
  const decl = declareCreated(model, name, opts, positions);
  decl.subnet = createdSubnet(model, decl, opts, reserved);
  if (decl.gateway === null && decl.driver !== "macvlan") decl.gateway = decl.subnet.base + 1;
  if (decl.driver === "overlay" && decl.vni === null) {
    const used = new Set(model.networks.flatMap((n) => n.vxlan ? [n.vxlan.vni] : []));
    let vni = 4096;
    while (used.has(vni)) vni++;
    decl.vni = vni;
  } else if (decl.vni !== null) {
    const other = model.networks.find((n) => n.vxlan?.vni === decl.vni);
    if (other) {
      throw new NslabError(
        `vni ${decl.vni} is already used by overlay network "${other.name}"; ` +
          "give each overlay network its own vni, or leave -o vni out",
        1,
      );
    }
  }
  const next = clone(model);
  next.networks.push(toNetwork(decl, [], model.file, positions, null));
  return next;
}

/**
 * The options read as the loader reads a `networks:` entry, so a created network is checked
 * exactly as a declared one.
 *
 * @throws {UsageError} with every problem found.
 */
function declareCreated(
  model: Model,
  name: string,
  opts: NetworkCreateOptions,
  positions: Positions,
): NetDecl {
  const diags = new Diagnostics();
  const raw: Record<string, unknown> = {
    name, // `docker network create NAME` names it NAME, no project prefix
    driver: opts.driver ?? "bridge",
    internal: opts.internal ?? false,
    driver_opts: opts.options ?? {},
  };
  if (opts.subnet !== undefined || opts.gateway !== undefined || opts.ipRange !== undefined) {
    raw.ipam = {
      config: [{ subnet: opts.subnet, gateway: opts.gateway, ip_range: opts.ipRange }],
    };
  }
  const [decl] = declareNetworks(
    { [name]: raw } as Parameters<typeof declareNetworks>[0],
    model.lab,
    diags,
    positions,
  );
  if (diags.errors.length > 0 || !decl) {
    const lines = diags.errors.map((d) => `  - ${d.message}${d.hint ? ` — ${d.hint}` : ""}`);
    throw new UsageError(`Cannot create network "${name}":\n${lines.join("\n")}`);
  }
  return decl;
}

/**
 * The new network's subnet: `--subnet` unless it overlaps a network or the underlay, the
 * underlay for macvlan, else the first free pool avoiding `reserved` (the machine's routes).
 */
function createdSubnet(
  model: Model,
  decl: NetDecl,
  opts: NetworkCreateOptions,
  reserved: readonly string[],
): Cidr {
  const against = clashes(model, decl);
  if (decl.subnet) {
    const hit = against.find((c) => overlaps(c.cidr, decl.subnet!));
    if (hit) {
      throw new NslabError(
        `invalid pool request: Pool overlaps with other one on this address space ` +
          `(${opts.subnet} overlaps ${hit.what}); choose another --subnet, or leave it out to ` +
          "get a free one",
        1,
      );
    }
    return decl.subnet;
  }
  if (decl.driver === "macvlan") {
    decl.underlaySubnet = true;
    return cidrOf(model.underlay.subnet);
  }
  const avoid = [
    ...against.map((c) => c.cidr),
    ...reserved.flatMap((r) => {
      const p = parseCidr(r);
      return p.ok ? [p.cidr] : [];
    }),
  ];
  // macvlan networks sit on the underlay, which is already avoided.
  const pool = firstFreePool(decl.driver === "overlay" ? globalPools() : localPools(), avoid);
  if (!pool) {
    throw new NslabError(
      `all predefined address pools have been fully subnetted; give network "${decl.name}" a --subnet`,
      1,
    );
  }
  return pool;
}

/**
 * `docker network connect [--ip A] [--alias X] NET CONTAINER`: a new endpoint `eth<N>` with the
 * first free address (or `ip`), Docker's MAC, and the default route if the container had none.
 * An overlay also brings `docker_gwbridge` (Docker's way out for overlay containers).
 *
 * @throws {NslabError} `endpoint with name C already exists in network N`; `no configured subnet
 *   contains IP address X`; `Address already in use`; Docker's texts for the default network and
 *   for host/none/container: modes; `network X not found`, `No such container: X`.
 * @example
 * ```ts
 * const next = connectNetwork(model, "back", "web", { ip: "172.19.0.50", aliases: ["w"] });
 * ```
 */
export function connectNetwork(
  model: Model,
  network: string,
  container: string,
  opts: NetworkConnectOptions = {},
  reserved: readonly string[] = [],
): Model {
  findNetwork(model, network);
  findContainer(model, container);
  const next = clone(model);
  const net = findNetwork(next, network);
  const c = findContainer(next, container);
  refuseMode(c, "connected to");
  if (c.endpoints.some((e) => e.network === network)) {
    throw new NslabError(
      `endpoint with name ${container} already exists in network ${network}; ` +
        `disconnect it first with "nslab network disconnect ${network} ${container}"`,
      1,
    );
  }
  const aliases = [...new Set(opts.aliases ?? [])];
  if (net.isDefault && aliases.length > 0) {
    throw new NslabError(
      "network-scoped aliases are only supported for user-defined networks; connect to a " +
        "network you created, or leave --alias out",
      1,
    );
  }
  const ip = opts.ip === undefined ? null : fixedAddress(next, net, c, opts.ip);
  addEndpoint(next, c, net, ip, aliases);
  if (
    net.driver === "overlay" && !net.internal && !c.endpoints.some((e) => e.network === GWBRIDGE)
  ) {
    addEndpoint(next, c, ensureGwbridge(next, reserved), null, []);
  }
  setDefaultEndpoints(c, declView(next));
  refreshHosts(next);
  return next;
}

/**
 * `docker network disconnect NET CONTAINER`: removes the endpoint (other interfaces keep their
 * names); the default route moves to the next eligible endpoint. Leaving the last overlay also
 * leaves `docker_gwbridge`.
 *
 * @throws {NslabError} `container C is not connected to network N`, and lookups' errors.
 */
export function disconnectNetwork(model: Model, network: string, container: string): Model {
  findNetwork(model, network);
  findContainer(model, container);
  const next = clone(model);
  const c = findContainer(next, container);
  refuseMode(c, "disconnected from");
  if (!c.endpoints.some((e) => e.network === network)) {
    throw new NslabError(
      `container ${container} is not connected to network ${network}; its networks: ${
        c.endpoints.map((e) => e.network).join(", ") || "none"
      }`,
      1,
    );
  }
  c.endpoints = c.endpoints.filter((e) => e.network !== network);
  const overlays = c.endpoints.filter((e) => {
    const n = next.networks.find((x) => x.name === e.network)!;
    return n.driver === "overlay" && !n.internal;
  });
  if (overlays.length === 0 && network !== GWBRIDGE) {
    c.endpoints = c.endpoints.filter((e) => e.network !== GWBRIDGE);
  }
  setDefaultEndpoints(c, declView(next));
  refreshHosts(next);
  return next;
}

/** Containers with an endpoint on `network`. */
export function membersOf(model: Model, network: string): Container[] {
  return model.containers.filter((c) => c.endpoints.some((e) => e.network === network));
}

/**
 * `docker network rm NET…`: removes networks that have no endpoints. All names are checked before
 * anything is removed.
 *
 * @throws {NslabError} `X is a pre-defined network and cannot be removed`; `error while removing
 *   network: network X has active endpoints (name:"c1" id:"…")`; `network X not found`.
 */
export function removeNetworks(model: Model, names: string[]): Model {
  for (const name of names) {
    if (name === "bridge" || name === "host" || name === "none") {
      throw new NslabError(`${name} is a pre-defined network and cannot be removed`, 1);
    }
    const n = findNetwork(model, name);
    if (n.isDefault || n.name === GWBRIDGE) {
      throw new NslabError(`${name} is a pre-defined network and cannot be removed`, 1);
    }
    const members = membersOf(model, name);
    if (members.length > 0) {
      const list = members.map((c) => `(name:"${c.name}" id:"${containerId(model, c.name)}")`);
      throw new NslabError(
        `error while removing network: network ${name} has active endpoints ${list.join(", ")}; ` +
          `disconnect them first ("nslab network disconnect ${name} ${members[0].name}")`,
        1,
      );
    }
  }
  const next = clone(model);
  next.networks = next.networks.filter((n) => !names.includes(n.name));
  return next;
}

/**
 * `docker network prune`: removes every network "not referenced by any container" except the
 * pre-defined ones; returns the new model and the removed names (in model order).
 */
export function pruneNetworks(model: Model): { model: Model; removed: string[] } {
  const removed = model.networks.filter((n) =>
    !n.isDefault && n.name !== GWBRIDGE &&
    membersOf(model, n.name).length === 0
  ).map((n) => n.name);
  const next = clone(model);
  next.networks = next.networks.filter((n) => !removed.includes(n.name));
  return { model: next, removed };
}

/** Re-chooses the container's default endpoint(s) after its endpoints changed, as the loader does. */
function setDefaultEndpoints(c: Container, nets: Map<string, NetDecl>): void {
  c.defaultEndpoint = defaultEndpointOf(c.endpoints, nets);
  const v6 = ipv6DefaultEndpointOf(c.endpoints, nets, c.defaultEndpoint);
  if (v6 === undefined) delete c.defaultEndpoint6;
  else c.defaultEndpoint6 = v6;
}
