/**
 * Compose as the reference: the same Compose files brought up by Debian's `docker-compose`
 * (v1.29) on the real engine and by nslab, and compared — the project's networks with their
 * subnets and gateways, each container's interfaces (eth0, eth1, … → address, exactly), the DNS
 * answer of every container for every name of the project (service names, container names,
 * aliases, container_name, replicas), and its PTR answer for every address of the project. Both
 * sides are asked with the same clients (`ip -o -4 addr`, busybox `nslookup` and `dig -x` against
 * 127.0.0.11), inside the containers and inside nslab's namespaces.
 *
 * One difference between the tools is normalised, as the issue allows: v1 names containers
 * `<project>_<service>_<n>` where v2 (and nslab) say `<project>-<service>-<n>`; the test asks
 * Docker the v1 spelling, and reads its PTR answers back in v2's. Files avoid what v1 cannot do
 * (`include`, `name:`).
 *
 * Docker side: images are replaced by a local busybox image (tests/_docker/image.ts), every
 * container sleeps, and its `dns:` is 127.0.0.1 inside the container, so the embedded DNS never
 * forwards a name out of the machine (an unknown name fails instead: both sides then give no
 * address, which is what is compared). Needs root, an engine and docker-compose
 * (scripts/docker.sh); skipped with a printed reason otherwise. Everything is removed in
 * `finally` (`docker-compose down`, the lab, the image tag).
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { parse, stringify } from "yaml";
import { Lab } from "../mod.ts";
import { readMachineRoutes } from "../core/kernel/routes.ts";
import { run } from "./_support/run.ts";
import {
  buildBusyboxImage,
  dockerOut,
  dockerSkipReason,
  parseNslookup,
  removeImage,
} from "./_docker/image.ts";

const engine = await dockerSkipReason();
const compose = (await run(["docker-compose", "version"]).catch(() => null))?.code === 0
  ? null
  : "docker-compose is not installed; run scripts/docker.sh";
const skip = engine ?? compose;
if (skip) console.error(`compose_agreement_test: skipped: ${skip}`);

/** A project: its files (compose.yaml first) and the names every container asks for. */
interface Case {
  name: string;
  files: Record<string, string>;
  /** Extra names to ask besides services, container names and aliases found in the model. */
  ask?: string[];
}

const CASES: Case[] = [
  {
    // The most common file of all: no networks, everything on <project>_default (depends_on
    // fixes the start order: Compose starts independent services at once, in no fixed order).
    name: "plain",
    files: {
      "compose.yaml": `
services:
  web:
    image: nginx
  api:
    image: example/api
    scale: 2
    depends_on: [web]
  db:
    image: postgres
    depends_on: [api]
`,
    },
    ask: ["nosuch"],
  },
  {
    // networks: default: configured (subnet, ip_range, gateway, aux address), aliases and a
    // fixed address on it, container_name as a DNS name, variables from .env.
    name: "defaultcfg",
    files: {
      "compose.yaml": `
services:
  router:
    image: alpine
    container_name: \${ROUTER_NAME:-router}
    networks:
      default:
        ipv4_address: 10.231.7.130
        aliases: [gw.lan]
  client:
    image: alpine
    scale: 2
    depends_on: [router] # router takes its fixed address before the clients start
networks:
  default:
    ipam:
      config:
        - subnet: \${LAN_SUBNET}
          ip_range: 10.231.7.128/25
          gateway: 10.231.7.254
          aux_addresses:
            printer: 10.231.7.129
`,
      ".env": "LAN_SUBNET=10.231.7.0/24\nROUTER_NAME=cpag-edge-router\n",
    },
  },
  {
    // Two networks, one internal with a fixed subnet; two containers on both (a name on two
    // shared networks: Docker answers from the first network it tries); extends in the same
    // file; depends_on fixing the start order, hence the addresses; a link alias.
    name: "twonets",
    files: {
      "compose.yaml": `
services:
  app:
    image: example/app
    networks:
      front: { aliases: [application] }
      back: { priority: 10, aliases: [application-db-side] }
  worker:
    extends: app
    depends_on: [app]
  proxy:
    image: traefik
    networks: [front]
    depends_on: [worker]
    links: ["app:appserver"] # a name only proxy resolves
  db:
    image: postgres
    networks:
      back: { aliases: [database] }
    depends_on: [proxy]
networks:
  front: {}
  back:
    internal: true
    ipam:
      config: [{ subnet: 10.232.9.0/24 }]
`,
    },
    ask: ["nosuch", "appserver"],
  },
  {
    // Interface order: Compose connects by priority (zeta, mid, alpha), but the engine names the
    // interfaces in its own order — networks before internal ones, then by name — so edge gets
    // eth0 alpha, eth1 zeta, eth2 mid (docker/compose#12170). A reverse lookup answers with the
    // Compose name and the Docker network name on each network.
    name: "prio",
    files: {
      "compose.yaml": `
services:
  edge:
    image: example/edge
    networks:
      zeta: { priority: 100 }
      mid: { priority: 50 }
      alpha: { priority: 1 }
  core:
    image: example/core
    container_name: cpag-core
    depends_on: [edge]
    networks:
      mid: { priority: 100 }
      alpha: {}
networks:
  zeta: {}
  mid: { internal: true }
  alpha: {}
`,
    },
  },
];

/**
 * What one tool built, in comparable form. Docker starts the replicas of a service in parallel,
 * so which replica gets which address is up to the race: interfaces are compared per service (the
 * set of its replicas' interface lists), and DNS answers as the containers the addresses belong to
 * (each engine's own address → container map), which is what a name means.
 */
interface Built {
  networks: Record<string, string>;
  interfaces: Record<string, string[]>;
  dns: Record<string, string>;
}

/** Raw findings of one engine, before normalising. */
interface Raw {
  networks: Record<string, { subnet: string; gateway: string }>;
  /** container → `eth0 172.18.0.2/16` lines */
  interfaces: Record<string, string[]>;
  /** `container asks name` → addresses */
  answers: Record<string, string[]>;
  /** `container` → address asked → names answered (v2 spelling, no trailing dot) */
  ptr: Record<string, Record<string, string[]>>;
}

function ipNumber(ip: string): number {
  return ip.split(".").reduce((n, b) => n * 256 + Number(b), 0);
}

function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Whether a subnet is one of Docker's local pools (a /16 of 172.17-31, a /20 of 192.168). */
function isLocalPool(cidr: string): boolean {
  const [ip, len] = cidr.split("/");
  const n = ipNumber(ip);
  if (len === "16") return n >= ipNumber("172.17.0.0") && n <= ipNumber("172.31.0.0");
  return len === "20" && (n >>> 16) === ipNumber("192.168.0.0") >>> 16;
}

/**
 * dockerd does not hand a released pool out again until it has gone round all of them (a cursor
 * kept in the daemon's memory): on an engine that has made networks before, a project's first
 * network is not 172.18.0.0/16 even when that is free, as it is on a fresh daemon and in nslab.
 * Where both picked from the pools (the file gave no subnet), Docker's subnet is moved onto
 * nslab's, keeping every address's offset in it — what the allocation order decides — and the
 * network is shown as "a local pool" on both sides. Where the file gives the subnet, nothing moves.
 */
function rebasePools(docker: Raw, nslab: Raw): void {
  const moves: { from: number; to: number; size: number }[] = [];
  for (const [name, d] of Object.entries(docker.networks)) {
    const n = nslab.networks[name];
    if (!n || n.subnet === d.subnet || !isLocalPool(d.subnet) || !isLocalPool(n.subnet)) continue;
    const size = 2 ** (32 - Number(d.subnet.split("/")[1]));
    moves.push({
      from: ipNumber(d.subnet.split("/")[0]),
      to: ipNumber(n.subnet.split("/")[0]),
      size,
    });
    const offset = d.gateway ? ipNumber(d.gateway) - ipNumber(d.subnet.split("/")[0]) : null;
    const nOffset = n.gateway ? ipNumber(n.gateway) - ipNumber(n.subnet.split("/")[0]) : null;
    docker.networks[name] = {
      subnet: "a local pool",
      gateway: offset === null ? "" : `+${offset}`,
    };
    nslab.networks[name] = {
      subnet: "a local pool",
      gateway: nOffset === null ? "" : `+${nOffset}`,
    };
  }
  const move = (ip: string) => {
    const n = ipNumber(ip);
    const m = moves.find((x) => n >= x.from && n < x.from + x.size);
    return m ? ipText(m.to + n - m.from) : ip;
  };
  for (const lines of Object.values(docker.interfaces)) {
    lines.forEach((l, i) => {
      const [dev, cidr] = l.split(" ");
      const [ip, len] = cidr.split("/");
      const moved = move(ip);
      // a rebased address takes the prefix of nslab's pool (a /16 where Docker's may be a /20)
      const m = moves.find((x) => ipNumber(ip) >= x.from && ipNumber(ip) < x.from + x.size);
      lines[i] = `${dev} ${moved}/${m ? "pool" : len}`;
    });
  }
  for (const [q, addrs] of Object.entries(docker.answers)) docker.answers[q] = addrs.map(move);

  for (const lines of Object.values(nslab.interfaces)) {
    lines.forEach((l, i) => {
      const [dev, cidr] = l.split(" ");
      const ip = ipNumber(cidr.split("/")[0]);
      const inPool = moves.some((x) => ip >= x.to && ip < x.to + x.size);
      if (inPool) lines[i] = `${dev} ${cidr.split("/")[0]}/pool`;
    });
  }
}

function normalise(raw: Raw, project: string): Built {
  const networks: Record<string, string> = {};
  for (const [name, n] of Object.entries(raw.networks)) {
    networks[name] = n.gateway ? `${n.subnet} gw ${n.gateway}` : n.subnet;
  }
  const owner = new Map<string, string>();
  const byService: Record<string, string[]> = {};
  for (const [c, lines] of Object.entries(raw.interfaces)) {
    for (const l of lines) owner.set(l.split(" ")[1].split("/")[0], c);
    const service = c.replace(new RegExp(`^${project}-(.+)-\\d+$`), "$1");
    (byService[service] ??= []).push([...lines].sort().join(", "));
  }
  for (const list of Object.values(byService)) list.sort();
  const dns: Record<string, string> = {};
  for (const [q, addrs] of Object.entries(raw.answers)) {
    dns[q] = addrs.length === 0
      ? "no address"
      : addrs.map((a) => owner.get(a) ?? `foreign ${a}`).sort().join(", ");
  }
  return { networks, interfaces: byService, dns };
}

/**
 * PTR answers keyed by what was asked — the asker, and the container and network owning the
 * address, each engine's own — so the comparison holds whatever addresses each engine chose.
 * Taken before {@link rebasePools} (it needs each engine's own subnets).
 */
function ptrRows(raw: Raw): Record<string, string> {
  const owner = new Map<string, string>();
  for (const [c, lines] of Object.entries(raw.interfaces)) {
    for (const l of lines) owner.set(l.split(" ")[1].split("/")[0], c);
  }
  const networkOf = (ip: string) => {
    const n = ipNumber(ip);
    const hit = Object.entries(raw.networks).find(([, net]) => {
      const [base, len] = net.subnet.split("/");
      return n >= ipNumber(base) && n < ipNumber(base) + 2 ** (32 - Number(len));
    });
    return hit?.[0] ?? "no network";
  };
  const rows: Record<string, string> = {};
  for (const [who, asked] of Object.entries(raw.ptr)) {
    for (const [ip, names] of Object.entries(asked)) {
      const key = `${who} PTR ${owner.get(ip) ?? ip}@${networkOf(ip)}`;
      rows[key] = names.length === 0 ? "no name" : names.sort().join(", ");
    }
  }
  return rows;
}

/** Names of `dig +short -x` output (v1's `<p>_<s>_<n>` read as v2's), no trailing dot. */
function parseDigPtr(out: string, project: string): string[] {
  return out.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith(";"))
    .map((l) =>
      l.replace(/\.$/, "").replace(new RegExp(`^${project}_(.+)_(\\d+)\\.`), `${project}-$1-$2.`)
    );
}

/** `dig -x` against the embedded DNS, one try: an unanswered question is "no name". */
const DIG_PTR = ["dig", "+short", "+time=1", "+tries=1", "-x"];

/** `eth0 172.18.0.2/16` lines of `ip -o -4 addr show` (lo left out), in the kernel's order. */
function parseAddrs(out: string): string[] {
  return out.split("\n").map((l) => /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(l)).filter((m) =>
    m !== null && m[1] !== "lo"
  ).map((m) => `${m![1].replace(/@.*/, "")} ${m![2]}`);
}

/** Writes a case's files into a fresh folder named after the project; returns that folder. */
async function writeCase(c: Case, dir: string, transform?: (doc: Record<string, unknown>) => void) {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(c.files)) {
    let body = text;
    if (name === "compose.yaml" && transform) {
      const doc = parse(text) as Record<string, unknown>;
      transform(doc);
      body = stringify(doc);
    }
    await Deno.writeTextFile(`${dir}/${name}`, body);
  }
}

/** The docker-compose copy: the local image, a sleeping command, no DNS forwarding out. */
function forDocker(image: string) {
  return (doc: Record<string, unknown>) => {
    for (const svc of Object.values(doc.services as Record<string, Record<string, unknown>>)) {
      svc.image = image;
      svc.command = ["sleep", "3600"];
      svc.dns = ["127.0.0.1"];
    }
  };
}

async function pool<T>(tasks: (() => Promise<T>)[], n = 6): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  }));
  return out;
}

/** The names to ask: every service, container name and alias nslab's model has, plus extras. */
function namesOf(lab: Lab, extra: string[]): string[] {
  const names = new Set(extra);
  for (const c of lab.model.containers) {
    names.add(c.service);
    if (c.composeName) names.add(c.composeName);
    for (const e of c.endpoints) for (const a of e.aliases) names.add(a);
  }
  return [...names].sort();
}

async function nslabSide(lab: Lab, ask: string[]): Promise<Raw> {
  const raw: Raw = { networks: {}, interfaces: {}, answers: {}, ptr: {} };
  for (const n of lab.model.networks.filter((n) => n.hosts.length > 0)) {
    raw.networks[n.dockerName ?? n.name] = { subnet: n.subnet, gateway: n.gateway };
  }
  const jobs: (() => Promise<void>)[] = [];
  const inContainer = new Map<string, InContainer>();
  for (const c of lab.model.containers) {
    const who = c.composeName!;
    const inNs = (cmd: string[]) => run(["ip", "netns", "exec", c.netns, ...cmd]);
    inContainer.set(who, inNs);
    jobs.push(async () => {
      raw.interfaces[who] = parseAddrs((await inNs(["ip", "-o", "-4", "addr", "show"])).stdout);
    });
    for (const name of ask) {
      jobs.push(async () => {
        const r = await inNs(["busybox", "nslookup", name, "127.0.0.11"]);
        raw.answers[`${who} asks ${name}`] = parseNslookup(r.stdout).addresses;
      });
    }
  }
  await pool(jobs);
  await askPtr(raw, inContainer, lab.name);
  return raw;
}

/** Runs a command in a container's network namespace. */
type InContainer = (cmd: string[]) => Promise<{ stdout: string }>;

/** Every container asks 127.0.0.11 for the name of every address of the project (`dig -x`). */
async function askPtr(raw: Raw, inContainer: Map<string, InContainer>, project: string) {
  const addresses = Object.values(raw.interfaces).flat().map((l) => l.split(" ")[1].split("/")[0]);
  const jobs: (() => Promise<void>)[] = [];
  for (const [who, exec] of inContainer) {
    raw.ptr[who] = {};
    for (const ip of addresses) {
      jobs.push(async () => {
        const r = await exec([...DIG_PTR, ip, "@127.0.0.11"]);
        raw.ptr[who][ip] = parseDigPtr(r.stdout, project);
      });
    }
  }
  await pool(jobs);
}

/** v2's `<project>-<service>-<n>` in v1's spelling, for asking the v1-made engine. */
function v1Name(project: string, name: string): string {
  const m = new RegExp(`^${project}-(.+)-(\\d+)$`).exec(name);
  return m ? `${project}_${m[1]}_${m[2]}` : name;
}

/** Ids of the Docker objects (`ps` or `network ls`) of a Compose project. */
async function projectIds(kind: "ps" | "network", project: string): Promise<string[]> {
  const args = kind === "ps" ? ["ps", "-q"] : ["network", "ls", "-q"];
  const out = await dockerOut([...args, "--filter", `label=com.docker.compose.project=${project}`]);
  return out.trim().split("\n").filter((x) => x);
}

/** Subnet and gateway (empty when IPAM lists none) of a Docker network. */
async function dockerNetwork(
  id: string,
): Promise<{ name: string; subnet: string; gateway: string }> {
  const out = await dockerOut([
    "network",
    "inspect",
    "--format",
    "{{.Name}}|{{range .IPAM.Config}}{{.Subnet}}|{{.Gateway}}{{end}}",
    id,
  ]);
  const [name, subnet, gateway] = out.trim().split("|");
  return { name, subnet: subnet ?? "", gateway: gateway ?? "" };
}

/**
 * What nslab must keep its automatic subnets off to choose as Docker chose: the subnets of the
 * engine's other networks (an unused Docker bridge is down and has no route) and the machine's
 * routes, minus this project's own networks.
 */
async function takenBesides(project: string): Promise<string[]> {
  const mine = new Set(await projectIds("network", project));
  const all = (await dockerOut(["network", "ls", "-q", "--filter", "driver=bridge"])).trim()
    .split("\n").filter((x) => x && !mine.has(x));
  const subnets = (await Promise.all(all.map(dockerNetwork))).map((n) => n.subnet).filter((s) => s);
  const own = await Promise.all([...mine].map(dockerNetwork));
  const routes = readMachineRoutes().map((r) => r.cidr).filter((c) =>
    !own.some((n) => n.subnet === c)
  );
  return [...subnets, ...routes];
}

async function dockerSide(project: string, ask: string[]): Promise<Raw> {
  const raw: Raw = { networks: {}, interfaces: {}, answers: {}, ptr: {} };
  for (const id of await projectIds("network", project)) {
    const n = await dockerNetwork(id);
    raw.networks[n.name] = { subnet: n.subnet, gateway: n.gateway };
  }
  const jobs: (() => Promise<void>)[] = [];
  const inContainer = new Map<string, InContainer>();
  for (const id of await projectIds("ps", project)) {
    const [name, pid] = (await dockerOut(["inspect", "--format", "{{.Name}} {{.State.Pid}}", id]))
      .trim().slice(1).split(" ");
    // The one normalisation: v1's <project>_<service>_<n> is v2's <project>-<service>-<n>.
    const who = name.replace(new RegExp(`^${project}_(.+)_(\\d+)$`), `${project}-$1-$2`);
    // dig is the machine's, run in the container's network namespace (its 127.0.0.11 rules)
    inContainer.set(who, (cmd) => run(["nsenter", "--target", pid, "--net", ...cmd]));
    jobs.push(async () => {
      raw.interfaces[who] = parseAddrs(
        await dockerOut(["exec", id, "ip", "-o", "-4", "addr", "show"]),
      );
    });
    for (const q of ask) {
      jobs.push(async () => {
        const r = await run(["docker", "exec", id, "nslookup", v1Name(project, q)]);
        raw.answers[`${who} asks ${q}`] = parseNslookup(r.stdout).addresses;
      });
    }
  }
  await pool(jobs);
  await askPtr(raw, inContainer, project);
  return raw;
}

for (const c of CASES) {
  Deno.test({
    name: `docker-compose and nslab build the same network: ${c.name}`,
    ignore: skip !== null,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const project = `cpag${c.name}`;
      const root = await Deno.makeTempDir({ prefix: "nslab-cpag-" });
      const image = await buildBusyboxImage(`cpag-${c.name}`);
      const dockerDir = `${root}/docker/${project}`;
      const nslabDir = `${root}/nslab/${project}`;
      const dc = (...args: string[]) =>
        run([
          "docker-compose",
          "-p",
          project,
          "--project-directory",
          dockerDir,
          "-f",
          `${dockerDir}/compose.yaml`,
          ...args,
        ]);
      try {
        await writeCase(c, nslabDir);
        await writeCase(c, dockerDir, forDocker(image));
        const up = await dc("up", "-d");
        if (up.code !== 0) throw new Error(`docker-compose up failed: ${up.out}`);
        const reserved = await takenBesides(project);
        await using lab = await Lab.up(`${nslabDir}/compose.yaml`, { uplink: false, reserved });
        assertEquals(lab.name, project); // the folder name, as Compose takes it
        const ask = namesOf(lab, c.ask ?? []);
        const [dockerRaw, nslabRaw] = [await dockerSide(project, ask), await nslabSide(lab, ask)];
        const [dockerPtr, nslabPtr] = [ptrRows(dockerRaw), ptrRows(nslabRaw)];
        rebasePools(dockerRaw, nslabRaw);
        const docker = normalise(dockerRaw, project);
        const nslab = normalise(nslabRaw, project);
        // Docker's inspect lists no gateway for a subnet the file gave without one (it is still
        // the first address on the bridge): only there is nslab's left out of the comparison.
        for (const [k, v] of Object.entries(docker.networks)) {
          if (!v.includes(" gw ") && nslab.networks[k]) {
            nslab.networks[k] = nslab.networks[k].split(" gw ")[0];
          }
        }
        assertEquals(nslab.networks, docker.networks);
        assertEquals(nslab.interfaces, docker.interfaces);
        assertEquals(nslab.dns, docker.dns);
        assertEquals(nslabPtr, dockerPtr);
      } finally {
        await dc("down", "--volumes", "--timeout", "1");
        await removeImage(image);
        await Deno.remove(root, { recursive: true }).catch(() => {});
      }
    },
  });
}
