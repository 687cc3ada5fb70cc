/**
 * Shape-checked topology → resolved {@link Model}: lab name, hosts and underlay, networks and
 * their subnets, containers with addresses and ports, checks, warnings. Every problem is collected;
 * nothing here reads the machine (the caller passes the routes to avoid).
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Container, Host, Model, SourcePos } from "./types.ts";
import {
  type Cidr,
  contains,
  enclosing,
  formatCidr,
  formatIp,
  lastOf,
  overlaps,
  parseCidr,
  parseIp,
} from "./ip.ts";
import { DEFAULT_SUBNET, firstFreePool, underlayPools } from "./ipam.ts";
import {
  byteLength,
  LAB_PATTERN,
  MAX_HOST,
  MAX_LAB,
  NAME_PATTERN,
  normalizeLabName,
  uplinkName,
} from "./names.ts";
import {
  assignSubnets,
  declareNetworks,
  DOCKER0_NETWORK,
  docker0Network,
  GWBRIDGE,
  gwbridgeNetwork,
  type NetDecl,
  PROJECT_NETWORK,
  projectNetwork,
  toNetwork,
} from "./networks.ts";
import { type Draft, expandServices, type RawService, type ServiceContext } from "./containers.ts";
import { resolveContainerModes } from "./shared_network.ts";
import { assignEndpoints } from "./endpoints.ts";
import { assignIpv6Subnets } from "./ipv6.ts";
import { formatCidr6 } from "./ip6.ts";
import { type HostPlacement, readPlacement } from "./placement.ts";
import { publishPorts } from "./publish.ts";
import { type RawCheck, readChecks } from "./checks.ts";

/** Options of {@link resolveModel}. */
export interface ResolveOptions {
  file: string;
  /** `-p/--project-name`: wins over everything else. */
  project?: string;
  /** `COMPOSE_PROJECT_NAME` (environment or env file): wins over `name:`, as in Compose. */
  envProject?: string | null;
  /** Prefixes already routed on the machine, given the lab name (its own uplink route is not a clash). */
  reserved: (lab: string) => string[];
  /** Create the uplink from the root namespace (default true). */
  uplink: boolean;
  /** Fallback lab name (the file's folder), already normalised; null when there is none. */
  folderName: string | null;
}

/** The `extra_hosts` address Docker replaces with its host's address (docker0's gateway). */
const HOST_GATEWAY = "host-gateway";

/** Name of the single host when `hosts:` is omitted. */
export const DEFAULT_HOST = "host";
/** Names no host or container may take. */
export const RESERVED_NAMES = ["underlay", "outside"];

/** The shape-checked file. */
interface Raw {
  name?: string;
  underlay?: { subnet?: string };
  hosts?: Record<string, { address?: string; underlay_dev?: string; node?: string } | undefined>;
  dns?: { upstream?: (string | undefined)[]; ttl?: number };
  networks?: Record<string, Record<string, unknown> | undefined>;
  containers?: Record<string, RawService | undefined>;
  services?: Record<string, RawService | undefined>;
  checks?: (RawCheck | undefined)[];
}

function labName(raw: Raw, opts: ResolveOptions, diags: Diagnostics, positions: Positions): string {
  const top: SourcePos = { file: opts.file, line: 1, col: 1 };
  let name: string;
  let pos: SourcePos;
  let from: string;
  if (opts.project !== undefined) {
    [name, pos, from] = [opts.project, top, "the project name (-p)"];
  } else if (opts.envProject) {
    [name, pos, from] = [opts.envProject, top, "COMPOSE_PROJECT_NAME"];
  } else if (raw.name !== undefined) {
    [name, pos, from] = [raw.name, positions.of(["name"]), "name"];
  } else if (opts.folderName !== null) {
    [name, pos, from] = [opts.folderName, top, "the folder name"];
  } else {
    diags.error(
      top,
      "the lab has no name",
      "set name: in the topology, or pass a name (-p NAME, or Lab.up(topology, { name }))",
    );
    return "lab";
  }
  if (name === "") {
    diags.error(pos, `${from} is empty`, "use a short name such as shop");
    return "lab";
  }
  if (!LAB_PATTERN.test(name)) {
    const fixed = normalizeLabName(name);
    diags.error(
      pos,
      `${from} "${name}" must contain only lowercase letters, digits, dashes and underscores ` +
        "and start with a letter or digit",
      fixed ? `use "${fixed}"` : "use a short name such as shop",
    );
    return "lab";
  }
  if (byteLength(name) > MAX_LAB) {
    diags.error(
      pos,
      `${from} "${name.slice(0, 40)}…" is ${byteLength(name)} bytes; lab names are at most ` +
        `${MAX_LAB} (the namespace <lab>-<container> must fit a file name of /run/netns)`,
      "use a shorter name" + (from === "the folder name" ? " with name: or -p" : ""),
    );
  }
  return name;
}

interface HostDraft {
  name: string;
  address: number | null;
  /** Where the host's part runs on real machines (only when the file says). */
  placement: HostPlacement;
  path: (string | number)[];
}

function readHosts(raw: Raw, diags: Diagnostics, positions: Positions): HostDraft[] {
  if (raw.hosts === undefined || Object.keys(raw.hosts).length === 0) {
    if (raw.hosts !== undefined) {
      diags.error(
        positions.of(["hosts"]),
        "hosts: is empty",
        "declare at least one host (hosts: { h1: {} }), or remove hosts: to get one host",
      );
    }
    return [{ name: DEFAULT_HOST, address: null, placement: {}, path: [] }];
  }
  const out: HostDraft[] = [];
  for (const [name, body] of Object.entries(raw.hosts)) {
    const path = ["hosts", name];
    if (!NAME_PATTERN.test(name) || byteLength(name) > MAX_HOST) {
      diags.error(
        positions.keyOf(path),
        `host name "${name}" cannot be used: it becomes the interface name u-${name} (≤ 15 bytes)` +
          " and the namespace <lab>-" + name,
        `use at most ${MAX_HOST} lowercase letters, digits, '_', '.' or '-', starting with a ` +
          "letter or digit",
      );
      continue;
    }
    if (RESERVED_NAMES.includes(name)) {
      diags.error(
        positions.keyOf(path),
        `host name "${name}" is reserved`,
        "choose another name (underlay is the hosts' segment, outside the machine's root namespace)",
      );
      continue;
    }
    let address: number | null = null;
    if (body?.address !== undefined) {
      address = parseIp(body.address);
      if (address === null) {
        diags.error(
          positions.of([...path, "address"]),
          `invalid host address "${body.address}": not an IPv4 address`,
          "e.g. address: 10.77.0.12",
        );
      }
    }
    out.push({ name, address, placement: readPlacement(body, path, diags, positions), path });
  }
  return out;
}

function chooseUnderlay(
  raw: Raw,
  hosts: HostDraft[],
  avoid: Cidr[],
  diags: Diagnostics,
  positions: Positions,
): Cidr {
  if (raw.underlay?.subnet !== undefined) {
    const r = parseCidr(raw.underlay.subnet);
    const pos = positions.of(["underlay", "subnet"]);
    if (r.ok && r.cidr.prefix <= 29) return r.cidr;
    diags.error(
      pos,
      r.ok
        ? `underlay subnet ${raw.underlay.subnet} is too small for the hosts and the uplink`
        : r.reason === "hostbits"
        ? `invalid underlay subnet "${raw.underlay.subnet}": it has host bits set`
        : r.reason === "ipv6"
        ? "an IPv6 underlay is not supported yet"
        : `invalid underlay subnet "${raw.underlay.subnet}": not an IPv4 prefix`,
      r.ok || r.reason !== "hostbits"
        ? "e.g. underlay: { subnet: 10.77.0.0/24 }"
        : `write ${r.normalized}`,
    );
  }
  const given = hosts.find((h) => h.address !== null);
  if (given) return enclosing(given.address!, 24);
  return firstFreePool(underlayPools(), avoid) ?? enclosing(parseIp("10.77.0.0")!, 24);
}

function placeHosts(
  hosts: HostDraft[],
  subnet: Cidr,
  uplink: number | null,
  diags: Diagnostics,
  positions: Positions,
): number[] {
  const taken = new Map<number, string>();
  if (uplink !== null) taken.set(uplink, "the uplink");
  const out: number[] = [];
  for (const h of hosts) {
    if (h.address === null) continue;
    const pos = positions.of([...h.path, "address"]);
    if (!contains(subnet, h.address)) {
      diags.error(
        pos,
        `host address ${formatIp(h.address)} is outside the underlay ${formatCidr(subnet)}`,
        `use an address inside ${formatCidr(subnet)}, or set underlay.subnet to hold it`,
      );
    } else if (h.address === subnet.base || h.address === lastOf(subnet)) {
      diags.error(
        pos,
        `host address ${formatIp(h.address)} is the ${
          h.address === subnet.base ? "network" : "broadcast"
        } address of the underlay ${formatCidr(subnet)}`,
        "use a usable address, e.g. the .11",
      );
    } else if (taken.has(h.address)) {
      diags.error(
        pos,
        `host address ${formatIp(h.address)} is already used by ${taken.get(h.address)}`,
        "give each host its own address",
      );
    } else taken.set(h.address, `host ${h.name}`);
  }
  // Hosts start at .11 (room for hand-placed gear below), or at .1 in a small underlay.
  let next = subnet.prefix <= 27 ? subnet.base + 11 : subnet.base + 1;
  for (const h of hosts) {
    if (h.address !== null) {
      out.push(h.address);
      continue;
    }
    while (taken.has(next) && next < lastOf(subnet)) next++;
    if (next >= lastOf(subnet)) {
      diags.error(
        positions.keyOf(h.path),
        `no free underlay address for host ${h.name} in ${formatCidr(subnet)}`,
        "use a larger underlay.subnet",
      );
      out.push(subnet.base + 1);
      continue;
    }
    taken.set(next, `host ${h.name}`);
    out.push(next++);
  }
  return out;
}

function hostMac(address: number): string {
  return [0x02, 0x4e, address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join(":");
}

function reservedCidrs(list: string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const text of list) {
    const r = parseCidr(text);
    if (r.ok) out.push(r.cidr);
    else if (r.reason === "hostbits") {
      const fixed = parseCidr(r.normalized!);
      if (fixed.ok) out.push(fixed.cidr);
    }
  }
  return out;
}

/**
 * Resolves a shape-checked topology into a {@link Model}; returns null only when errors were
 * recorded (the caller throws them).
 */
export function resolveModel(
  rawValue: Record<string, unknown>,
  opts: ResolveOptions,
  diags: Diagnostics,
  positions: Positions,
): Model {
  const raw = rawValue as Raw;
  const lab = labName(raw, opts, diags, positions);
  const reserved = reservedCidrs(opts.reserved(lab));

  // Hosts and underlay.
  const hostDrafts = readHosts(raw, diags, positions);
  const userNets = declareNetworks(
    raw.networks as Parameters<typeof declareNetworks>[0],
    lab,
    diags,
    positions,
  );
  const explicitSubnets = userNets.filter((n) => n.explicitSubnet && n.driver !== "macvlan")
    .map((n) => n.subnet!);
  const underlay = chooseUnderlay(
    raw,
    hostDrafts,
    [...reserved, ...explicitSubnets],
    diags,
    positions,
  );
  let uplinkIp: number | null = opts.uplink ? lastOf(underlay) - 1 : null;
  if (uplinkIp !== null && raw.underlay?.subnet !== undefined) {
    const clash = reserved.find((r) => overlaps(r, underlay));
    if (clash) {
      diags.warn(
        positions.of(["underlay", "subnet"]),
        `no uplink: the machine already routes ${formatCidr(clash)}, which overlaps the underlay ` +
          `${formatCidr(underlay)} (another lab or a real network); the lab runs without one`,
      );
      uplinkIp = null;
    }
  }
  const hostAddrs = placeHosts(hostDrafts, underlay, uplinkIp, diags, positions);
  const hosts: Host[] = hostDrafts.map((h, i) => ({
    name: h.name,
    netns: `${lab}-${h.name}`,
    address: formatIp(hostAddrs[i]),
    mac: hostMac(hostAddrs[i]),
    underlayIfname: `u-${h.name}`,
    ...h.placement,
  }));
  const hostNames = hostDrafts.map((h) => h.name);

  // Containers.
  if (raw.containers !== undefined && raw.services !== undefined) {
    diags.error(
      positions.keyOf(["services"]),
      "both containers: and services: are present; they are synonyms",
      "merge them into one section",
    );
  }
  const section = raw.containers !== undefined ? "containers" : "services";
  const nets: NetDecl[] = [docker0Network(), ...userNets];
  const ctx: ServiceContext = {
    section,
    hosts: hostNames,
    // docker0 is not named under networks: (network_mode: bridge joins it), as in Compose.
    networks: nets.filter((n) => !n.isDefault).map((n) => n.name),
    project: lab,
    diags,
    positions,
  };
  const drafts = expandServices(raw[section] ?? {}, ctx);
  resolveContainerModes(drafts, ctx);
  checkNames(drafts, hostDrafts, section, diags, positions);
  // Compose's project network exists when a service uses it (declared or not); after the
  // declared ones, as Compose adds it.
  const usesProject = drafts.some((d) => d.attachments.some((a) => a.network === PROJECT_NETWORK));
  if (usesProject && !userNets.some((n) => n.name === PROJECT_NETWORK)) {
    nets.push(projectNetwork(lab));
  }

  // Overlay containers get a way out through docker_gwbridge, as in Docker.
  const byName = new Map(nets.map((n) => [n.name, n]));
  let gw: NetDecl | null = null;
  for (const d of drafts) {
    const needs = d.attachments.some((a) => {
      const n = byName.get(a.network);
      return n?.driver === "overlay" && !n.internal;
    });
    if (!needs) continue;
    if (!gw) {
      gw = gwbridgeNetwork();
      nets.push(gw);
      byName.set(GWBRIDGE, gw);
    }
    d.attachments.push({
      network: GWBRIDGE,
      aliases: [],
      ipv4: null,
      ipv4Base: null,
      ipv6: null,
      ipv6Base: null,
      mac: null,
      priority: -Infinity,
      gwPriority: 0,
      interfaceName: null,
      path: d.path,
    });
  }

  // Membership, subnets, addresses.
  const members = new Map<string, string[]>();
  for (const d of drafts) {
    for (const a of d.attachments) {
      const list = members.get(a.network) ?? [];
      if (!list.includes(d.host)) list.push(d.host);
      members.set(a.network, list);
    }
  }
  // `host-gateway` is docker0's address, as in Docker: docker0 exists on hosts that need it.
  for (const d of drafts) {
    if (!d.keys.extraHosts.some((h) => h.address === HOST_GATEWAY)) continue;
    const list = members.get(DOCKER0_NETWORK) ?? [];
    if (!list.includes(d.host)) members.set(DOCKER0_NETWORK, [...list, d.host]);
  }
  for (const [k, list] of members) members.set(k, hostNames.filter((h) => list.includes(h)));
  assignSubnets(nets, members, underlay, reserved, diags, positions);
  const ula = assignIpv6Subnets(lab, nets, members, diags, positions);
  applyHostBindings(drafts, byName);
  const wiring = assignEndpoints(
    lab,
    drafts,
    byName,
    {
      hosts: hostDrafts.map((h, i) => ({ name: h.name, address: hostAddrs[i] })),
      uplink: uplinkIp,
    },
    diags,
    positions,
  );
  const ports = publishPorts(drafts, diags, positions);

  // Warnings about networks.
  for (const n of userNets) {
    const on = members.get(n.name) ?? [];
    if (on.length === 0 && n.name !== PROJECT_NETWORK) {
      diags.warn(positions.keyOf(n.path), `network "${n.name}" is not used by any container`);
    } else if (n.driver === "overlay" && on.length === 1) {
      diags.warn(
        positions.keyOf(n.path),
        `overlay network "${n.name}" has containers on one host only (${on[0]}); ` +
          "a bridge network would do, or place a container on another host",
      );
    }
  }

  const netnsOf = new Map<string, string>();
  for (const d of drafts) {
    netnsOf.set(
      d.name,
      d.mode.kind === "host" ? `${lab}-${d.host}` : `${lab}-${d.name}`,
    );
  }
  const containers: Container[] = drafts.map((d) => {
    const w = wiring.get(d.name) ?? { endpoints: [], defaultEndpoint: -1 };
    return {
      name: d.name,
      service: d.service,
      replica: d.replica,
      host: d.host,
      netns: d.mode.kind === "container"
        ? netnsOf.get(d.mode.of) ?? `${lab}-${d.mode.of}`
        : netnsOf.get(d.name)!,
      mode: d.mode,
      hostname: d.hostname,
      endpoints: w.endpoints,
      ports: ports.get(d.name) ?? [],
      expose: d.expose,
      command: d.command,
      environment: d.environment,
      runtime: d.runtime,
      image: d.image,
      restart: d.restart,
      defaultEndpoint: w.defaultEndpoint,
      pos: positions.keyOf(d.path),
      composeName: d.composeName,
      domainname: d.keys.domainname,
      extraHosts: d.keys.extraHosts,
      dns: d.keys.dns,
    };
  });
  addComposeNames(containers, byName);
  resolveLinks(containers, drafts, diags, positions);

  const aliases = new Set<string>();
  for (const c of containers) {
    for (const e of c.endpoints) {
      for (const a of e.aliases) aliases.add(a);
      aliases.add(`${c.name}.${e.network}`);
      for (const a of e.aliases) aliases.add(`${a}.${e.network}`);
    }
  }
  const checks = readChecks(
    raw.checks,
    {
      containers: containers.map((c) => c.name),
      services: [...new Set(containers.filter((c) => c.replica !== null).map((c) => c.service))],
      hosts: hostNames,
      aliases: [...aliases],
    },
    diags,
    positions,
  );

  const upstream: string[] = [];
  (raw.dns?.upstream ?? []).forEach((u, i) => {
    if (u === undefined) return;
    if (parseIp(u) === null) {
      diags.error(
        positions.of(["dns", "upstream", i]),
        `DNS upstream "${u}" is not an IPv4 address`,
        "e.g. upstream: [1.1.1.1]",
      );
    } else upstream.push(u);
  });

  return {
    lab,
    file: opts.file,
    underlay: {
      netns: `${lab}-underlay`,
      subnet: formatCidr(underlay),
      prefix: underlay.prefix,
      bridge: "br0",
      uplink: uplinkIp === null
        ? null
        : { rootIfname: uplinkName(lab), underlayIfname: "uplink", address: formatIp(uplinkIp) },
    },
    hosts,
    networks: nets.filter((n) => n.subnet !== null).map((n) =>
      toNetwork(n, members.get(n.name) ?? [], opts.file, positions, ula)
    ),
    containers,
    checks,
    dns: { upstream, ttl: raw.dns?.ttl ?? 600 },
    ...(ula ? { ula: formatCidr6(ula) } : {}),
    warnings: diags.warnings.map((w, i) => ({ w, i }))
      .sort((a, b) => a.w.pos.line - b.w.pos.line || a.w.pos.col - b.w.pos.col || a.i - b.i)
      .map(({ w }) => w),
  };
}

/**
 * `com.docker.network.bridge.host_binding_ipv4` of a container's primary network is the address
 * its ports bind when the file names none (Docker's rule; otherwise 0.0.0.0).
 */
function applyHostBindings(drafts: Draft[], nets: Map<string, NetDecl>): void {
  for (const d of drafts) {
    const binding = d.attachments.length > 0
      ? nets.get(d.attachments[0].network)?.hostBinding
      : null;
    if (!binding) continue;
    for (const p of d.ports) if (p.req.anyHost) p.req.hostIp = binding;
  }
}

/**
 * Compose's container name (`<project>-<service>-<n>` or `container_name`) is a DNS name of the
 * container on each of its networks that has DNS (not docker0), as Docker's aliases are.
 */
function addComposeNames(containers: Container[], nets: Map<string, NetDecl>): void {
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
function resolveLinks(
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
          ...names.map((name) => ({ name, address: shared.address })),
        ];
      } else if (link.alias.toLowerCase() !== target.service) {
        c.links = [...(c.links ?? []), { name: link.alias, address: shared.address }];
      }
    }
    // The host answers on docker0's address from any of its containers (a local address of
    // the host namespace, reached through the container's default route).
    c.extraHosts = c.extraHosts?.map((h) =>
      h.address === HOST_GATEWAY ? { ...h, address: formatIp(DEFAULT_SUBNET.base + 1) } : h
    );
  });
}

function stackOwner(containers: Container[], c: Container): Container {
  return c.mode.kind === "container"
    ? containers.find((x) => x.name === (c.mode as { of: string }).of) ?? c
    : c;
}

function checkNames(
  drafts: Draft[],
  hosts: HostDraft[],
  section: string,
  diags: Diagnostics,
  positions: Positions,
): void {
  const owner = new Map<string, string>();
  for (const h of hosts) owner.set(h.name, `host ${h.name}`);
  const reported = new Set<string>();
  for (const d of drafts) {
    const pos = positions.keyOf(d.path);
    if (RESERVED_NAMES.includes(d.name) && !reported.has(d.service)) {
      reported.add(d.service);
      diags.error(pos, `container name "${d.name}" is reserved`, "choose another name");
      continue;
    }
    const prev = owner.get(d.name);
    if (prev !== undefined && !reported.has(d.service)) {
      reported.add(d.service);
      diags.error(
        pos,
        `container name "${d.name}" is already taken by ${prev}: both would be namespace <lab>-${d.name}`,
        `rename one of them in ${section}:` +
          (d.replica !== null ? " (replicas are named <service>-<n>)" : ""),
      );
      continue;
    }
    owner.set(
      d.name,
      d.replica !== null ? `replica ${d.name} of "${d.service}"` : `container ${d.name}`,
    );
  }
}
