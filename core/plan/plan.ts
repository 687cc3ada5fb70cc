/**
 * Model → Plan: every kernel object of a lab, per namespace, in creation order. Pure and
 * deterministic: the same model always gives a deep-equal plan.
 *
 * @module
 */

import type { Container, Driver, Host, Model } from "../model/types.ts";
import type { NamespacePlan, Plan, ProcessPlan, XfrmPlan } from "./types.ts";
import type { NetworkDriver } from "./drivers/driver.ts";
import { bridgeDriver } from "./drivers/bridge.ts";
import { overlayDriver } from "./drivers/overlay.ts";
import { macvlanDriver } from "./drivers/macvlan.ts";
import { externalEndpoint } from "./drivers/external.ts";
import { hostRuleset, hostSysctls } from "./firewall/rules.ts";
import { planImpairments } from "./impair.ts";
import { hasIpv6 } from "./firewall/family.ts";
import { hostAddress6, UNDERLAY6_PREFIX } from "../model/underlay6.ts";
import { ipv6DefaultEndpoint, primaryAddress } from "../model/ipv6_only.ts";

const noop: NetworkDriver = { host() {}, endpoint() {} };

/** The driver for each network kind (host and none make no objects of their own). */
export const DRIVERS: Record<Driver, NetworkDriver> = {
  bridge: bridgeDriver,
  overlay: overlayDriver,
  macvlan: macvlanDriver,
  host: noop,
  none: noop,
};

function emptyNs(name: string, role: NamespacePlan["role"], owner: string): NamespacePlan {
  return {
    name,
    role,
    owner,
    sysctls: {},
    links: [],
    up: ["lo"],
    addrs: [],
    routes: [],
    neighs: [],
    fdb: [],
  };
}

/** Containers that get a namespace of their own (everything but `host` and `container:X`). */
export function ownsNamespace(c: Container): boolean {
  return c.mode.kind === "own" || c.mode.kind === "none";
}

/**
 * `/etc/resolv.conf` of a container that uses the embedded DNS, with its Compose `dns_search` and
 * `dns_opt` (Docker writes them there too; `ndots:0` unless the file sets ndots).
 */
export function resolvConf(c?: Container): string {
  const lines = ["# written by nslab: the lab's embedded DNS", "nameserver 127.0.0.11"];
  const search = c?.dns?.search ?? [];
  if (search.length > 0) lines.push(`search ${search.join(" ")}`);
  const options = c?.dns?.options ?? [];
  lines.push(
    `options ${
      [
        ...(options.some((o) => o.startsWith("ndots:")) ? [] : ["ndots:0"]),
        ...options,
      ].join(" ")
    }`,
  );
  return lines.join("\n") + "\n";
}

/**
 * `/etc/hosts` of a container: loopback, its own addresses under its hostname (and
 * `hostname.domainname`), then its `extra_hosts` and `links` lines, as Docker writes it.
 */
export function hostsFile(c: Container): string {
  const lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"];
  const fqdn = c.domainname ? [`${c.hostname}.${c.domainname}`] : [];
  const names = [...new Set([...fqdn, c.hostname, c.name])].join(" ");
  for (const ep of c.endpoints) lines.push(`${primaryAddress(ep)}\t${names}`);
  for (const h of c.extraHosts ?? []) lines.push(`${h.address}\t${h.name}`);
  return lines.join("\n") + "\n";
}

function processPlan(model: Model, c: Container): ProcessPlan {
  const hostNs = model.hosts.find((h) => h.name === c.host)!.netns;
  const listen = new Map<string, { port: number; protocol: "tcp" | "udp" | "sctp" }>();
  for (const p of c.ports) {
    listen.set(`${p.containerPort}/${p.protocol}`, { port: p.containerPort, protocol: p.protocol });
  }
  for (const e of c.expose) {
    listen.set(`${e.port}/${e.protocol}`, { port: e.port, protocol: e.protocol });
  }
  const usesDns = c.mode.kind === "own" && c.endpoints.length > 0;
  const files: Record<string, string> = {};
  if (usesDns) {
    files["resolv.conf"] = resolvConf(c);
    files["hosts"] = hostsFile(c);
  }
  return {
    container: c.name,
    netns: c.mode.kind === "host" ? hostNs : c.netns,
    command: c.command,
    environment: c.environment,
    hostname: c.hostname,
    restart: c.restart,
    listen: [...listen.values()].sort((a, b) =>
      a.port - b.port || a.protocol.localeCompare(b.protocol)
    ),
    dns: usesDns,
    files,
  };
}

function hostPlan(model: Model, host: Host, xfrm: XfrmPlan[]): NamespacePlan {
  const ns = emptyNs(host.netns, "host", host.name);
  Object.assign(ns.sysctls, hostSysctls(model, host.name));
  ns.links.push({
    kind: "veth",
    name: "eth0",
    mac: host.mac,
    peer: { name: host.underlayIfname, ns: model.underlay.netns, master: model.underlay.bridge },
  });
  ns.up.push("eth0");
  ns.addrs.push({ dev: "eth0", address: host.address, prefix: model.underlay.prefix });
  const address6 = hostAddress6(model, host);
  if (address6) {
    ns.addrs.push({ dev: "eth0", address: address6, prefix: UNDERLAY6_PREFIX, nodad: true });
  }
  for (const network of model.networks) {
    if (!network.hosts.includes(host.name)) continue;
    DRIVERS[network.driver].host({ model, network, host, hostNs: ns, xfrm });
  }
  return ns;
}

/**
 * Builds the plan of a lab.
 *
 * @example
 * ```ts
 * import { loadTopologyObject } from "../model/load.ts";
 * const { model } = loadTopologyObject(
 *   { name: "shop", containers: { web: {} } },
 *   { reserved: [], uplink: false },
 * );
 * const plan = buildPlan(model);
 * console.log(plan.namespaces.map((n) => n.name)); // ["shop-underlay", "shop-host", "shop-web"]
 * ```
 */
export function buildPlan(model: Model): Plan {
  const { underlay } = model;
  const root: Plan["root"] = { links: [], addrs: [], routes: [], up: [] };
  const underlayNs = emptyNs(underlay.netns, "underlay", "");
  underlayNs.links.push({ kind: "bridge", name: underlay.bridge });
  underlayNs.up.push(underlay.bridge);
  if (underlay.uplink) {
    const u = underlay.uplink;
    root.links.push({
      kind: "veth",
      name: u.rootIfname,
      peer: { name: u.underlayIfname, ns: underlay.netns, master: underlay.bridge },
    });
    root.up.push(u.rootIfname);
    root.addrs.push({ dev: u.rootIfname, address: u.address, prefix: underlay.prefix });
    underlayNs.up.push(u.underlayIfname);
  }
  for (const h of model.hosts) underlayNs.up.push(h.underlayIfname);

  const xfrm: XfrmPlan[] = [];
  const hosts = new Map(model.hosts.map((h) => [h.name, hostPlan(model, h, xfrm)]));
  const containers: NamespacePlan[] = [];
  for (const c of model.containers) {
    if (!ownsNamespace(c)) continue;
    const ns = emptyNs(c.netns, "container", c.name);
    const host = model.hosts.find((h) => h.name === c.host)!;
    const hostNs = hosts.get(c.host)!;
    for (const ep of c.endpoints) {
      const network = model.networks.find((n) => n.name === ep.network)!;
      const wire = network.external ? externalEndpoint : DRIVERS[network.driver].endpoint;
      wire({ model, network, host, container: c, endpoint: ep, hostNs, containerNs: ns });
    }
    const def = c.defaultEndpoint >= 0 ? c.endpoints[c.defaultEndpoint] : undefined;
    if (def && def.gateway) ns.routes.push({ dst: "default", via: def.gateway, dev: def.ifname });
    const def6 = ipv6DefaultEndpoint(c);
    if (def6?.ipv6?.gateway) {
      // "::/0", not "default": routes are keyed by destination, one default route per family.
      ns.routes.push({ dst: "::/0", via: def6.ipv6.gateway, dev: def6.ifname });
    }
    containers.push(ns);
  }

  const namespaces = [underlayNs, ...hosts.values(), ...containers];
  const impair = planImpairments(model, namespaces);
  return {
    lab: model.lab,
    root,
    namespaces,
    firewall: model.hosts.flatMap((h) => [
      { netns: h.netns, rules: hostRuleset(model, h.name) },
      ...(hasIpv6(model, h.name)
        ? [{ netns: h.netns, rules: hostRuleset(model, h.name, "ipv6"), family: "ipv6" as const }]
        : []),
    ]),
    xfrm,
    processes: model.containers.map((c) => processPlan(model, c)),
    ...(impair.links.length + impair.rules.length > 0 ? { impair } : {}),
  };
}

/**
 * The underlay segment of a plan (the "physical network" every host's part plugs into): the
 * underlay namespace with its bridge, and the optional uplink from the root namespace. Made by
 * whichever host's part comes first on a machine; on real machines it is their real network.
 */
export function underlaySegmentPlan(plan: Plan, model: Model): Plan {
  const underlay = plan.namespaces.find((n) => n.role === "underlay")!;
  const hostCables = new Set(model.hosts.map((h) => h.underlayIfname));
  return {
    lab: plan.lab,
    root: plan.root,
    namespaces: [{ ...underlay, up: underlay.up.filter((l) => !hostCables.has(l)) }],
    firewall: [],
    xfrm: [],
    processes: [],
  };
}

/**
 * Exactly one host's part of a plan (`nslab up --only-host`): its host namespace (with its VXLAN
 * peers pointing at the other hosts' addresses, as in the whole plan), its containers, its
 * firewall, its IPsec SAs and the processes of its containers. The underlay namespace appears
 * only to plug the host's cable in (no links of its own): it must already exist
 * ({@link underlaySegmentPlan}).
 *
 * @example
 * ```ts
 * import { loadTopologyObject } from "../model/load.ts";
 * const { model } = loadTopologyObject({
 *   name: "lab",
 *   hosts: { h1: {}, h2: {} },
 *   containers: { web: { host: "h1" }, api: { host: "h2" } },
 * }, { reserved: [], uplink: false });
 * const part = hostPartPlan(buildPlan(model), model, "h1");
 * console.log(part.namespaces.map((n) => n.name)); // ["lab-underlay", "lab-h1", "lab-web"]
 * ```
 */
export function hostPartPlan(plan: Plan, model: Model, hostName: string): Plan {
  const host = model.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`Model of lab "${model.lab}" has no host "${hostName}"`);
  const local = new Set(model.containers.filter((c) => c.host === hostName).map((c) => c.name));
  const underlay = plan.namespaces.find((n) => n.role === "underlay")!;
  const plug: NamespacePlan = {
    ...emptyNs(underlay.name, "underlay", ""),
    up: underlay.up.filter((l) => l === host.underlayIfname),
  };
  return {
    lab: plan.lab,
    root: { links: [], addrs: [], routes: [], up: [] },
    namespaces: [
      plug,
      ...plan.namespaces.filter((n) =>
        (n.role === "host" && n.owner === hostName) ||
        (n.role === "container" && local.has(n.owner))
      ),
    ],
    firewall: plan.firewall.filter((f) => f.netns === host.netns),
    xfrm: plan.xfrm.filter((x) => x.netns === host.netns),
    processes: plan.processes.filter((p) => local.has(p.container)),
  };
}
