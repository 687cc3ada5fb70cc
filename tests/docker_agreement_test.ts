/**
 * Docker as the reference: one small Compose-like topology (two networks, an alias, a service
 * with 2 replicas, a published port) built by the real Docker engine (`docker network create`,
 * `docker run --network-alias`, a busybox image made with `docker import`) and by nslab
 * (sandboxes). The reachability matrix (who pings whom, on which network), the DNS answers (which
 * container on which network each name gives, NXDOMAIN for unknown names and for names on a
 * network the requester is not on) and the published port's behaviour must agree, the addresses
 * themselves aside.
 *
 * Docker side: queries with `docker exec … nslookup` and `docker exec … ping`; nslab side:
 * `ip netns exec … dig` and `ip netns exec … ping`. Needs root and an engine (scripts/docker.sh);
 * skipped with a printed reason otherwise. Every Docker object is labelled `nslab.test=<id>` and
 * removed in `finally`.
 */

import assert, { deepEqual as assertEquals, notDeepEqual } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/input.ts";
import { docker } from "../core/runtime/docker.ts";
import { listNetns } from "../core/kernel/netns/netns.ts";
import { run as runCmd } from "./_support/run.ts";
import {
  buildBusyboxImage,
  dockerOut,
  dockerSkipReason,
  parseNslookup,
  removeImage,
  SERVE_HOSTNAME,
} from "./_docker/image.ts";

const skip = await dockerSkipReason();
if (skip) console.error(`docker_agreement_test: skipped: ${skip}`);

/** One service of the shared topology. */
interface Service {
  name: string;
  replicas: number;
  networks: { net: string; aliases: string[] }[];
  /** Container port 80 published on 127.0.0.1 of the machine running the engine. */
  published: boolean;
}

const SERVICES: Service[] = [
  { name: "web", replicas: 1, networks: [{ net: "front", aliases: ["www"] }], published: true },
  {
    name: "app",
    replicas: 1,
    networks: [{ net: "front", aliases: [] }, { net: "back", aliases: [] }],
    published: false,
  },
  { name: "api", replicas: 2, networks: [{ net: "back", aliases: ["backend"] }], published: false },
];

/** The containers: `web`, `app`, `api-1`, `api-2` (nslab's replica names). */
const CONTAINERS = SERVICES.flatMap((s) =>
  Array.from({ length: s.replicas }, (_, i) => ({
    name: s.replicas > 1 ? `${s.name}-${i + 1}` : s.name,
    service: s,
  }))
);

/** Where nslab publishes web:80 inside its host namespace. */
const NSLAB_PORT = 8080;

/** What one engine answers; everything but addresses is compared. */
interface Engine {
  /** The engine's name of network `net` (Docker's are prefixed with the test id). */
  netName(net: string): string;
  /** Address of container `c` on `net`. */
  address(c: string, net: string): string;
  ping(from: string, address: string): Promise<boolean>;
  lookup(from: string, name: string): Promise<{ rcode: string; addresses: string[] }>;
  /** Body answered on 127.0.0.1:`port` (published / unpublished), or null when refused. */
  loopback(published: boolean): Promise<string | null>;
}

/** Keys where Docker's and nslab's answers differ, as `key: docker X, nslab Y` lines. */
function differences<T>(docker: Record<string, T>, nslab: Record<string, T>): string[] {
  const keys = [...new Set([...Object.keys(docker), ...Object.keys(nslab)])].sort();
  return keys.filter((k) => JSON.stringify(docker[k]) !== JSON.stringify(nslab[k])).map((k) =>
    `${k}: docker ${JSON.stringify(docker[k])}, nslab ${JSON.stringify(nslab[k])}`
  );
}

/** Runs `tasks` with at most `n` at a time (docker exec is slow; the engine is shared). */
async function pool<T>(tasks: (() => Promise<T>)[], n = 8): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

/** Runs a real client, no shell: exit code and stdout. */
async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await runCmd(cmd);
  return { code: r.code, out: r.stdout };
}

/** A loopback port nothing listens on right now (for the "not published" probe). */
function freeLoopbackPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Pairs (source, target container, target network) → does a ping answer. */
async function reachability(e: Engine): Promise<Record<string, boolean>> {
  const probes: { key: string; from: string; address: string }[] = [];
  for (const s of CONTAINERS) {
    for (const t of CONTAINERS) {
      if (s === t) continue;
      for (const n of t.service.networks) {
        probes.push({
          key: `${s.name} → ${t.name}@${n.net}`,
          from: s.name,
          address: e.address(t.name, n.net),
        });
      }
    }
  }
  const ok = await pool(probes.map((p) => () => e.ping(p.from, p.address)));
  return Object.fromEntries(probes.map((p, i) => [p.key, ok[i]]));
}

/** The names every container asks for (network-qualified ones use the engine's network name). */
function names(e: Engine): { key: string; name: string }[] {
  const plain = ["web", "www", "app", "api", "backend", "api-1", "api-2", "nosuch"];
  return [
    ...plain.map((n) => ({ key: n, name: n })),
    { key: "web.<front>", name: `web.${e.netName("front")}` },
    { key: "app.<back>", name: `app.${e.netName("back")}` },
  ];
}

/**
 * (requester, name) → `NOERROR [api-1@back, api-2@back]` or `NXDOMAIN`: each address named by the
 * container and network holding it, so both engines' answers compare exactly.
 */
async function dnsAnswers(e: Engine): Promise<Record<string, string>> {
  const owner = new Map<string, string>();
  for (const c of CONTAINERS) {
    for (const n of c.service.networks) owner.set(e.address(c.name, n.net), `${c.name}@${n.net}`);
  }
  const qs = CONTAINERS.flatMap((c) => names(e).map((n) => ({ from: c.name, ...n })));
  const answers = await pool(qs.map((q) => () => e.lookup(q.from, q.name)));
  return Object.fromEntries(
    qs.map((q, i) => {
      const a = answers[i];
      const who = a.addresses.map((x) => owner.get(x) ?? x).sort();
      return [`${q.from} asks ${q.key}`, a.rcode === "NOERROR" ? `NOERROR [${who}]` : a.rcode];
    }),
  );
}

/** Within one engine: `api` is exactly the replica set, `backend` too, `www` is web. */
async function replicaSets(e: Engine): Promise<void> {
  const replicas = ["api-1", "api-2"].map((c) => e.address(c, "back")).sort();
  assertEquals((await e.lookup("app", "api")).addresses.sort(), replicas);
  assertEquals((await e.lookup("app", "backend")).addresses.sort(), replicas);
  assertEquals((await e.lookup("app", "www")).addresses, [e.address("web", "front")]);
}

/** The topology for nslab, from the same {@link SERVICES}. */
function nslabTopology(): TopologyInput {
  const services: NonNullable<TopologyInput["services"]> = {};
  for (const s of SERVICES) {
    services[s.name] = {
      networks: Object.fromEntries(s.networks.map((n) => [n.net, { aliases: n.aliases }])),
      expose: [80],
      ...(s.replicas > 1 ? { deploy: { replicas: s.replicas } } : {}),
      ...(s.published ? { ports: [`127.0.0.1:${NSLAB_PORT}:80`] } : {}),
    };
  }
  return { networks: { front: {}, back: {} }, services };
}

/** nslab, with sandboxes and nslab's responder answering on port 80 with the container name. */
function nslabEngine(lab: Lab): Engine {
  const ns = (c: string) => `${lab.name}-${c}`;
  const hostNs = lab.model.hosts[0].netns;
  return {
    netName: (net) => net,
    address: (c, net) => lab.container(c).endpoints.find((e) => e.network === net)!.address!,
    ping: async (from, address) =>
      (await run(["ip", "netns", "exec", ns(from), "ping", "-c1", "-W1", "-q", address])).code ===
        0,
    lookup: async (from, name) => {
      const r = await run([
        "ip",
        "netns",
        "exec",
        ns(from),
        "dig",
        "+time=2",
        "+tries=1",
        "+noall",
        "+comments",
        "+answer",
        "@127.0.0.11",
        name,
        "A",
      ]);
      const rcode = /status: ([A-Z]+)/.exec(r.out)?.[1] ?? "NO-ANSWER";
      const addresses = [...r.out.matchAll(/\sIN\s+A\s+(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]);
      return { rcode, addresses };
    },
    loopback: async (published) => {
      const port = published ? NSLAB_PORT : NSLAB_PORT + 1;
      const r = await run([
        "ip",
        "netns",
        "exec",
        hostNs,
        "curl",
        "-s",
        "-m",
        "3",
        `http://127.0.0.1:${port}/`,
      ]);
      return r.code === 0 ? r.out : null;
    },
  };
}

const upstreams = new Map<string, Deno.ChildProcess>();

/**
 * Docker's embedded DNS forwards every name it does not know (`nosuch`, and names on networks the
 * requester is not on) to the machine's resolver — out of the machine. The test gives its
 * containers their own upstream instead: a dnsmasq bound to the test network's gateway that
 * answers NXDOMAIN for every name, so no query leaves the test's own networks.
 */
async function startUpstream(id: string, gateway: string): Promise<void> {
  const child = new Deno.Command("dnsmasq", {
    args: [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      `--listen-address=${gateway}`,
      "--port=53",
      "--address=/#/",
      "--pid-file=",
      "--user=root",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  upstreams.set(id, child);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await run(["dig", "+short", "+tries=1", "+time=1", `@${gateway}`, "upstream.check"]);
    if (r.code === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`the test's DNS upstream on ${gateway} never answered`);
    }
  }
}

async function stopUpstream(id: string): Promise<void> {
  const child = upstreams.get(id);
  if (!child) return;
  upstreams.delete(id);
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.status;
}

/** The real engine: one container per replica, named `<id>-<container>`, labelled. */
async function dockerUp(id: string, image: string, port: number) {
  const label = `nslab.test=${id}`;
  const netName = (net: string) => `${id}_${net}`;
  for (const net of ["front", "back"]) {
    await dockerOut(["network", "create", "--label", label, netName(net)]);
  }
  const gateway = (await dockerOut([
    "network",
    "inspect",
    "--format",
    "{{(index .IPAM.Config 0).Gateway}}",
    netName("front"),
  ])).trim();
  await startUpstream(id, gateway);
  await pool(CONTAINERS.map((c) => async () => {
    // Compose gives each container the service name as an alias (and names the container
    // `<project>-api-1`); nslab's replicas are named `api-1`, so that name is an alias here too,
    // to ask both engines the same question.
    const aliases = (n: { aliases: string[] }) =>
      [...new Set([c.service.name, c.name, ...n.aliases])].flatMap((a) => ["--network-alias", a]);
    const [first, ...rest] = c.service.networks;
    await dockerOut([
      "run",
      "--detach",
      "--name",
      `${id}-${c.name}`,
      "--hostname",
      c.name,
      "--label",
      label,
      "--dns",
      gateway,
      "--network",
      netName(first.net),
      ...aliases(first),
      ...(c.service.published ? ["--publish", `127.0.0.1:${port}:80`] : []),
      image,
      ...SERVE_HOSTNAME,
    ]);
    for (const n of rest) {
      await dockerOut([
        "network",
        "connect",
        ...aliases(n).map((a) => (a === "--network-alias" ? "--alias" : a)),
        netName(n.net),
        `${id}-${c.name}`,
      ]);
    }
  }));
  const addresses = new Map<string, string>();
  for (const c of CONTAINERS) {
    const nets = JSON.parse(
      await dockerOut([
        "inspect",
        "--format",
        "{{json .NetworkSettings.Networks}}",
        `${id}-${c.name}`,
      ]),
    ) as Record<string, { IPAddress: string }>;
    for (const n of c.service.networks) {
      addresses.set(`${c.name}@${n.net}`, nets[netName(n.net)].IPAddress);
    }
  }
  const unpublished = freeLoopbackPort();
  const engine: Engine = {
    netName,
    address: (c, net) => addresses.get(`${c}@${net}`)!,
    ping: async (from, address) =>
      (await docker(["exec", `${id}-${from}`, "ping", "-c1", "-W1", "-q", address])).code === 0,
    lookup: async (from, name) => {
      const r = await docker(["exec", `${id}-${from}`, "nslookup", name]);
      const a = parseNslookup(r.stdout + r.stderr);
      return { rcode: a.rcode, addresses: a.addresses };
    },
    loopback: async (published) => {
      const p = published ? port : unpublished;
      const r = await run(["curl", "-s", "-m", "3", `http://127.0.0.1:${p}/`]);
      return r.code === 0 ? r.out : null;
    },
  };
  return engine;
}

/** Removes every container and network labelled `nslab.test=<id>` (also after a failure). */
async function dockerDown(id: string): Promise<string[]> {
  const label = `label=nslab.test=${id}`;
  const errors: string[] = [];
  await stopUpstream(id);
  const ids = (await docker(["ps", "--all", "--quiet", "--filter", label])).stdout.split("\n")
    .filter((l) => l !== "");
  if (ids.length > 0) {
    const r = await docker(["rm", "--force", ...ids]);
    if (r.code !== 0) errors.push(r.stderr);
  }
  const nets = (await docker(["network", "ls", "--quiet", "--filter", label])).stdout.split("\n")
    .filter((l) => l !== "");
  if (nets.length > 0) {
    const r = await docker(["network", "rm", ...nets]);
    if (r.code !== 0) errors.push(r.stderr);
  }
  return errors;
}

Deno.test({
  name:
    "the same topology under Docker and under nslab: reachability, DNS answers and the published port agree (addresses aside)",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const id = `dk${Math.random().toString(36).slice(2, 8)}`;
    const image = await buildBusyboxImage(id);
    try {
      const port = freeLoopbackPort();
      const dk = await dockerUp(id, image, port);
      await using lab = await Lab.up(nslabTopology(), { name: id, uplink: false });
      const ns = nslabEngine(lab);

      await t.step("the reachability matrix agrees, and is not trivial", async () => {
        const [a, b] = await Promise.all([reachability(dk), reachability(ns)]);
        assertEquals(differences(a, b), []);
        const values = Object.values(a);
        assert(values.includes(true) && values.includes(false), JSON.stringify(a));
        // The shape Docker gives: same network reaches, other networks are isolated.
        assertEquals(a["web → app@front"], true);
        assertEquals(a["app → api-1@back"], true);
        assertEquals(a["web → app@back"], false);
        assertEquals(a["web → api-2@back"], false);
      });

      await t.step("DNS: every name from every container gives the same answer", async () => {
        const [a, b] = await Promise.all([dnsAnswers(dk), dnsAnswers(ns)]);
        assertEquals(differences(a, b), []);
        assertEquals(a["app asks api"], "NOERROR [api-1@back,api-2@back]");
        assertEquals(a["web asks www"], "NOERROR [web@front]");
        assertEquals(a["web asks api"], "NXDOMAIN");
        assertEquals(a["api-1 asks nosuch"], "NXDOMAIN");
      });

      await t.step(
        "a container on two networks resolves on the first one in Docker's order, in both",
        async () => {
          // app shares front and back with itself: Docker's resolver stops at the first network
          // (by name: back) that knows the name — one address, the same in both engines.
          assertEquals((await dk.lookup("app", "app")).addresses, [dk.address("app", "back")]);
          assertEquals((await ns.lookup("app", "app")).addresses, [ns.address("app", "back")]);
        },
      );

      await t.step("DNS: the service name and its alias are the replica set", async () => {
        await replicaSets(dk);
        await replicaSets(ns);
      });

      await t.step(
        "the published port answers from web; an unpublished one is refused",
        async () => {
          assertEquals(await dk.loopback(true), "web\n");
          assertEquals(await ns.loopback(true), "web\n");
          assertEquals(await dk.loopback(false), null);
          assertEquals(await ns.loopback(false), null);
        },
      );

      await t.step("the comparison can fail: app leaves back under Docker only", async () => {
        await dockerOut(["network", "disconnect", dk.netName("back"), `${id}-app`]);
        const [a, b] = await Promise.all([dk.lookup("app", "api"), ns.lookup("app", "api")]);
        assertEquals(a.rcode, "NXDOMAIN");
        notDeepEqual({ rcode: a.rcode, n: a.addresses.length }, {
          rcode: b.rcode,
          n: b.addresses.length,
        });
        const api1 = dk.address("api-1", "back");
        assertEquals(await dk.ping("app", api1), false);
        assertEquals(await ns.ping("app", ns.address("api-1", "back")), true);
      });
    } finally {
      const errors = await dockerDown(id);
      await removeImage(image);
      assertEquals(errors, []);
      const left = await docker(["ps", "--all", "--quiet", "--filter", `label=nslab.test=${id}`]);
      assertEquals(left.stdout.trim(), "");
      assertEquals(listNetns().filter((n) => n.startsWith(`${id}-`)), []);
    }
  },
});
