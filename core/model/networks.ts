/**
 * Networks: the predefined ones (docker0, the project's default, docker_gwbridge), the
 * `networks:` section read into declarations (name, driver, Compose keys, external networks of
 * other labs; driver options in network_options.ts, IPv4 IPAM in network_ipam.ts). Subnets are
 * assigned in subnets.ts once membership is known; network_entry.ts makes the model's entry.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { ExternalNetwork, Network, SharedNetwork } from "./types.ts";
import { type Cidr, parseCidr, parseIp } from "./ip.ts";
import { DEFAULT_SUBNET } from "./ipam.ts";
import { type IpamConfig, readIpv4Ipam } from "./network_ipam.ts";
import {
  type OptionContext,
  readMacvlanOptions,
  readMtu,
  readOverlayOptions,
} from "./network_options.ts";
import { NETWORK_PATTERN, suggestion } from "./names.ts";
import { type IpamEntry, type Ipv6Decl, isIpv6Entry, readIpv6Config } from "./ipv6.ts";
import { readEnableIpv4 } from "./ipv6_only.ts";

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

const BRIDGE_NAME_KEY = "com.docker.network.bridge.name";
const HOST_BINDING_KEY = "com.docker.network.bridge.host_binding_ipv4";
const DRIVERS = ["bridge", "overlay", "macvlan"] as const;

/** A network as declared, before and after subnet assignment. */
export interface NetDecl {
  name: string;
  driver: "bridge" | "overlay" | "macvlan";
  internal: boolean;
  encrypted: boolean;
  enableIpv6: boolean;
  /** false for an IPv6-only network (`enable_ipv4: false`): no IPv4 subnet, gateway or address. */
  enableIpv4: boolean;
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
    enableIpv4: true,
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

/** Where declaring networks reports problems, and the VXLAN ids taken so far. */
interface DeclareContext extends OptionContext {
  project: string;
  /** Networks of other labs on the machine, for `external: true`. */
  shared: SharedNetwork[];
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
  const ctx: DeclareContext = { project, shared, diags, positions, vnis: new Map() };
  for (const [name, body] of Object.entries(raw ?? {})) {
    const path = ["networks", name];
    if (!checkNetworkName(name, path, ctx)) continue;
    if (body === undefined) continue;
    const n = declareNetwork(name, body, path, ctx);
    if (n) out.push(n);
  }
  return out;
}

/** A name the file may declare: not predefined, and made of the characters Docker allows. */
function checkNetworkName(
  name: string,
  path: (string | number)[],
  { diags, positions }: DeclareContext,
): boolean {
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
    return false;
  }
  if (!NETWORK_PATTERN.test(name)) {
    diags.error(
      positions.keyOf(path),
      `network name "${name}" has characters a network name cannot have`,
      "use letters, digits, '_', '.' and '-', starting with a letter or digit",
    );
    return false;
  }
  return true;
}

/**
 * One network's declaration: another lab's network when it is external and found, else the
 * network this lab builds; null when it cannot be built (reported).
 */
function declareNetwork(
  name: string,
  body: RawNetwork,
  path: (string | number)[],
  ctx: DeclareContext,
): NetDecl | null {
  const { diags, positions } = ctx;
  const n = blank(name, path);
  if (!readComposeKeys(n, body, ctx.project, diags, positions, ctx.shared)) {
    return n.external ? n : null; // another lab's network, joined as it is
  }
  const driver = readDriver(body.driver, path, ctx);
  if (driver === null) return null;
  n.driver = driver;
  n.internal = body.internal ?? false;
  n.encrypted = body.encrypted ?? false;
  n.enableIpv6 = body.enable_ipv6 ?? false;
  for (const [k, v] of Object.entries(body.driver_opts ?? {})) {
    if (v !== undefined) n.driverOpts[k] = v;
  }
  if (n.encrypted && n.driver !== "overlay") {
    diags.error(
      positions.of([...path, "encrypted"]),
      `encrypted is an overlay option, and network "${name}" uses driver ${n.driver}`,
      "remove encrypted, or use driver: overlay",
    );
  }
  n.mtu = readMtu(n.driverOpts, n.driver === "overlay", path, ctx);
  if (n.driver === "overlay") Object.assign(n, readOverlayOptions(n.driverOpts, name, path, ctx));
  if (n.driver === "macvlan") n.macvlan = readMacvlanOptions(n.driverOpts, path, ctx);
  const configs = (body.ipam?.config ?? []).map((c, i) => ({ c, i }))
    .filter((x) => x.c !== undefined) as (IpamEntry & { c: IpamConfig })[];
  n.v6 = readIpv6Config(name, path, n.enableIpv6, configs.filter(isIpv6Entry), diags, positions);
  const v4 = configs.filter((e) => !isIpv6Entry(e));
  n.enableIpv4 = readEnableIpv4(n, body.enable_ipv4, v4, diags, positions);
  if (n.enableIpv4) Object.assign(n, readIpv4Ipam(name, path, v4, diags, positions));
  return n;
}

/** The network's driver: bridge (the default), overlay or macvlan; null, reported, otherwise. */
function readDriver(
  text: string | undefined,
  path: (string | number)[],
  { diags, positions }: DeclareContext,
): NetDecl["driver"] | null {
  const driver = text ?? "bridge";
  if (driver === "ipvlan") {
    diags.error(
      positions.of([...path, "driver"]),
      "ipvlan is not available on this kernel (no ipvlan module)",
      "use driver: macvlan, which gives the same L2 presence on the underlay",
    );
    return null;
  }
  if (driver === "host" || driver === "none" || driver === "null") {
    diags.error(
      positions.of([...path, "driver"]),
      `driver "${driver}" cannot be used for a declared network`,
      `remove the network and set network_mode: ${driver === "null" ? "none" : driver} ` +
        "on the containers",
    );
    return null;
  }
  if (!(DRIVERS as readonly string[]).includes(driver)) {
    diags.error(
      positions.of([...path, "driver"]),
      `unknown network driver "${driver}"${suggestion(driver, DRIVERS)}`,
      "use bridge, overlay or macvlan",
    );
    return null;
  }
  return driver as NetDecl["driver"];
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

/**
 * The scope in which a network's addresses are unique: one per host for bridge networks (separate
 * Docker daemons), one for the whole lab otherwise.
 */
export function addressScope(net: NetDecl, host: string): string {
  return net.driver === "bridge" ? `${net.name}\0${host}` : net.name;
}
