/**
 * The `ip -batch` baseline of ANY plan: the same kernel objects nslab's apply makes (namespaces,
 * sysctls, links, masters, addresses, routes, neighbours, FDB entries, each host's iptables rules),
 * written as batch files for iproute2 and run the way a careful shell script would: one
 * `ip -batch` adds every namespace, one `ip -n NS -batch` per namespace makes its links, one more
 * per namespace configures them, one `bridge -n NS -batch` per VXLAN host adds the FDB entries,
 * one `iptables-restore` per host; one `ip -batch` deletes every namespace.
 *
 * Not included (nslab pays them, a script would not): the `nslab:<lab>` alias on each `lo`, the
 * journal, the /etc/netns files, DNS and the supervisor.
 *
 * @module
 */

import type { LinkPlan, NamespacePlan, Plan } from "../core/plan/types.ts";

/** The batch files of a plan, by phase; file name → content. */
export interface IpBatchFiles {
  /** `netns add` of every namespace. */
  netns: string;
  /** sysctls as `[namespace, key, value]`, set with `ip netns exec NS sysctl -qw`. */
  sysctls: [string, string, string][];
  /** Namespace → its `link add` lines. */
  links: Map<string, string>;
  /** Namespace → its masters, hairpins, ups, addresses, routes, neighbours. */
  config: Map<string, string>;
  /** Namespace → its `fdb append` lines (for `bridge -batch`). */
  fdb: Map<string, string>;
  /** Namespace → iptables-restore input. */
  firewall: Map<string, string>;
  /** `netns del` of every namespace. */
  del: string;
}

const opt = (word: string, v: string | number | undefined) =>
  v === undefined ? "" : ` ${word} ${v}`;

/** One `link add` line (in the namespace the link is created from). */
export function linkAddLine(link: LinkPlan): string {
  switch (link.kind) {
    case "bridge":
      return `link add ${link.name}${opt("mtu", link.mtu)}${opt("address", link.mac)} type bridge`;
    case "veth": {
      const p = link.peer;
      return `link add ${link.name}${opt("mtu", link.mtu)}${opt("address", link.mac)} type veth ` +
        `peer name ${p.name} netns ${p.ns}${opt("address", p.mac)}${opt("mtu", p.mtu)}`;
    }
    case "vxlan":
      return `link add ${link.name} mtu ${link.mtu} type vxlan id ${link.vni} local ${link.local} ` +
        `dev ${link.dev} dstport ${link.port} nolearning${link.proxy ? " proxy" : ""}`;
    case "macvlan":
      return `link add link ${link.parent} name ${link.name}${opt("address", link.mac)}` +
        `${opt("mtu", link.mtu)} netns ${link.targetNs} type macvlan mode ${link.mode}`;
    case "vlan":
      return `link add link ${link.parent} name ${link.name} type vlan id ${link.id}`;
  }
}

/** The configuration lines of one namespace; `peerMasters` are its veth ends made elsewhere. */
function configLines(ns: NamespacePlan, peerMasters: { name: string; master: string }[]): string[] {
  const out: string[] = [];
  for (const m of peerMasters) out.push(`link set ${m.name} master ${m.master}`);
  for (const l of ns.links) {
    if ((l.kind === "veth" || l.kind === "vxlan") && l.master) {
      out.push(`link set ${l.name} master ${l.master}`);
    }
    if (l.kind === "veth" && l.hairpin) {
      out.push(`link set dev ${l.name} type bridge_slave hairpin on`);
    }
  }
  for (const name of ns.up) out.push(`link set ${name} up`);
  for (const a of ns.addrs) out.push(`addr add ${a.address}/${a.prefix} dev ${a.dev}`);
  for (const r of ns.routes) {
    out.push(`route replace ${r.dst}${opt("via", r.via)} dev ${r.dev}${opt("src", r.src)}`);
  }
  for (const n of ns.neighs) {
    out.push(`neigh replace ${n.address} lladdr ${n.mac} dev ${n.dev} nud permanent`);
  }
  return out;
}

const text = (lines: string[]) => lines.length ? `${lines.join("\n")}\n` : "";

/**
 * The batch files that make `plan`'s kernel objects. Throws for a plan with root-namespace
 * objects (the bench's labs have no uplink).
 */
export function ipBatchFiles(plan: Plan): IpBatchFiles {
  if (plan.root.links.length + plan.root.addrs.length + plan.root.routes.length > 0) {
    throw new Error("the ip -batch baseline covers labs without an uplink (--no-uplink)");
  }
  const peerMasters = new Map<string, { name: string; master: string }[]>();
  for (const ns of plan.namespaces) {
    for (const l of ns.links) {
      if (l.kind === "veth" && l.peer.master) {
        const list = peerMasters.get(l.peer.ns) ?? [];
        list.push({ name: l.peer.name, master: l.peer.master });
        peerMasters.set(l.peer.ns, list);
      }
    }
  }
  const files: IpBatchFiles = {
    netns: text(plan.namespaces.map((n) => `netns add ${n.name}`)),
    sysctls: plan.namespaces.flatMap((n) =>
      Object.entries(n.sysctls).map(([k, v]) => [n.name, k.replaceAll("/", "."), v])
    ) as [string, string, string][],
    links: new Map(),
    config: new Map(),
    fdb: new Map(),
    firewall: new Map(plan.firewall.map((f) => [f.netns, f.rules])),
    del: text(plan.namespaces.map((n) => `netns del ${n.name}`)),
  };
  for (const ns of plan.namespaces) {
    if (ns.links.length) files.links.set(ns.name, text(ns.links.map(linkAddLine)));
    const config = configLines(ns, peerMasters.get(ns.name) ?? []);
    if (config.length) files.config.set(ns.name, text(config));
    if (ns.fdb.length) {
      files.fdb.set(
        ns.name,
        text(ns.fdb.map((f) => `fdb append ${f.mac} dev ${f.dev} dst ${f.dst} self permanent`)),
      );
    }
  }
  return files;
}

/**
 * Writes the batch files of `plan` under `dir` with two driver scripts, `create.sh` and
 * `delete.sh` (bash, `set -e`), and returns their paths. Writing is not timed; running is.
 */
export function writeIpBatch(plan: Plan, dir: string): { create: string; del: string } {
  const f = ipBatchFiles(plan);
  for (const sub of ["links", "config", "fdb", "firewall"]) Deno.mkdirSync(`${dir}/${sub}`);
  Deno.writeTextFileSync(`${dir}/netns.batch`, f.netns);
  Deno.writeTextFileSync(`${dir}/del.batch`, f.del);
  const write = (sub: string, m: Map<string, string>) => {
    for (const [ns, t] of m) Deno.writeTextFileSync(`${dir}/${sub}/${ns}`, t);
  };
  write("links", f.links);
  write("config", f.config);
  write("fdb", f.fdb);
  write("firewall", f.firewall);
  // Namespaces in plan order: links in the order apply makes them (a host before its containers).
  const order = plan.namespaces.map((n) => n.name);
  const each = (sub: string, m: Map<string, string>, cmd: string) =>
    order.filter((ns) => m.has(ns)).map((ns) =>
      cmd.replaceAll("NS", ns).replaceAll("F", `${dir}/${sub}/${ns}`)
    );
  const create = [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    `ip -batch ${dir}/netns.batch`,
    ...f.sysctls.map(([ns, k, v]) => `ip netns exec ${ns} sysctl -qw ${k}=${v}`),
    ...each("links", f.links, "ip -n NS -batch F"),
    ...each("config", f.config, "ip -n NS -batch F"),
    ...each("fdb", f.fdb, "bridge -n NS -batch F"),
    ...each("firewall", f.firewall, "ip netns exec NS iptables-restore --noflush F"),
  ];
  Deno.writeTextFileSync(`${dir}/create.sh`, create.join("\n") + "\n");
  Deno.writeTextFileSync(
    `${dir}/delete.sh`,
    `#!/usr/bin/env bash\nset -euo pipefail\nip -batch ${dir}/del.batch\n`,
  );
  return { create: `${dir}/create.sh`, del: `${dir}/delete.sh` };
}
