/**
 * A host's firewall in Docker's classic iptables layout (Docker ≤ 27), as `iptables-restore
 * --noflush` input. Pure: the same model always gives the same text.
 *
 * nslab runs like Docker with `userland-proxy: false` ("hairpin mode"): published ports are DNAT
 * rules only, the nat `OUTPUT` jump has no `! -d 127.0.0.0/8`, the DNAT rules have no `! -i <bridge>`
 * and host-originated traffic into a bridge is masqueraded, so `curl 127.0.0.1:8080` inside the host
 * namespace and a container reaching its own published port both work.
 *
 * Every `-A` line is written in the canonical form `iptables -S` / `iptables-save` prints, so the
 * plan's lines can be found verbatim in the kernel's ruleset.
 *
 * @module
 */

import type { Container, Endpoint, Model, Network, Protocol } from "../../model/types.ts";
import { type Family, familyView, hasIpv6, hostBits, UNBOUND } from "./family.ts";

/** Chain names of Docker's layout. */
export const CHAINS = {
  docker: "DOCKER",
  user: "DOCKER-USER",
  isolation1: "DOCKER-ISOLATION-STAGE-1",
  isolation2: "DOCKER-ISOLATION-STAGE-2",
} as const;

/** One published port as the host's firewall sees it: host side → container address. */
export interface PortMapping {
  container: string;
  /** `0.0.0.0` when not bound to an address. */
  hostIp: string;
  hostPort: number;
  protocol: Protocol;
  /** The container's address on the network that carries the mapping. */
  address: string;
  containerPort: number;
  /** Bridge of that network on the host. */
  bridge: string;
  network: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIpv4(text: string): boolean {
  const m = IPV4.exec(text);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** true for networks that are a Linux bridge in the host namespace (bridge and overlay drivers). */
function isBridgeLike(n: Network): boolean {
  return (n.driver === "bridge" || n.driver === "overlay") && n.bridge !== "" && n.hasSubnet;
}

/**
 * The networks that get firewall rules on `host`: bridge and overlay networks present there
 * (macvlan, host and none need none), sorted by bridge name.
 */
export function firewallNetworks(model: Model, host: string): Network[] {
  return model.networks
    .filter((n) => isBridgeLike(n) && n.hosts.includes(host))
    .sort((a, b) => a.bridge < b.bridge ? -1 : a.bridge > b.bridge ? 1 : 0);
}

/** Docker's boolean driver option `com.docker.network.bridge.<key>` (default `true`). */
function bridgeOption(n: Network, key: string): boolean {
  const v = n.driverOpts[`com.docker.network.bridge.${key}`];
  return v === undefined || !/^(false|0|no|off)$/i.test(v.trim());
}

/**
 * The endpoint a container's published ports are forwarded to: its default endpoint when that is a
 * bridge-like, non-internal network on its host, else the first such endpoint; null when it has
 * none (Docker publishes nothing for a container without external connectivity).
 */
export function publishingEndpoint(
  networks: readonly Network[],
  c: Container,
): { endpoint: Endpoint; network: Network } | null {
  const eligible = (ep: Endpoint | undefined) => {
    if (!ep) return null;
    const network = networks.find((n) => n.name === ep.network);
    return network && !network.internal ? { endpoint: ep, network } : null;
  };
  const preferred = eligible(c.endpoints[c.defaultEndpoint]);
  if (preferred) return preferred;
  for (const ep of c.endpoints) {
    const found = eligible(ep);
    if (found) return found;
  }
  return null;
}

/**
 * Every IPv4 port published on `host`, with the container address it is forwarded to, sorted by
 * host port, protocol, host address and container. `host`/`container:X` containers publish nothing
 * (Docker discards their ports); IPv6 host addresses are left to ip6tables (not generated).
 */
export function portMappings(model: Model, host: string, family: Family = "ipv4"): PortMapping[] {
  const view = familyView(model, family);
  const networks = firewallNetworks(view, host);
  const out: PortMapping[] = [];
  for (const c of view.containers) {
    if (c.host !== host || c.mode.kind !== "own" || c.ports.length === 0) continue;
    const target = publishingEndpoint(networks, c);
    if (!target) continue;
    for (const p of c.ports) {
      if (family === "ipv4" && !isIpv4(p.hostIp)) continue;
      out.push({
        container: c.name,
        hostIp: p.hostIp,
        hostPort: p.hostPort,
        protocol: p.protocol,
        address: target.endpoint.address!,
        containerPort: p.containerPort,
        bridge: target.network.bridge,
        network: target.network.name,
      });
    }
  }
  return out.sort((a, b) =>
    a.hostPort - b.hostPort || cmp(a.protocol, b.protocol) || cmp(a.hostIp, b.hostIp) ||
    cmp(a.container, b.container)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `-p tcp -m tcp --dport N`: the protocol match as iptables-save prints it. */
function dport(protocol: Protocol, port: number): string {
  return `-p ${protocol} -m ${protocol} --dport ${port}`;
}

function comment(text: string): string {
  return `-m comment --comment "${text}"`;
}

function nat(model: Model, host: string, family: Family): string[] {
  const networks = firewallNetworks(familyView(model, family), host);
  const mappings = portMappings(model, host, family);
  const bits = hostBits(family);
  const lines = [
    "*nat",
    `:${CHAINS.docker} - [0:0]`,
    `-A PREROUTING -m addrtype --dst-type LOCAL -j ${CHAINS.docker}`,
    `-A OUTPUT -m addrtype --dst-type LOCAL -j ${CHAINS.docker}`,
  ];
  for (const n of networks) {
    if (n.internal || !bridgeOption(n, "enable_ip_masquerade")) continue;
    lines.push(
      `# ${n.name}: traffic leaving ${n.subnet}, and host-originated traffic into ${n.bridge}`,
      `-A POSTROUTING -s ${n.subnet} ! -o ${n.bridge} -j MASQUERADE`,
      `-A POSTROUTING -o ${n.bridge} -m addrtype --src-type LOCAL -j MASQUERADE`,
    );
  }
  const hairpins = new Set<string>();
  for (const m of mappings) {
    const line = `-A POSTROUTING -s ${m.address}/${bits} -d ${m.address}/${bits} ${
      dport(m.protocol, m.containerPort)
    } -j MASQUERADE`;
    if (hairpins.size === 0) lines.push("# hairpin: a container reaching its own published port");
    if (!hairpins.has(line)) lines.push(line);
    hairpins.add(line);
  }
  if (mappings.length > 0) lines.push("# published ports");
  for (const m of mappings) {
    const dst = m.hostIp === UNBOUND[family] ? "" : `-d ${m.hostIp}/${bits} `;
    const to = family === "ipv6" ? `[${m.address}]` : m.address;
    lines.push(
      `-A ${CHAINS.docker} ${dst}${dport(m.protocol, m.hostPort)} ${
        comment(`${m.container} ${m.hostIp}:${m.hostPort}->${m.containerPort}/${m.protocol}`)
      } -j DNAT --to-destination ${to}:${m.containerPort}`,
    );
  }
  lines.push("COMMIT");
  return lines;
}

function filter(model: Model, host: string, family: Family): string[] {
  const networks = firewallNetworks(familyView(model, family), host);
  const mappings = portMappings(model, host, family);
  const { docker, user, isolation1, isolation2 } = CHAINS;
  const lines = [
    "*filter",
    ":FORWARD DROP [0:0]",
    `:${docker} - [0:0]`,
    `:${isolation1} - [0:0]`,
    `:${isolation2} - [0:0]`,
    `:${user} - [0:0]`,
    `-A FORWARD -j ${user}`,
    `-A FORWARD -j ${isolation1}`,
  ];
  for (const n of networks) {
    const br = n.bridge;
    const icc = bridgeOption(n, "enable_icc") ? "ACCEPT" : "DROP";
    lines.push(`# ${n.name} (${br}, ${n.subnet}${n.internal ? ", internal" : ""})`);
    if (!n.internal) {
      lines.push(
        `-A FORWARD -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A FORWARD -o ${br} -j ${docker}`,
        `-A FORWARD -i ${br} ! -o ${br} -j ACCEPT`,
      );
    }
    lines.push(`-A FORWARD -i ${br} -o ${br} -j ${icc}`);
  }
  if (mappings.length > 0) lines.push("# published ports: let the DNATed connections in");
  const accepts = new Set<string>();
  for (const m of mappings) {
    const line = `-A ${docker} -d ${m.address}/${
      hostBits(family)
    } ! -i ${m.bridge} -o ${m.bridge} ${dport(m.protocol, m.containerPort)} -j ACCEPT`;
    if (!accepts.has(line)) lines.push(line);
    accepts.add(line);
  }
  const internal = networks.filter((n) => n.internal);
  if (internal.length > 0) lines.push("# internal networks: nothing leaves or enters their subnet");
  for (const n of internal) {
    // IPv6: by interface, not by subnet (as current Docker does), or the bridged neighbour
    // discovery between members (link-local and multicast addresses) would be dropped.
    lines.push(
      ...(family === "ipv6"
        ? [
          `-A ${isolation1} -i ${n.bridge} ! -o ${n.bridge} -j DROP`,
          `-A ${isolation1} ! -i ${n.bridge} -o ${n.bridge} -j DROP`,
        ]
        : [
          `-A ${isolation1} ! -s ${n.subnet} -o ${n.bridge} -j DROP`,
          `-A ${isolation1} ! -d ${n.subnet} -i ${n.bridge} -j DROP`,
        ]),
    );
  }
  if (networks.length > 0) lines.push("# isolation between the host's networks");
  for (const n of networks) {
    lines.push(`-A ${isolation1} -i ${n.bridge} ! -o ${n.bridge} -j ${isolation2}`);
  }
  lines.push(`-A ${isolation1} -j RETURN`);
  for (const n of networks) lines.push(`-A ${isolation2} -o ${n.bridge} -j DROP`);
  lines.push(`-A ${isolation2} -j RETURN`);
  lines.push(`# ${user}: yours; nslab never adds to it`, `-A ${user} -j RETURN`, "COMMIT");
  return lines;
}

/**
 * The `iptables-restore --noflush` input for one host namespace: tables `nat` and `filter` in
 * Docker's classic chain layout (hairpin mode), commented with `#` lines.
 *
 * Equivalent to what dockerd programs with `--userland-proxy=false`, e.g. for `-p 8080:80`:
 * `iptables -t nat -A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80`.
 *
 * @example
 * ```ts
 * const text = hostRuleset(model, "h1");
 * await applyFirewall(model.hosts[0].netns, text);
 * ```
 */
export function hostRuleset(model: Model, host: string, family: Family = "ipv4"): string {
  const h = model.hosts.find((x) => x.name === host);
  if (!h) {
    throw new Error(
      `Cannot build the firewall of host "${host}": the model has no such host (hosts: ${
        model.hosts.map((x) => x.name).join(", ")
      })`,
    );
  }
  const tool = family === "ipv6" ? "ip6tables" : "iptables";
  return [
    `# nslab firewall of host ${h.name} (namespace ${h.netns}): Docker's ${tool} layout, no userland proxy`,
    ...nat(model, host, family),
    ...filter(model, host, family),
  ].join("\n") + "\n";
}

/**
 * sysctls (relative to /proc/sys) a host namespace needs for its firewall: forwarding, and
 * `route_localnet` so a DNAT of `127.0.0.1:PORT` may leave through a bridge (Docker sets it on
 * each bridge; nslab sets it before the bridges exist, hence `all`).
 *
 * Equivalent to: `sysctl -w net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1`.
 */
export function hostSysctls(model: Model, host: string): Record<string, string> {
  const sysctls: Record<string, string> = { "net/ipv4/ip_forward": "1" };
  if (hasIpv6(model, host)) sysctls["net/ipv6/conf/all/forwarding"] = "1";
  if (firewallNetworks(model, host).length > 0) {
    sysctls["net/ipv4/conf/all/route_localnet"] = "1";
  }
  return sysctls;
}
