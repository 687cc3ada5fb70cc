/**
 * The plan for people: every object, grouped by namespace, each line written as the iproute2 /
 * iptables command that would make it by hand.
 *
 * @module
 */

import { impairLines } from "./impair.ts";
import type { LinkPlan, NamespacePlan, Plan } from "./types.ts";

function linkLine(l: LinkPlan): string {
  switch (l.kind) {
    case "bridge":
      return `ip link add ${l.name} type bridge${l.mtu ? ` mtu ${l.mtu}` : ""}`;
    case "veth": {
      const peerNs = l.peer.ns === "" ? "(root)" : l.peer.ns;
      const master = l.master ? `  master ${l.master}` : "";
      const peerMaster = l.peer.master ? ` master ${l.peer.master}` : "";
      const mac = l.peer.mac ? ` address ${l.peer.mac}` : "";
      return `ip link add ${l.name} type veth peer ${l.peer.name} netns ${peerNs}${mac}${peerMaster}${master}`;
    }
    case "vxlan":
      return `ip link add ${l.name} type vxlan id ${l.vni} local ${l.local} dev ${l.dev} dstport ${l.port} nolearning${
        l.proxy ? " proxy" : ""
      } mtu ${l.mtu}${l.master ? `  master ${l.master}` : ""}`;
    case "macvlan":
      return `ip link add ${l.name} link ${l.parent} type macvlan mode ${l.mode} netns ${l.targetNs}${
        l.mac ? ` address ${l.mac}` : ""
      }`;
    case "vlan":
      return `ip link add ${l.name} link ${l.parent} type vlan id ${l.id}`;
  }
}

function nsLines(ns: NamespacePlan): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(ns.sysctls)) {
    out.push(`sysctl ${k.replaceAll("/", ".")}=${v}`);
  }
  for (const l of ns.links) out.push(linkLine(l));
  for (const a of ns.addrs) {
    out.push(`ip addr add ${a.address}/${a.prefix} dev ${a.dev}${a.nodad ? " nodad" : ""}`);
  }
  if (ns.up.length) out.push(`ip link set up: ${ns.up.join(" ")}`);
  for (const r of ns.routes) {
    out.push(
      `ip route replace ${r.dst}${r.via ? ` via ${r.via}` : ""} dev ${r.dev}${
        r.src ? ` src ${r.src}` : ""
      }`,
    );
  }
  for (const n of ns.neighs) {
    out.push(`ip neigh replace ${n.address} lladdr ${n.mac} dev ${n.dev} nud permanent`);
  }
  for (const f of ns.fdb) {
    out.push(`bridge fdb append ${f.mac} dev ${f.dev} dst ${f.dst} self permanent`);
  }
  return out;
}

function section(title: string, lines: string[]): string {
  return [title, ...lines.map((l) => `    ${l}`)].join("\n");
}

/** Renders a plan as readable text, grouped by namespace (hosts first, then their containers). */
export function formatPlan(plan: Plan): string {
  const parts: string[] = [`Plan for lab "${plan.lab}"`];
  const rootLines = [
    ...plan.root.links.map(linkLine),
    ...plan.root.addrs.map((a) => `ip addr add ${a.address}/${a.prefix} dev ${a.dev}`),
    ...(plan.root.up.length ? [`ip link set up: ${plan.root.up.join(" ")}`] : []),
  ];
  if (rootLines.length) parts.push(section("root namespace (uplink only)", rootLines));
  for (const ns of plan.namespaces) {
    const label = ns.role === "underlay" ? "underlay" : `${ns.role} ${ns.owner}`;
    const lines = nsLines(ns);
    for (const fw of plan.firewall.filter((f) => f.netns === ns.name)) {
      const rules = fw.rules.split("\n").filter((l) => l && !l.startsWith("#"));
      const tool = fw.family === "ipv6" ? "ip6tables-restore" : "iptables-restore";
      lines.push(
        `${tool} --noflush  (${rules.filter((l) => l.startsWith("-A")).length} rules)`,
      );
      lines.push(...rules.map((l) => `  ${l}`));
    }
    for (const x of plan.xfrm.filter((x) => x.netns === ns.name)) {
      lines.push(
        `ip xfrm state add src ${x.src} dst ${x.dst} proto esp spi 0x${
          x.spi.toString(16)
        } mode transport aead '${x.aead}' …`,
      );
    }
    parts.push(section(`netns ${ns.name}  (${label})`, lines));
  }
  const procs = plan.processes.map((p) =>
    `${p.container.padEnd(14)} in ${p.netns.padEnd(18)} ${
      p.command
        ? p.command.join(" ")
        : `responder on ${
          p.listen.map((l) => `${l.port}/${l.protocol}`).join(", ") || "(no ports)"
        }`
    }${p.dns ? "  + DNS 127.0.0.11:53" : ""}`
  );
  if (plan.impair) {
    parts.push(section("impairments (core/plan/impair.ts)", impairLines(plan.impair)));
  }
  parts.push(section("supervisor", procs));
  return parts.join("\n\n") + "\n";
}
