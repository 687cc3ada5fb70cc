/**
 * Networks: the `networks:` section read into declarations (driver, options, explicit IPAM), then
 * subnets chosen from Docker's pools, overlaps refused per scope, and the final {@link Network}.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { ExternalNetwork, Network, SharedNetwork } from "./types.ts";
import {
  type Cidr,
  contains,
  containsCidr,
  formatCidr,
  formatIp,
  lastOf,
  overlaps,
  parseCidr,
  parseIp,
} from "./ip.ts";
import { DEFAULT_SUBNET, firstFreePool, globalPools, localPools } from "./ipam.ts";
import { ifnameFor, NETWORK_PATTERN, suggestion } from "./names.ts";
import {
  type IpamEntry,
  type Ipv6Decl,
  isIpv6Entry,
  readIpv6Config,
  toIpv6Network,
} from "./ipv6.ts";
import type { Cidr6 } from "./ip6.ts";

/** Name of Docker's default bridge network (docker0), as `docker network ls` shows it. */
export const DOCKER0_NETWORK = "bridge";
/**
 * Key of Compose's project network, `<project>_default`: joined by every service that names no
 * network, configurable as `networks: default:`.
 */
export const PROJECT_NETWORK = "default";
/** Name of the local bridge network that gives overlay containers their way out. */
export const GWBRIDGE = "docker_gwbridge";
/** Names a topology cannot declare. */
export const PREDEFINED = [DOCKER0_NETWORK, "host", "none", GWBRIDGE];

const MTU_KEY = "com.docker.network.driver.mtu";
const BRIDGE_NAME_KEY = "com.docker.network.bridge.name";
const HOST_BINDING_KEY = "com.docker.network.bridge.host_binding_ipv4";
const DRIVERS = ["bridge", "overlay", "macvlan"] as const;
const MACVLAN_MODES = ["bridge", "private", "vepa", "passthru"] as const;

/** A network as declared, before and after subnet assignment. */
export interface NetDecl {
  name: string;
  driver: "bridge" | "overlay" | "macvlan";
  internal: boolean;
  encrypted: boolean;
  enableIpv6: boolean;
  /** The IPv6 side when `enable_ipv6: true` (see `ipv6.ts`). */
  v6: Ipv6Decl | null;
  driverOpts: Record<string, string>;
  path: (string | number)[];
  /** Explicit or assigned subnet; null until assigned (or when the declaration is unusable). */
  subnet: Cidr | null;
  explicitSubnet: boolean;
  /** true when a macvlan network took the underlay's subnet by default. */
  underlaySubnet: boolean;
  gateway: number | null;
  ipRange: Cidr | null;
  mtu: number;
  vni: number | null;
  port: number;
  macvlan: NonNullable<Network["macvlan"]> | null;
  isDefault: boolean;
  isGwbridge: boolean;
  /** The name Docker gives it: `<project>_<key>`, or `name:`. */
  dockerName: string;
  /** `com.docker.network.bridge.name`, or null for the derived name. */
  bridgeName: string | null;
  /** `com.docker.network.bridge.host_binding_ipv4`: where ports without host_ip bind. */
  hostBinding: string | null;
  /** ipam `aux_addresses`: addresses IPAM never hands out, by name. */
  auxAddresses: Record<string, number>;
  /** `external: true` found on the machine: another lab's network this lab joins. */
  external?: ExternalNetwork;
}

interface IpamConfig {
  subnet?: string;
  gateway?: string;
  ip_range?: string;
  aux_addresses?: Record<string, string | undefined>;
}

interface RawNetwork {
  driver?: string;
  driver_opts?: Record<string, string | undefined>;
  ipam?: { config?: (IpamConfig | undefined)[] };
  internal?: boolean;
  name?: string;
  external?: boolean | { name?: string };
  encrypted?: boolean;
  enable_ipv6?: boolean;
  enable_ipv4?: boolean;
}

function blank(name: string, path: (string | number)[]): NetDecl {
  return {
    name,
    driver: "bridge",
    internal: false,
    encrypted: false,
    enableIpv6: false,
    v6: null,
    driverOpts: {},
    path,
    subnet: null,
    explicitSubnet: false,
    underlaySubnet: false,
    gateway: null,
    ipRange: null,
    mtu: 1500,
    vni: null,
    port: 4789,
    macvlan: null,
    isDefault: false,
    isGwbridge: false,
    dockerName: name,
    bridgeName: null,
    hostBinding: null,
    auxAddresses: {},
  };
}

/** Docker's default bridge network `bridge`: docker0, 172.17.0.0/16, gateway 172.17.0.1. */
export function docker0Network(): NetDecl {
  return {
    ...blank(DOCKER0_NETWORK, []),
    subnet: DEFAULT_SUBNET,
    explicitSubnet: true,
    gateway: DEFAULT_SUBNET.base + 1,
    isDefault: true,
  };
}

/** Compose's `<project>_default` network when the file does not declare `default`. */
export function projectNetwork(project: string): NetDecl {
  return {
    ...blank(PROJECT_NETWORK, ["networks", PROJECT_NETWORK]),
    dockerName: `${project}_default`,
  };
}

/** The `docker_gwbridge` network (subnet assigned with the other automatic ones). */
export function gwbridgeNetwork(): NetDecl {
  return { ...blank(GWBRIDGE, []), isGwbridge: true };
}

function cidrField(
  text: string,
  path: (string | number)[],
  what: string,
  diags: Diagnostics,
  positions: Positions,
): Cidr | null {
  const r = parseCidr(text);
  if (r.ok) {
    if (r.cidr.prefix > 30) {
      diags.error(
        positions.of(path),
        `${what} "${text}" is too small: a /${r.cidr.prefix} leaves no address for containers`,
        "use a prefix of /30 or shorter, e.g. /24",
      );
      return null;
    }
    return r.cidr;
  }
  if (r.reason === "ipv6") {
    diags.error(
      positions.of(path),
      `${what} "${text}" is IPv6, in the ipam config entry of the IPv4 subnet`,
      "put IPv6 values in their own ipam config entry, with an IPv6 subnet",
    );
  } else if (r.reason === "hostbits") {
    diags.error(
      positions.of(path),
      `invalid ${what} "${text}": it has host bits set`,
      `write it as ${r.normalized}`,
    );
  } else {
    diags.error(
      positions.of(path),
      `invalid ${what} "${text}": not an IPv4 prefix`,
      "write it as address/length, e.g. 172.20.0.0/24",
    );
  }
  return null;
}

function intOpt(
  value: string,
  min: number,
  max: number,
  path: (string | number)[],
  what: string,
  diags: Diagnostics,
  positions: Positions,
): number | null {
  if (/^\d+$/.test(value) && Number(value) >= min && Number(value) <= max) return Number(value);
  diags.error(
    positions.of(path),
    `${what} "${value}" must be a whole number between ${min} and ${max}`,
    `set it to a number in ${min}-${max}`,
  );
  return null;
}

/**
 * Reads the `networks:` section into declarations (file order), reporting bad names, drivers,
 * options and IPAM values. The `default` network is not included.
 */
export function declareNetworks(
  raw: Record<string, RawNetwork | undefined> | undefined,
  project: string,
  diags: Diagnostics,
  positions: Positions,
  shared: SharedNetwork[] = [],
): NetDecl[] {
  const out: NetDecl[] = [];
  const vnis = new Map<number, string>();
  for (const [name, body] of Object.entries(raw ?? {})) {
    const path = ["networks", name];
    if (PREDEFINED.includes(name)) {
      diags.error(
        positions.keyOf(path),
        `network "${name}" is predefined and cannot be declared` +
          (name === DOCKER0_NETWORK ? " (it is docker0, 172.17.0.0/16, on every host)" : ""),
        name === "host" || name === "none"
          ? `remove it and use network_mode: ${name} on the container`
          : name === DOCKER0_NETWORK
          ? "remove it and use network_mode: bridge on the containers that need docker0"
          : "remove it, or declare a network with another name",
      );
      continue;
    }
    if (!NETWORK_PATTERN.test(name)) {
      diags.error(
        positions.keyOf(path),
        `network name "${name}" has characters a network name cannot have`,
        "use letters, digits, '_', '.' and '-', starting with a letter or digit",
      );
      continue;
    }
    if (body === undefined) continue;
    const n = blank(name, path);
    if (!readComposeKeys(n, body, project, diags, positions, shared)) {
      if (n.external) out.push(n); // another lab's network, joined as it is
      continue;
    }
    const driver = body.driver ?? "bridge";
    if (driver === "ipvlan") {
      diags.error(
        positions.of([...path, "driver"]),
        "ipvlan is not available on this kernel (no ipvlan module)",
        "use driver: macvlan, which gives the same L2 presence on the underlay",
      );
      continue;
    }
    if (driver === "host" || driver === "none" || driver === "null") {
      diags.error(
        positions.of([...path, "driver"]),
        `driver "${driver}" cannot be used for a declared network`,
        `remove the network and set network_mode: ${driver === "null" ? "none" : driver} ` +
          "on the containers",
      );
      continue;
    }
    if (!(DRIVERS as readonly string[]).includes(driver)) {
      diags.error(
        positions.of([...path, "driver"]),
        `unknown network driver "${driver}"${suggestion(driver, DRIVERS)}`,
        "use bridge, overlay or macvlan",
      );
      continue;
    }
    n.driver = driver as NetDecl["driver"];
    n.internal = body.internal ?? false;
    n.encrypted = body.encrypted ?? false;
    n.enableIpv6 = body.enable_ipv6 ?? false;
    if (body.enable_ipv4 === false) {
      diags.error(
        positions.of([...path, "enable_ipv4"]),
        `network "${name}": IPv6-only networks (enable_ipv4: false) are not built yet`,
        "remove enable_ipv4: false; with enable_ipv6: true the network is dual-stack",
      );
    }
    for (const [k, v] of Object.entries(body.driver_opts ?? {})) {
      if (v !== undefined) n.driverOpts[k] = v;
    }
    const opts = n.driverOpts;
    const optPath = (k: string) => [...path, "driver_opts", k];
    if (n.encrypted && n.driver !== "overlay") {
      diags.error(
        positions.of([...path, "encrypted"]),
        `encrypted is an overlay option, and network "${name}" uses driver ${n.driver}`,
        "remove encrypted, or use driver: overlay",
      );
    }
    if (n.driver === "overlay") n.mtu = 1450;
    if (opts[MTU_KEY] !== undefined) {
      n.mtu = intOpt(opts[MTU_KEY], 68, 65535, optPath(MTU_KEY), "MTU", diags, positions) ?? n.mtu;
    }
    if (n.driver === "overlay") {
      if (opts.vni !== undefined) {
        const vni = intOpt(opts.vni, 1, 16777215, optPath("vni"), "vni", diags, positions);
        if (vni !== null && vnis.has(vni)) {
          diags.error(
            positions.of(optPath("vni")),
            `vni ${vni} is already used by overlay network "${vnis.get(vni)}"`,
            "give each overlay network its own vni, or leave vni out",
          );
        } else if (vni !== null) {
          vnis.set(vni, name);
          n.vni = vni;
        }
      }
      if (opts.port !== undefined) {
        n.port = intOpt(opts.port, 1024, 49151, optPath("port"), "VXLAN port", diags, positions) ??
          n.port;
      }
    }
    if (n.driver === "macvlan") {
      const parent = opts.parent ?? "eth0";
      const m = /^eth0(?:\.(\d{1,4}))?$/.exec(parent);
      const vlan = m && m[1] !== undefined ? Number(m[1]) : null;
      if (!m || (vlan !== null && (vlan < 1 || vlan > 4094))) {
        diags.error(
          positions.of(optPath("parent")),
          `macvlan parent "${parent}" is not usable: each host has only eth0 (its underlay link)`,
          "use parent: eth0, or eth0.<vlan> with a VLAN id 1-4094 (nslab creates the 802.1Q link)",
        );
      }
      const mode = opts.macvlan_mode ?? "bridge";
      if (!(MACVLAN_MODES as readonly string[]).includes(mode)) {
        diags.error(
          positions.of(optPath("macvlan_mode")),
          `unknown macvlan_mode "${mode}"${suggestion(mode, MACVLAN_MODES)}`,
          "use bridge, private, vepa or passthru",
        );
      }
      const shim = opts.host_shim ?? "false";
      if (shim !== "true" && shim !== "false") {
        diags.error(
          positions.of(optPath("host_shim")),
          `host_shim must be "true" or "false", not "${shim}"`,
          'write host_shim: "true" to let the host reach its macvlan containers',
        );
      }
      n.macvlan = {
        parent,
        vlan,
        mode: (MACVLAN_MODES as readonly string[]).includes(mode)
          ? mode as NonNullable<Network["macvlan"]>["mode"]
          : "bridge",
        hostShim: shim === "true",
      };
    }
    const configs = (body.ipam?.config ?? []).map((c, i) => ({ c, i }))
      .filter((x) => x.c !== undefined) as (IpamEntry & { c: IpamConfig })[];
    const v4 = configs.filter((e) => !isIpv6Entry(e));
    n.v6 = readIpv6Config(name, path, n.enableIpv6, configs.filter(isIpv6Entry), diags, positions);
    if (v4.length > 1) {
      diags.error(
        positions.of([...path, "ipam", "config", v4[1].i]),
        `network "${name}" has ${v4.length} IPv4 ipam configs; nslab supports one subnet per network`,
        "keep one ipam config entry",
      );
    }
    if (v4.length >= 1) {
      const { c, i } = v4[0];
      const cpath = [...path, "ipam", "config", i];
      if (c.subnet !== undefined) {
        n.subnet = cidrField(c.subnet, [...cpath, "subnet"], "subnet", diags, positions);
        n.explicitSubnet = n.subnet !== null;
      } else if (c.gateway !== undefined || c.ip_range !== undefined) {
        diags.error(
          positions.of(cpath),
          `network "${name}" sets ${
            c.gateway !== undefined ? "gateway" : "ip_range"
          } without subnet`,
          "add subnet: to the same ipam config entry",
        );
      }
      if (n.subnet && c.ip_range !== undefined) {
        const r = cidrField(c.ip_range, [...cpath, "ip_range"], "ip_range", diags, positions);
        if (r && !containsCidr(n.subnet, r)) {
          diags.error(
            positions.of([...cpath, "ip_range"]),
            `ip_range ${formatCidr(r)} is not inside subnet ${formatCidr(n.subnet)}`,
            `choose an ip_range inside ${formatCidr(n.subnet)}`,
          );
        } else if (r) n.ipRange = r;
      }
      if (n.subnet && c.gateway !== undefined) {
        const g = parseIp(c.gateway);
        const gpos = positions.of([...cpath, "gateway"]);
        if (g === null) {
          diags.error(
            gpos,
            `invalid gateway "${c.gateway}": not an IPv4 address`,
            "e.g. 172.20.0.1",
          );
        } else if (!contains(n.subnet, g)) {
          diags.error(
            gpos,
            `gateway ${c.gateway} is outside subnet ${formatCidr(n.subnet)}`,
            `use an address inside ${formatCidr(n.subnet)}, e.g. ${formatIp(n.subnet.base + 1)}`,
          );
        } else if (g === n.subnet.base || g === lastOf(n.subnet)) {
          diags.error(
            gpos,
            `gateway ${c.gateway} is the ${
              g === n.subnet.base ? "network" : "broadcast"
            } address ` +
              `of ${formatCidr(n.subnet)}`,
            `use a usable address, e.g. ${formatIp(n.subnet.base + 1)}`,
          );
        } else n.gateway = g;
      }
      if (n.subnet) readAuxAddresses(n, c.aux_addresses ?? {}, cpath, diags, positions);
    }
    out.push(n);
  }
  return out;
}

/**
 * Compose's keys of a network that are not about its driver: `name` (the name Docker gives it),
 * `external` (another running lab's network by its Docker name, else Compose's own error), the
 * bridge name and host binding of `driver_opts`. false: this lab does not build the network
 * (`n.external` set: it joins another lab's).
 */
function readComposeKeys(
  n: NetDecl,
  body: RawNetwork,
  project: string,
  diags: Diagnostics,
  positions: Positions,
  shared: SharedNetwork[],
): boolean {
  const external = body.external === true || typeof body.external === "object";
  const externalName = typeof body.external === "object" ? body.external.name : undefined;
  n.dockerName = externalName ?? body.name ?? (external ? n.name : `${project}_${n.name}`);
  if (external) {
    const found = shared.find((s) => s.name === n.dockerName && s.lab !== project);
    if (found) {
      joinShared(n, found);
      return false;
    }
    diags.error(
      positions.of([...n.path, "external"]),
      `network ${n.dockerName} declared as external, but could not be found`,
      "create it first: bring up the project that declares it (with name: " + n.dockerName +
        "), or nslab network create " + n.dockerName + " -p <running lab>; or remove external:",
    );
    return false;
  }
  const opts = body.driver_opts ?? {};
  const bridgeName = opts[BRIDGE_NAME_KEY];
  if (bridgeName !== undefined) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(bridgeName) || bridgeName.length > 15) {
      diags.error(
        positions.of([...n.path, "driver_opts", BRIDGE_NAME_KEY]),
        `bridge name "${bridgeName}" is not a valid interface name (at most 15 bytes)`,
        "use at most 15 letters, digits, '_', '.' or '-', e.g. br-lan",
      );
    } else n.bridgeName = bridgeName;
  }
  const binding = opts[HOST_BINDING_KEY];
  if (binding !== undefined) {
    if (parseIp(binding) === null) {
      diags.error(
        positions.of([...n.path, "driver_opts", HOST_BINDING_KEY]),
        `${HOST_BINDING_KEY} "${binding}" is not an IPv4 address`,
        "e.g. 127.0.0.1",
      );
    } else n.hostBinding = binding;
  }
  return true;
}

/**
 * An external network as the owning lab built it: its subnet and gateway, its addresses in use
 * kept from IPAM (as aux addresses), its internal flag and MTU; its bridge stays the owner's.
 */
function joinShared(n: NetDecl, s: SharedNetwork): void {
  n.external = { lab: s.lab, network: s.network, netns: s.netns, bridge: s.bridge };
  n.driver = "bridge";
  const cidr = parseCidr(s.subnet);
  n.subnet = cidr.ok ? cidr.cidr : null;
  n.explicitSubnet = true;
  n.gateway = s.gateway === "" ? null : parseIp(s.gateway);
  n.internal = s.internal;
  n.mtu = s.mtu;
  s.taken.forEach((ip, i) => {
    const a = parseIp(ip);
    if (a !== null) n.auxAddresses[`${s.lab}-${i}`] = a;
  });
}

function readAuxAddresses(
  n: NetDecl,
  aux: Record<string, string | undefined>,
  cpath: (string | number)[],
  diags: Diagnostics,
  positions: Positions,
): void {
  for (const [host, text] of Object.entries(aux)) {
    if (text === undefined) continue;
    const ip = parseIp(text);
    if (ip === null || !contains(n.subnet!, ip)) {
      diags.error(
        positions.of([...cpath, "aux_addresses", host]),
        ip === null
          ? `aux address "${text}" is not an IPv4 address`
          : `aux address ${text} is outside subnet ${formatCidr(n.subnet!)}`,
        `use an address inside ${formatCidr(n.subnet!)}`,
      );
    } else n.auxAddresses[host] = ip;
  }
}

/**
 * The scope in which a network's addresses are unique: one per host for bridge networks (separate
 * Docker daemons), one for the whole lab otherwise.
 */
export function addressScope(net: NetDecl, host: string): string {
  return net.driver === "bridge" ? `${net.name}\0${host}` : net.name;
}

/** Which hosts each network exists on (members' hosts), by network name. */
export type Membership = Map<string, string[]>;

function sharedHost(a: string[], b: string[]): string | null {
  return a.find((h) => b.includes(h)) ?? null;
}

/**
 * Refuses explicit subnets that overlap in one scope (overlay against everything; local networks
 * against each other and the underlay on a shared host), then gives every other network the first
 * free pool: local from Docker's local pools, overlay from 10.0.0.0/8, macvlan the underlay's
 * subnet. Sets default gateways.
 */
export function assignSubnets(
  nets: NetDecl[],
  members: Membership,
  underlay: Cidr,
  reserved: readonly Cidr[],
  diags: Diagnostics,
  positions: Positions,
): void {
  const hostsOf = (n: NetDecl) => members.get(n.name) ?? [];
  const explicit = nets.filter((n) => n.explicitSubnet && n.subnet);
  const where = (n: NetDecl) => positions.of([...n.path, "ipam", "config"]);
  for (let i = 0; i < explicit.length; i++) {
    const a = explicit[i];
    if (a.isDefault) continue;
    const aHosts = hostsOf(a);
    if (aHosts.length > 0 || a.driver === "overlay") {
      const clash = a.driver === "overlay" || a.driver === "bridge";
      if (clash && overlaps(a.subnet!, underlay)) {
        diags.error(
          where(a),
          `subnet ${formatCidr(a.subnet!)} of network "${a.name}" overlaps the underlay ` +
            `${formatCidr(underlay)} (the hosts' own segment)`,
          "give the network another subnet, or set underlay.subnet to a different range",
        );
      }
    }
    for (let j = 0; j < i; j++) {
      const b = explicit[j];
      if (!overlaps(a.subnet!, b.subnet!)) continue;
      let on: string | null = null;
      if (a.driver === "overlay" || b.driver === "overlay") on = "";
      else {
        if (
          a.driver === "macvlan" && b.driver === "macvlan" &&
          a.macvlan?.parent !== b.macvlan?.parent
        ) continue;
        on = sharedHost(aHosts, hostsOf(b));
      }
      if (on === null) continue;
      diags.error(
        where(a),
        `subnet ${formatCidr(a.subnet!)} of network "${a.name}" overlaps ` +
          `${formatCidr(b.subnet!)} of network "${b.name}"` +
          (on ? ` on host "${on}"` : " (overlay networks span every host)"),
        "give one of them a different subnet, or leave subnet out to let nslab pick a free one",
      );
    }
  }
  const avoid: Cidr[] = [underlay, ...reserved, ...explicit.map((n) => n.subnet!)];
  for (const n of nets) {
    if (n.subnet) continue;
    if (n.driver === "macvlan") {
      n.subnet = underlay;
      n.underlaySubnet = true;
      continue;
    }
    const pool = firstFreePool(n.driver === "overlay" ? globalPools() : localPools(), avoid);
    if (!pool) {
      diags.error(
        positions.keyOf(n.path),
        `no free subnet for network "${n.name}": all predefined address pools have been fully ` +
          "subnetted",
        "give the network an explicit subnet in ipam.config",
      );
      continue;
    }
    n.subnet = pool;
    avoid.push(pool);
  }
  for (const n of nets) {
    if (n.subnet && n.gateway === null && n.driver !== "macvlan") n.gateway = n.subnet.base + 1;
  }
  let vni = 4096;
  const used = new Set(nets.map((n) => n.vni).filter((v) => v !== null));
  for (const n of nets) {
    if (n.driver !== "overlay" || n.vni !== null) continue;
    while (used.has(vni)) vni++;
    n.vni = vni++;
  }
}

/** The final model entry of a declared network. */
export function toNetwork(
  n: NetDecl,
  hosts: string[],
  file: string,
  positions: Positions,
  ula: Cidr6 | null,
): Network {
  const ipv6 = toIpv6Network(n.v6, ula);
  const subnet = n.subnet!;
  const bridge = n.external
    ? n.external.bridge
    : n.isDefault
    ? "docker0"
    : n.bridgeName !== null
    ? n.bridgeName
    : n.isGwbridge
    ? GWBRIDGE
    : n.driver === "bridge"
    ? ifnameFor("br-", n.name)
    : n.driver === "overlay"
    ? ifnameFor("ov-", n.name)
    : "";
  return {
    name: n.name,
    driver: n.driver,
    scope: n.driver === "overlay" ? "global" : "local",
    internal: n.internal,
    hasSubnet: true,
    subnet: formatCidr(subnet),
    prefix: subnet.prefix,
    gateway: n.gateway === null ? "" : formatIp(n.gateway),
    ipRange: formatCidr(n.ipRange ?? subnet),
    isDefault: n.isDefault,
    dockerName: n.dockerName,
    bridge,
    mtu: n.mtu,
    enableIpv6: n.enableIpv6,
    ...(ipv6 ? { ipv6 } : {}),
    encrypted: n.encrypted,
    driverOpts: n.driverOpts,
    ...(n.external ? { external: n.external } : {}),
    vxlan: n.driver === "overlay"
      ? { vni: n.vni!, port: n.port, device: ifnameFor("vx-", n.name) }
      : null,
    macvlan: n.macvlan,
    hosts,
    pos: n.path.length === 0 ? { file, line: 1, col: 1 } : positions.keyOf(n.path),
  };
}
