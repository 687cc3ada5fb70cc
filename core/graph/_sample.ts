/**
 * A hand-built seed-like lab for the graph tests: two hosts on an underlay with an uplink, the
 * default bridge, two user bridges (one internal), an overlay across both hosts, a macvlan on an
 * 802.1Q parent, replicas, published ports (one loopback-bound, one random) and host / none /
 * container:X containers.
 *
 * @module
 */

import type { Container, Driver, Endpoint, Model, Network } from "../model/types.ts";
import { testContainer, testEndpoint, testNetwork, testPort } from "../model/_testkit.ts";
import { portLabel } from "./labels.ts";

const pos = { file: "sample.yaml", line: 1, col: 1 };

function net(name: string, driver: Driver, over: Partial<Network>): Network {
  return testNetwork(name, driver, { hosts: ["h1", "h2"], pos, ...over });
}

function ep(network: string, ifname: string, address: string, prefix = 24): Endpoint {
  return testEndpoint(network, address, {
    ifname,
    hostIfname: `veth-${address.replaceAll(".", "")}`.slice(0, 15),
    prefix,
    mac: "02:42:00:00:00:01",
  });
}

const port = testPort;

function ctr(
  name: string,
  host: string,
  endpoints: Endpoint[],
  over: Partial<Container> = {},
): Container {
  return testContainer(name, { host, netns: `shop-${name}`, endpoints, pos, ...over });
}

/** The sample lab "shop" (see the module doc). A fresh object on every call. */
export function sampleModel(): Model {
  return {
    lab: "shop",
    file: "sample.yaml",
    underlay: {
      netns: "shop-underlay",
      subnet: "10.77.0.0/24",
      prefix: 24,
      bridge: "ul0",
      uplink: { rootIfname: "nsl-shop", underlayIfname: "uplink", address: "10.77.0.254" },
    },
    hosts: [
      { name: "h1", netns: "shop-h1", address: "10.77.0.11", mac: "", underlayIfname: "h1" },
      { name: "h2", netns: "shop-h2", address: "10.77.0.12", mac: "", underlayIfname: "h2" },
    ],
    networks: [
      net("default", "bridge", {
        subnet: "172.17.0.0/16",
        prefix: 16,
        gateway: "172.17.0.1",
        isDefault: true,
        bridge: "docker0",
      }),
      net("front", "bridge", {
        subnet: "172.20.0.0/24",
        gateway: "172.20.0.1",
        bridge: "br-front",
        hosts: ["h1"],
      }),
      net("back", "bridge", {
        subnet: "172.21.0.0/24",
        gateway: "172.21.0.1",
        bridge: "br-back",
        internal: true,
      }),
      net("mesh", "overlay", {
        subnet: "10.10.0.0/24",
        gateway: "10.10.0.1",
        bridge: "ov-mesh",
        mtu: 1450,
        vxlan: { vni: 4096, port: 4789, device: "vx-mesh" },
      }),
      net("host", "host", { hasSubnet: false, hosts: ["h1"] }),
      net("lan", "macvlan", {
        subnet: "10.77.0.0/24",
        ipRange: "10.77.0.128/25",
        macvlan: { parent: "eth0.50", vlan: 50, mode: "bridge", hostShim: false },
      }),
    ],
    containers: [
      ctr("web", "h1", [ep("front", "eth0", "172.20.0.10"), ep("back", "eth1", "172.21.0.2")], {
        ports: [port(8080, 80), port(9090, 90, { hostIp: "127.0.0.1", protocol: "udp" })],
      }),
      ctr("sidecar", "h1", [], { mode: { kind: "container", of: "web" }, netns: "shop-web" }),
      ctr("cache", "h1", [ep("default", "eth0", "172.17.0.2", 16)], {
        ports: [port(32768, 6379, { random: true })],
      }),
      ctr("probe", "h1", [ep("mesh", "eth0", "10.10.0.4")]),
      ctr("printer", "h1", [ep("lan", "eth0", "10.77.0.130")]),
      ctr("tool", "h1", [], { mode: { kind: "host" }, netns: "shop-h1" }),
      ctr("vault", "h1", [], { mode: { kind: "none" } }),
      ctr("api-1", "h2", [ep("mesh", "eth0", "10.10.0.2"), ep("back", "eth1", "172.21.0.2")], {
        service: "api",
        replica: 1,
      }),
      ctr("api-2", "h2", [ep("mesh", "eth0", "10.10.0.3"), ep("back", "eth1", "172.21.0.3")], {
        service: "api",
        replica: 2,
      }),
      ctr("db", "h2", [ep("back", "eth0", "172.21.0.4")], {
        ports: [port(5432, 5432, { hostIp: "127.0.0.1" })],
      }),
      ctr("scanner", "h2", [
        ep("lan", "eth0", "10.77.0.131"),
        ep("default", "eth1", "172.17.0.2", 16),
      ]),
    ],
    checks: [],
    dns: { upstream: [], ttl: 600 },
    warnings: [],
  };
}

/**
 * Every label a picture of `m` must show: host names, network names, container names and the
 * published-port tags (as {@link portLabel} writes them). Each picture test checks all of them.
 */
export function requiredLabels(m: Model): { what: string; text: string }[] {
  const out: { what: string; text: string }[] = [];
  for (const h of m.hosts) out.push({ what: `host ${h.name}`, text: h.name });
  for (const n of m.networks) out.push({ what: `network ${n.name}`, text: n.name });
  for (const c of m.containers) {
    out.push({ what: `container ${c.name}`, text: c.name });
    const addr = m.hosts.find((h) => h.name === c.host)?.address ?? "";
    for (const p of c.ports) {
      out.push({ what: `port of ${c.name}`, text: portLabel(p, addr) });
    }
  }
  return out;
}

/** A model whose names need escaping in every format (quotes, backslash, angle brackets, `end`). */
export function awkwardModel(): Model {
  const m = sampleModel();
  const rename = (from: string, to: string) => {
    for (const c of m.containers) {
      if (c.name === from) c.name = to;
      if (c.mode.kind === "container" && c.mode.of === from) c.mode = { kind: "container", of: to };
    }
  };
  rename("web", 'we"b');
  rename("cache", "a\\b<c>&d");
  rename("probe", "end");
  m.lab = 'sh"op';
  return m;
}

/** Variants that stress the layout: one host without uplink, three hosts (overlay skipping one), empty. */
export function layoutVariants(): { name: string; model: Model }[] {
  const single = sampleModel();
  single.underlay.uplink = null;
  single.hosts = [single.hosts[0]];
  single.containers = single.containers.filter((c) => c.host === "h1");
  for (const n of single.networks) n.hosts = n.hosts.filter((h) => h === "h1");

  const three = sampleModel();
  three.hosts.push({
    name: "h3",
    netns: "shop-h3",
    address: "10.77.0.13",
    mac: "",
    underlayIfname: "h3",
  });
  const mesh = three.networks.find((n) => n.name === "mesh")!;
  mesh.hosts = ["h1", "h3"];
  for (const c of three.containers) {
    if (c.host === "h2" && c.endpoints.some((e) => e.network === "mesh")) c.host = "h3";
  }
  three.networks.push({
    ...mesh,
    name: "mesh2",
    subnet: "10.10.1.0/24",
    bridge: "ov-mesh2",
    hosts: ["h1", "h2", "h3"],
    vxlan: { vni: 4097, port: 4790, device: "vx-mesh2" },
  });

  const empty = sampleModel();
  empty.containers = [];
  empty.networks = empty.networks.filter((n) => n.isDefault);

  return [
    { name: "sample", model: sampleModel() },
    { name: "awkward names", model: awkwardModel() },
    { name: "one host, no uplink", model: single },
    { name: "three hosts, overlays skipping one", model: three },
    { name: "no containers", model: empty },
  ];
}
