/**
 * Shape-checked topology → resolved {@link Model}: lab name, hosts and underlay, networks and
 * their subnets, containers with addresses and ports, checks, warnings. Every problem is collected;
 * nothing here reads the machine (the caller passes the routes to avoid).
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Container, Model, PublishedPort, SharedNetwork } from "./types.ts";
import { type Cidr, formatCidr, formatIp, parseCidr, parseIp } from "./ip.ts";
import { uplinkName } from "./names.ts";
import { assignSubnets } from "./subnets.ts";
import {
  declareNetworks,
  DOCKER0_NETWORK,
  docker0Network,
  type NetDecl,
  PROJECT_NETWORK,
  projectNetwork,
} from "./networks.ts";
import { toNetwork } from "./network_entry.ts";
import { type Draft, expandServices, type RawService, type ServiceContext } from "./containers.ts";
import { resolveContainerModes } from "./shared_network.ts";
import { assignEndpoints, type Wiring } from "./endpoints.ts";
import { assignIpv6Subnets } from "./ipv6.ts";
import { applyDaemonIpv6, type RawDaemon } from "./daemon.ts";
import { formatCidr6 } from "./ip6.ts";
import { publishPorts } from "./publish.ts";
import { type CheckNames, type RawCheck, readChecks } from "./checks.ts";
import {
  type HostDraft,
  type PlacedHosts,
  placeOnUnderlay,
  type RawHosts,
  type RawUnderlay,
  readHosts,
  RESERVED_NAMES,
} from "./hosts.ts";
import { addComposeNames, resolveLinks } from "./links.ts";
import { labName, type LabNameSources } from "./lab_name.ts";
import { attachGwbridge, networkMembers, warnNetworkUse } from "./membership.ts";

/** Options of {@link resolveModel}. */
export interface ResolveOptions extends LabNameSources {
  /** Prefixes already routed on the machine, given the lab name (its own uplink route is not a clash). */
  reserved: (lab: string) => string[];
  /** Create the uplink from the root namespace (default true). */
  uplink: boolean;
  /** Networks of other labs on the machine, for `external: true` (default none). */
  shared?: SharedNetwork[];
}

/** The shape-checked file. */
interface Raw {
  name?: string;
  underlay?: RawUnderlay;
  hosts?: RawHosts;
  dns?: { upstream?: (string | undefined)[]; ttl?: number };
  networks?: Record<string, Record<string, unknown> | undefined>;
  containers?: Record<string, RawService | undefined>;
  services?: Record<string, RawService | undefined>;
  checks?: (RawCheck | undefined)[];
  daemon?: RawDaemon;
}

/** The machine's routes as prefixes (host bits cleared), for subnets to avoid. */
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
  const lab = labName(opts, raw.name, diags, positions);
  const reserved = reservedCidrs(opts.reserved(lab));

  // Hosts and underlay.
  const hostDrafts = readHosts(raw.hosts, diags, positions);
  const userNets = declareNetworks(
    raw.networks as Parameters<typeof declareNetworks>[0],
    lab,
    diags,
    positions,
    opts.shared,
  );
  const explicitSubnets = userNets.filter((n) => n.explicitSubnet && n.driver !== "macvlan")
    .map((n) => n.subnet!);
  const placed = placeOnUnderlay(
    lab,
    raw.underlay,
    hostDrafts,
    reserved,
    explicitSubnets,
    opts.uplink,
    diags,
    positions,
  );
  const hostNames = hostDrafts.map((h) => h.name);

  // Containers, and the networks they join.
  const { drafts, nets } = readContainers(raw, lab, hostDrafts, userNets, diags, positions);
  const byName = new Map(nets.map((n) => [n.name, n]));
  applyDaemonIpv6(raw.daemon, byName.get(DOCKER0_NETWORK)!, diags, positions);
  attachGwbridge(drafts, nets, byName);

  // Membership, subnets, addresses.
  const members = networkMembers(drafts, hostNames);
  assignSubnets(nets, members, placed.subnet, reserved, diags, positions);
  const ula = assignIpv6Subnets(lab, nets, members, diags, positions);
  applyHostBindings(drafts, byName);
  const wiring = assignEndpoints(
    lab,
    drafts,
    byName,
    {
      hosts: hostDrafts.map((h, i) => ({ name: h.name, address: placed.addresses[i] })),
      uplink: placed.uplink,
    },
    diags,
    positions,
  );
  const ports = publishPorts(drafts, diags, positions);
  warnNetworkUse(userNets, members, diags, positions);

  const containers = toContainers(lab, drafts, wiring, ports, positions);
  addComposeNames(containers, byName);
  resolveLinks(containers, drafts, diags, positions);
  const checks = readChecks(raw.checks, checkNames(containers, hostNames), diags, positions);
  const upstream = readUpstream(raw.dns?.upstream, diags, positions);

  return {
    lab,
    file: opts.file,
    underlay: underlayOf(lab, placed),
    hosts: placed.hosts,
    networks: nets.filter((n) => n.enableIpv4 ? n.subnet !== null : n.v6?.subnet).map((n) =>
      toNetwork(n, n.external ? [] : members.get(n.name) ?? [], opts.file, positions, ula)
    ),
    containers,
    checks,
    dns: { upstream, ttl: raw.dns?.ttl ?? 600 },
    ...(ula ? { ula: formatCidr6(ula) } : {}),
    ...(raw.containers === undefined ? { compose: true as const } : {}), // services: Compose
    warnings: warningsInFileOrder(diags),
  };
}

/** The model's underlay: the hosts' segment, and the uplink from the machine when there is one. */
function underlayOf(lab: string, placed: PlacedHosts): Model["underlay"] {
  return {
    netns: `${lab}-underlay`,
    subnet: formatCidr(placed.subnet),
    prefix: placed.subnet.prefix,
    bridge: "br0",
    uplink: placed.uplink === null ? null : {
      rootIfname: uplinkName(lab),
      underlayIfname: "uplink",
      address: formatIp(placed.uplink),
    },
  };
}

/** The warnings by line and column (those at one place in the order they were found). */
function warningsInFileOrder(diags: Diagnostics): Model["warnings"] {
  return diags.warnings.map((w, i) => ({ w, i }))
    .sort((a, b) => a.w.pos.line - b.w.pos.line || a.w.pos.col - b.w.pos.col || a.i - b.i)
    .map(({ w }) => w);
}

/** The containers expanded from the file's section, and every network that exists. */
interface ReadContainers {
  section: "containers" | "services";
  drafts: Draft[];
  /** docker0, the declared networks, and Compose's project network when a service uses it. */
  nets: NetDecl[];
}

/**
 * Expands `containers:` (or `services:`, its synonym) into drafts with their network modes
 * resolved and names checked, and adds the networks that exist without being declared.
 */
function readContainers(
  raw: Raw,
  lab: string,
  hostDrafts: HostDraft[],
  userNets: NetDecl[],
  diags: Diagnostics,
  positions: Positions,
): ReadContainers {
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
    hosts: hostDrafts.map((h) => h.name),
    // docker0 is not named under networks: (network_mode: bridge joins it), as in Compose.
    networks: nets.filter((n) => !n.isDefault).map((n) => n.name),
    unbuilt: Object.keys(raw.networks ?? {}).filter((k) => !nets.some((n) => n.name === k)),
    project: lab,
    diags,
    positions,
  };
  const drafts = expandServices(raw[section] ?? {}, ctx);
  resolveContainerModes(drafts, ctx);
  checkContainerNames(drafts, hostDrafts, section, diags, positions);
  // Compose's project network exists when a service uses it (declared or not); after the
  // declared ones, as Compose adds it.
  const usesProject = drafts.some((d) => d.attachments.some((a) => a.network === PROJECT_NETWORK));
  if (usesProject && !userNets.some((n) => n.name === PROJECT_NETWORK)) {
    nets.push(projectNetwork(lab));
  }
  return { section, drafts, nets };
}

/** The model's containers: each draft with its namespace, endpoints and published ports. */
function toContainers(
  lab: string,
  drafts: Draft[],
  wiring: Map<string, Wiring>,
  ports: Map<string, PublishedPort[]>,
  positions: Positions,
): Container[] {
  const netnsOf = new Map<string, string>();
  for (const d of drafts) {
    netnsOf.set(
      d.name,
      d.mode.kind === "host" ? `${lab}-${d.host}` : `${lab}-${d.name}`,
    );
  }
  return drafts.map((d) => {
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
      ...(w.defaultEndpoint6 === undefined ? {} : { defaultEndpoint6: w.defaultEndpoint6 }),
      pos: positions.keyOf(d.path),
      composeName: d.composeName,
      domainname: d.keys.domainname,
      extraHosts: d.keys.extraHosts,
      dns: d.keys.dns,
    };
  });
}

/** The names `checks:` may mention: containers, replicated services, hosts and aliases. */
function checkNames(containers: Container[], hostNames: string[]): CheckNames {
  const aliases = new Set<string>();
  for (const c of containers) {
    for (const e of c.endpoints) {
      for (const a of e.aliases) aliases.add(a);
      aliases.add(`${c.name}.${e.network}`);
      for (const a of e.aliases) aliases.add(`${a}.${e.network}`);
    }
  }
  return {
    containers: containers.map((c) => c.name),
    services: [...new Set(containers.filter((c) => c.replica !== null).map((c) => c.service))],
    hosts: hostNames,
    aliases: [...aliases],
  };
}

/** `dns.upstream`: the IPv4 resolvers names outside the lab are forwarded to. */
function readUpstream(
  raw: (string | undefined)[] | undefined,
  diags: Diagnostics,
  positions: Positions,
): string[] {
  const upstream: string[] = [];
  (raw ?? []).forEach((u, i) => {
    if (u === undefined) return;
    if (parseIp(u) === null) {
      diags.error(
        positions.of(["dns", "upstream", i]),
        `DNS upstream "${u}" is not an IPv4 address`,
        "e.g. upstream: [1.1.1.1]",
      );
    } else upstream.push(u);
  });
  return upstream;
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
 * Container names must not be reserved, nor taken by a host or another container: each becomes
 * the namespace `<lab>-<name>`.
 */
function checkContainerNames(
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
