/**
 * Support for the kernel-layer tests (prefix `nlt`): a hand-written plan of any size, `ip -j`
 * readers, a leak check, and — when run as a script — the child that `kill_apply_test.ts`
 * SIGKILLs mid-apply: `deno run -A tests/_nlt_support.ts apply LAB CONTAINERS UPLINK_OCTET`.
 *
 * @module
 */

import type { NamespacePlan, Plan } from "../core/plan/types.ts";

/** A lab name with the tests' prefix and a random suffix (parallel runs never collide). */
export function labName(): string {
  return `nlt-${crypto.randomUUID().slice(0, 6)}`;
}

function ns(name: string, role: NamespacePlan["role"]): NamespacePlan {
  return {
    name,
    role,
    owner: "",
    sysctls: {},
    links: [],
    up: ["lo"],
    addrs: [],
    routes: [],
    neighs: [],
    fdb: [],
  };
}

const mac = (a: number, b: number) =>
  `02:42:${
    [a >> 8, a & 255, b >> 8, b & 255].map((x) => x.toString(16).padStart(2, "0")).join(":")
  }`;

/** Options of {@link buildTestPlan}. */
export interface TestPlanOptions {
  hosts: number;
  containers: number;
  /** Third octet of the underlay 198.18.X.0/24; null: no root uplink. */
  uplinkOctet: number | null;
}

/**
 * A lab like nslab's own plans: an underlay bridge, `hosts` host namespaces on it (eth0 veths),
 * a local bridge `br0` (172.20.0.0/24 per host) and an overlay (`ov0` bridge + `vx0` VXLAN,
 * 10.0.9.0/24 across hosts with static FDB and neighbours), and `containers` namespaces spread over
 * the hosts, each with eth0 on br0 (default route) and eth1 on the overlay.
 */
export function buildTestPlan(lab: string, o: TestPlanOptions): Plan {
  const underlay = ns(`${lab}-ul`, "underlay");
  underlay.links.push({ kind: "bridge", name: "br-ul" });
  underlay.up.push("br-ul");
  const octet = o.uplinkOctet ?? 0;
  const hostAddr = (h: number) => `198.18.${octet}.${11 + h}`;
  const root: Plan["root"] = { links: [], addrs: [], routes: [], up: [] };
  if (o.uplinkOctet !== null) {
    const rootIf = `nlu${lab.slice(4)}`;
    root.links.push({
      kind: "veth",
      name: rootIf,
      peer: { name: "up0", ns: underlay.name, master: "br-ul" },
    });
    root.up.push(rootIf);
    root.addrs.push({ dev: rootIf, address: `198.18.${octet}.254`, prefix: 24 });
    underlay.up.push("up0");
  }
  const hosts: NamespacePlan[] = [];
  for (let h = 0; h < o.hosts; h++) {
    const hn = ns(`${lab}-h${h}`, "host");
    hn.sysctls["net/ipv4/ip_forward"] = "1";
    hn.links.push({
      kind: "veth",
      name: "eth0",
      mac: mac(0xffff, h),
      peer: { name: `u-h${h}`, ns: underlay.name, master: "br-ul" },
    });
    hn.links.push({ kind: "bridge", name: "br0" });
    hn.links.push({ kind: "bridge", name: "ov0", mtu: 1450 });
    hn.links.push({
      kind: "vxlan",
      name: "vx0",
      vni: 4096,
      local: hostAddr(h),
      port: 4789,
      dev: "eth0",
      learning: false,
      proxy: true,
      mtu: 1450,
      master: "ov0",
    });
    hn.up.push("eth0", "br0", "ov0", "vx0");
    hn.addrs.push({ dev: "eth0", address: hostAddr(h), prefix: 24 }, {
      dev: "br0",
      address: "172.20.0.1",
      prefix: 24,
    });
    underlay.up.push(`u-h${h}`);
    hosts.push(hn);
  }
  const containers: NamespacePlan[] = [];
  for (let c = 0; c < o.containers; c++) {
    const h = c % o.hosts;
    const cn = ns(`${lab}-c${c}`, "container");
    const hn = hosts[h];
    hn.links.push({
      kind: "veth",
      name: `vb${c}`,
      master: "br0",
      peer: { name: "eth0", ns: cn.name, mac: mac(1, c) },
    });
    hn.links.push({
      kind: "veth",
      name: `vo${c}`,
      mtu: 1450,
      master: "ov0",
      peer: { name: "eth1", ns: cn.name, mac: mac(2, c), mtu: 1450 },
    });
    hn.up.push(`vb${c}`, `vo${c}`);
    cn.up.push("eth0", "eth1");
    cn.addrs.push({ dev: "eth0", address: `172.20.0.${10 + c}`, prefix: 24 }, {
      dev: "eth1",
      address: `10.0.9.${10 + c}`,
      prefix: 24,
    });
    cn.routes.push({ dst: "default", via: "172.20.0.1", dev: "eth0" });
    for (let other = 0; other < o.hosts; other++) {
      if (other === h) continue;
      hosts[other].fdb.push({ dev: "vx0", mac: mac(2, c), dst: hostAddr(h) });
      hosts[other].neighs.push({ dev: "vx0", address: `10.0.9.${10 + c}`, mac: mac(2, c) });
    }
    containers.push(cn);
  }
  return {
    lab,
    root,
    namespaces: [underlay, ...hosts, ...containers],
    firewall: [],
    xfrm: [],
    processes: [],
  };
}

/** Runs a command (args array, no shell) and returns its status and text output. */
export function run(cmd: string, args: string[]): { code: number; out: string; err: string } {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** `ip -j ARGS` parsed; throws with ip's stderr on failure. */
export function ipJson<T = Record<string, unknown>[]>(args: string[]): T {
  const r = run("ip", ["-j", ...args]);
  if (r.code !== 0) throw new Error(`ip -j ${args.join(" ")} failed: ${r.err.trim()}`);
  return JSON.parse(r.out || "[]") as T;
}

/** `bridge -j ARGS` parsed. */
export function bridgeJson(args: string[]): Record<string, unknown>[] {
  const r = run("bridge", ["-j", ...args]);
  if (r.code !== 0) throw new Error(`bridge -j ${args.join(" ")} failed: ${r.err.trim()}`);
  return JSON.parse(r.out || "[]");
}

/** true when one ping from namespace `from` to `addr` gets an answer. */
export function pings(from: string, addr: string): boolean {
  return run("ip", ["netns", "exec", from, "ping", "-c", "1", "-W", "1", addr]).code === 0;
}

/** Everything of lab `lab` still on the machine (empty when nothing leaked). */
export function leftovers(lab: string, rootLinks: string[] = []): string[] {
  const out: string[] = [];
  for (const l of run("ip", ["netns", "list"]).out.split("\n")) {
    const name = l.split(" ")[0];
    if (name.startsWith(`${lab}-`)) out.push(`netns ${name}`);
  }
  try {
    for (const e of Deno.readDirSync("/run/netns")) {
      if (e.name.startsWith(`${lab}-`)) out.push(`file /run/netns/${e.name}`);
    }
  } catch { /* no dir */ }
  for (const line of Deno.readTextFileSync("/proc/mounts").split("\n")) {
    if (line.includes(`/run/netns/${lab}-`)) out.push(`mount ${line.split(" ")[1]}`);
  }
  const links = ipJson<{ ifname: string; ifalias?: string }[]>(["link", "show"]);
  for (const l of links) {
    if (rootLinks.includes(l.ifname) || l.ifalias === `nslab:${lab}`) {
      out.push(`root link ${l.ifname}`);
    }
  }
  for (const p of [`/run/nslab/${lab}`]) {
    try {
      Deno.statSync(p);
      out.push(`path ${p}`);
    } catch { /* gone */ }
  }
  try {
    for (const e of Deno.readDirSync("/etc/netns")) {
      if (e.name.startsWith(`${lab}-`)) out.push(`/etc/netns/${e.name}`);
    }
  } catch { /* no dir */ }
  return out;
}

/** Polls `cond` until true or the deadline passes; returns the last result. */
export async function eventually(cond: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (let delay = 2;; delay = Math.min(delay * 2, 100)) {
    if (cond()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
}

if (import.meta.main && Deno.args[0] === "apply") {
  const { applyNetwork } = await import("../core/kernel/apply.ts");
  const [, lab, containers, octet] = Deno.args;
  const plan = buildTestPlan(lab, {
    hosts: 3,
    containers: Number(containers),
    uplinkOctet: Number(octet),
  });
  await Deno.stdout.write(new TextEncoder().encode("start\n"));
  const t0 = performance.now();
  await applyNetwork(plan, {});
  await Deno.stdout.write(
    new TextEncoder().encode(`done ${(performance.now() - t0).toFixed(1)}\n`),
  );
}
