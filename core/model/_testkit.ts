/**
 * Test helper shared by every hand-built test model (checks, firewall, DNS, graph): one default
 * per {@link Model} field, so a field added to the model is added here once. Each builder takes
 * the fields that matter to a test and fills the rest; the compact descriptions of each area's
 * tests (`checks/_model_testkit.ts`, `plan/firewall/_testmodel.ts`, `dns/_testmodel.ts`,
 * `graph/_sample.ts`) are thin layers over these.
 *
 * @module
 */

import type {
  Container,
  Driver,
  Endpoint,
  Host,
  Model,
  Network,
  PublishedPort,
  SourcePos,
} from "./types.ts";

/** Where hand-built objects say they come from. */
export const TEST_POS: SourcePos = { file: "test.yaml", line: 1, col: 1 };

/** A network of `driver`: no subnet, no hosts, MTU 1500, unless `over` says otherwise. */
export function testNetwork(name: string, driver: Driver, over: Partial<Network> = {}): Network {
  return {
    name,
    driver,
    scope: driver === "overlay" ? "global" : "local",
    internal: false,
    hasSubnet: driver !== "host" && driver !== "none",
    subnet: "",
    prefix: 24,
    gateway: "",
    ipRange: "",
    isDefault: false,
    bridge: "",
    mtu: 1500,
    enableIpv6: false,
    encrypted: false,
    driverOpts: {},
    vxlan: null,
    macvlan: null,
    hosts: [],
    pos: TEST_POS,
    ...over,
  };
}

/** An endpoint of a container on `network` with `address` (a /24 on `eth0` unless told). */
export function testEndpoint(
  network: string,
  address: string,
  over: Partial<Endpoint> = {},
): Endpoint {
  return {
    network,
    ifname: "eth0",
    hostIfname: "",
    address,
    prefix: 24,
    mac: "02:42:00:00:00:00",
    gateway: "",
    aliases: [],
    mtu: 1500,
    ...over,
  };
}

/** A published TCP port on every address of the host. */
export function testPort(
  hostPort: number,
  containerPort: number,
  over: Partial<PublishedPort> = {},
): PublishedPort {
  return {
    hostIp: "0.0.0.0",
    hostPort,
    containerPort,
    protocol: "tcp",
    name: null,
    random: false,
    ...over,
  };
}

/** A netns-runtime container with its own namespace `<lab>-<name>` on host `h1`. */
export function testContainer(name: string, over: Partial<Container> = {}): Container {
  const endpoints = over.endpoints ?? [];
  return {
    name,
    service: name,
    replica: null,
    host: "h1",
    netns: `lab-${name}`,
    mode: { kind: "own" },
    hostname: name,
    endpoints,
    ports: [],
    expose: [],
    command: null,
    environment: {},
    runtime: "netns",
    image: null,
    restart: "no",
    defaultEndpoint: endpoints.length > 0 ? 0 : -1,
    pos: TEST_POS,
    ...over,
  };
}

/** Host number `i` (from 0) of `lab`: `<lab>-<name>` at 10.77.0.(11 + i). */
export function testHost(lab: string, name: string, i: number, over: Partial<Host> = {}): Host {
  return {
    name,
    netns: `${lab}-${name}`,
    address: `10.77.0.${11 + i}`,
    mac: "",
    underlayIfname: name,
    ...over,
  };
}

/** A model of lab `lab` on the underlay 10.77.0.0/24 without uplink, with what `over` gives. */
export function testModel(lab: string, over: Partial<Model> = {}): Model {
  return {
    lab,
    file: "test.yaml",
    underlay: {
      netns: `${lab}-underlay`,
      subnet: "10.77.0.0/24",
      prefix: 24,
      bridge: "br0",
      uplink: null,
    },
    hosts: [],
    networks: [],
    containers: [],
    checks: [],
    dns: { upstream: [], ttl: 600 },
    warnings: [],
    ...over,
  };
}
