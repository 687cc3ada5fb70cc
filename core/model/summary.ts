/**
 * The human summary `nslab validate` prints: hosts, networks with subnet and gateway, containers
 * with addresses and ports, and warnings — aligned columns, like `docker ps`.
 *
 * @module
 */

import type { Container, Model, PublishedPort } from "./types.ts";

function table(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  return rows.map((r) =>
    indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd()
  );
}

/** `127.0.0.1:8080->80/tcp`, Docker's notation (`0.0.0.0:` kept, as `docker ps` does). */
export function formatPort(p: PublishedPort): string {
  return `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}` +
    (p.name ? ` (${p.name})` : "");
}

function modeText(c: Container): string {
  switch (c.mode.kind) {
    case "host":
      return "network_mode host (shares the host's network)";
    case "none":
      return "network_mode none (loopback only)";
    case "container":
      return `network_mode container:${c.mode.of}`;
    case "own":
      return c.endpoints.map((e) => {
        // Compose's container name is listed once, in its own column, not as an alias.
        const aliases = e.aliases.filter((a) => a !== c.composeName);
        return `${e.ifname} ${e.network}` +
          (e.address === undefined ? "" : ` ${e.address}/${e.prefix}`) +
          (e.ipv6 ? ` ${e.ipv6.address}/${e.ipv6.prefix}` : "") +
          (aliases.length > 0 ? ` (aliases ${aliases.join(",")})` : "");
      }).join(", ");
  }
}

/**
 * The line naming the lab's IPv6 ULA /48 (derived from the lab name, as moby derives its own from
 * the machine), or null when no network took a /64 of it.
 */
export function ulaLine(model: Model): string | null {
  if (!model.ula) return null;
  const from = model.networks.filter((n) => n.ipv6?.fromUla).map((n) => n.name);
  return `ipv6 ULA ${model.ula} (derived from the lab name; /64s for ${from.join(", ")})`;
}

/**
 * Summarises a resolved model for people.
 *
 * @example
 * ```ts
 * console.log(summarize(loadTopology({ file, text }).model));
 * ```
 */
export function summarize(model: Model): string {
  const u = model.underlay;
  const lines: string[] = [];
  lines.push(
    `lab ${model.lab}: ${model.hosts.length} host(s), ${model.networks.length} network(s), ` +
      `${model.containers.length} container(s), ${model.checks.length} explicit check(s)`,
  );
  lines.push(
    `underlay ${u.subnet} (namespace ${u.netns}, bridge ${u.bridge}` +
      (u.uplink ? `, uplink ${u.uplink.rootIfname} ${u.uplink.address})` : ", no uplink)") +
      (u.uplink && u.uplink.rootIfname !== `nsl-${model.lab}`
        ? `; the uplink's name is derived from the lab name (nsl-${model.lab} exceeds 15 bytes)`
        : ""),
  );
  const ula = ulaLine(model);
  if (ula) lines.push(ula);
  lines.push("", "hosts:");
  lines.push(...table(model.hosts.map((h) => [h.name, h.address, `namespace ${h.netns}`])));
  lines.push("", "networks:");
  lines.push(...table(model.networks.map((n) => {
    const extra: string[] = [];
    if (n.internal) extra.push("internal");
    if (n.encrypted) extra.push("encrypted");
    if (n.vxlan) extra.push(`vni ${n.vxlan.vni} udp/${n.vxlan.port}`);
    if (n.macvlan) {
      extra.push(`parent ${n.macvlan.parent} ${n.macvlan.mode}`);
      if (n.macvlan.hostShim) extra.push("host shim");
    }
    if (n.ipRange !== n.subnet) extra.push(`range ${n.ipRange}`);
    if (n.ipv6) {
      extra.push(
        `ipv6 ${n.ipv6.subnet}` + (n.ipv6.gateway ? ` gw ${n.ipv6.gateway}` : "") +
          (n.ipv6.ipRange !== n.ipv6.subnet ? ` range ${n.ipv6.ipRange}` : ""),
      );
    }
    return [
      n.dockerName !== undefined && n.dockerName !== n.name
        ? `${n.name} (${n.dockerName})`
        : n.name,
      n.driver,
      n.subnet,
      n.gateway ? `gw ${n.gateway}` : "no gateway",
      n.bridge || "-",
      n.external
        ? `lab ${n.external.lab}'s (external)`
        : n.hosts.length > 0
        ? `on ${n.hosts.join(",")}`
        : "unused",
      extra.join(", "),
    ];
  })));
  lines.push("", "containers:");
  lines.push(...table(model.containers.map((c) => [
    c.name,
    c.host,
    modeText(c) || "-",
    c.ports.map(formatPort).join(", "),
    c.composeName !== undefined && c.composeName !== c.name ? `compose name ${c.composeName}` : "",
  ])));
  if (model.warnings.length > 0) {
    lines.push("", "warnings:");
    for (const w of model.warnings) {
      lines.push(`  ${w.pos.file}:${w.pos.line}:${w.pos.col}: ${w.message}`);
    }
  }
  return lines.join("\n");
}
