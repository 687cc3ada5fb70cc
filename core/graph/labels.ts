/**
 * The words of the topology picture, shared by every format (SVG, DOT, Mermaid) so that all three
 * say the same thing: port tags, network summaries, endpoint addresses, container modes, tunnels.
 *
 * @module
 */

import type { Container, Endpoint, Host, Model, Network, PublishedPort } from "../model/types.ts";

/** true when a published port listens on a loopback address only (`127.0.0.1:9090:90`). */
export function isLoopbackPort(p: PublishedPort): boolean {
  return p.hostIp.startsWith("127.") || p.hostIp === "::1";
}

/**
 * A published port as `hostAddress:hostPort→containerPort/proto`. An unbound port (`0.0.0.0`) is
 * shown on the host's underlay address, where the outside reaches it.
 *
 * @example
 * ```ts
 * portLabel({ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp",
 *   name: null, random: false }, "10.77.0.11"); // "10.77.0.11:8080→80/tcp"
 * ```
 */
export function portLabel(p: PublishedPort, hostAddress: string): string {
  const ip = p.hostIp === "0.0.0.0" || p.hostIp === "" ? (hostAddress || "*") : p.hostIp;
  const shown = ip.includes(":") ? `[${ip}]` : ip;
  const notes = [isLoopbackPort(p) ? "local" : "", p.random ? "random" : ""].filter(Boolean);
  return `${shown}:${p.hostPort}→${p.containerPort}/${p.protocol}` +
    (notes.length ? ` (${notes.join(", ")})` : "");
}

/** An endpoint as `eth0 172.20.0.10`, or `eth0 172.20.0.10 fd00:1::2` with IPv6. */
export function endpointLabel(e: Endpoint): string {
  return `${e.ifname} ${e.address}${e.ipv6 ? ` ${e.ipv6.address}` : ""}`;
}

/** How a container without its own stack gets one, or null for an ordinary container. */
export function modeLabel(c: Container): string | null {
  switch (c.mode.kind) {
    case "own":
      return null;
    case "host":
      return "network_mode: host";
    case "none":
      return "network_mode: none (lo only)";
    case "container":
      return `shares netns of ${c.mode.of}`;
  }
}

/** `front`, `default`, plus `(internal)`: the headline of a network. */
export function networkTitle(n: Network): string {
  return n.internal ? `${n.name} (internal)` : n.name;
}

/**
 * The lines describing a network on one host: driver, device, subnet, gateway / parent.
 *
 * @example
 * ```ts
 * // ["bridge · br-front", "172.20.0.0/24", "gw 172.20.0.1"]
 * ```
 */
export function networkDetails(n: Network): string[] {
  const lines: string[] = [];
  switch (n.driver) {
    case "bridge":
      lines.push(`${n.isDefault ? "bridge (default)" : "bridge"} · ${n.bridge || "?"}`);
      break;
    case "overlay":
      lines.push(`overlay · ${n.bridge || "?"}${n.encrypted ? " · encrypted" : ""}`);
      break;
    case "macvlan": {
      const mv = n.macvlan;
      lines.push(`macvlan · ${mv ? mv.mode : "bridge"} mode`);
      if (mv) {
        lines.push(`parent ${mv.parent}${mv.vlan !== null ? ` (vlan ${mv.vlan})` : ""}`);
      }
      break;
    }
    default:
      lines.push(n.driver);
  }
  if (n.hasSubnet && n.subnet) lines.push(n.subnet);
  if (n.ipRange && n.ipRange !== n.subnet) lines.push(`range ${n.ipRange}`);
  if (n.ipv6) lines.push(n.ipv6.subnet);
  if (n.gateway && n.driver === "bridge") {
    lines.push(n.internal ? `gw ${n.gateway}, no route out` : `gw ${n.gateway}`);
  } else if (n.gateway && n.driver === "macvlan") {
    lines.push(`gw ${n.gateway}`);
  }
  return lines;
}

/** An overlay's tunnel as `VXLAN VNI 4096 · UDP 4789`, or null when the network has none. */
export function tunnelLabel(n: Network): string | null {
  if (!n.vxlan) return null;
  return `VXLAN VNI ${n.vxlan.vni} · UDP ${n.vxlan.port}`;
}

/** The VTEP pair of a tunnel between two hosts: `10.77.0.11 ↔ 10.77.0.12`. */
export function vtepLabel(a: Host, b: Host): string {
  return `${a.address} ↔ ${b.address}`;
}

/** `underlay 10.77.0.0/24 · bridge ul0 in netns shop-underlay`. */
export function underlayLabel(m: Model): string {
  return `underlay ${m.underlay.subnet} · bridge ${m.underlay.bridge} in netns ${m.underlay.netns}`;
}

/**
 * The hosts to draw: the model's, plus a stand-in for any host a container names that the model
 * lacks (so nothing in the model is ever left out of a picture).
 */
export function drawnHosts(m: Model): Host[] {
  const hosts = [...m.hosts];
  for (const c of m.containers) {
    if (!hosts.some((h) => h.name === c.host)) {
      hosts.push({
        name: c.host,
        netns: `${m.lab}-${c.host}`,
        address: "",
        mac: "",
        underlayIfname: "",
      });
    }
  }
  return hosts;
}

/**
 * A host's containers in drawing order: model order, each `container:X` right after X.
 */
export function hostContainers(m: Model, host: string): Container[] {
  const mine = m.containers.filter((c) => c.host === host);
  const sharers = mine.filter((c) => c.mode.kind === "container");
  const out: Container[] = [];
  const placed = new Set<string>();
  const place = (c: Container) => {
    if (placed.has(c.name)) return;
    placed.add(c.name);
    out.push(c);
    for (const s of sharers) {
      if (s.mode.kind === "container" && s.mode.of === c.name) place(s);
    }
  };
  for (const c of mine) if (c.mode.kind !== "container") place(c);
  for (const s of sharers) place(s);
  return out;
}

/** Networks drawn as segments inside a host: those the host joins or its containers use. */
export function hostNetworks(m: Model, host: string): Network[] {
  const used = new Set(
    m.containers.filter((c) => c.host === host).flatMap((c) => c.endpoints.map((e) => e.network)),
  );
  return m.networks.filter((n) =>
    n.driver !== "host" && n.driver !== "none" && (n.hosts.includes(host) || used.has(n.name))
  );
}

/** Networks with the `host` or `none` driver: no segment of their own, listed in a note. */
export function stacklessNetworks(m: Model): Network[] {
  return m.networks.filter((n) => n.driver === "host" || n.driver === "none");
}
