/**
 * Real-world-shaped Compose projects (testdata/compose/<project>/compose.yaml, written for these
 * tests in the style of awesome-compose, zabbix-docker and the compose-spec examples), each loaded
 * as a user would (from its folder, no -p) and checked for the model built: project and container
 * names, networks and subnets, addresses, interfaces, files.
 */

import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { TopologyError } from "../errors.ts";
import { type LoadOptions, loadTopology, loadTopologyObject, summarize } from "./load.ts";
import { buildPlan } from "../plan/plan.ts";
import { buildRecords } from "../dns/records.ts";
import { lookup } from "../dns/lookup.ts";
import type { Container, Model } from "./types.ts";

const DIR = new URL("testdata/compose/", import.meta.url).pathname;

function project(name: string, opts: LoadOptions = {}): Model {
  const file = `${DIR}${name}/compose.yaml`;
  const text = Deno.readTextFileSync(file);
  return loadTopology({ file, text }, { reserved: [], env: {}, ...opts }).model;
}

function addrs(m: Model): string[][] {
  return m.containers.map((
    c,
  ) => [c.name, ...c.endpoints.map((e) => `${e.ifname} ${e.network} ${e.address}`)]);
}

function nets(m: Model): string[][] {
  return m.networks.filter((n) => n.hosts.length > 0).map((
    n,
  ) => [n.name, n.dockerName!, n.subnet, n.bridge]);
}

function byName(m: Model, name: string): Container {
  return m.containers.find((c) => c.name === name)!;
}

function files(m: Model, name: string): Record<string, string> {
  return buildPlan(m).processes.find((p) => p.container === name)!.files;
}

Deno.test("every real-world-shaped project loads", () => {
  const names = [...Deno.readDirSync(DIR)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  equal(names.length, 8);
  for (const name of names) ok(project(name, { profiles: ["debug"] }).containers.length > 0, name);
});

Deno.test("wordpress: the folder is the project, .env feeds ${…}, everything on <project>_default", () => {
  const m = project("wordpress-with-mysql");
  equal(m.lab, "wordpress-with-mysql"); // 20 bytes: fine, the uplink's name is derived
  ok(/^nsl-[0-9a-f]{11}$/.test(m.underlay.uplink!.rootIfname));
  ok(summarize(m).includes("the uplink's name is derived from the lab name"), summarize(m));
  deepStrictEqual(nets(m), [
    ["default", "wordpress-with-mysql_default", "172.18.0.0/16", "br-default"],
  ]);
  deepStrictEqual(addrs(m), [["db", "eth0 default 172.18.0.2"], [
    "wordpress",
    "eth0 default 172.18.0.3",
  ]]);
  deepStrictEqual(byName(m, "wordpress").ports.map((p) => `${p.hostIp}:${p.hostPort}`), [
    "127.0.0.1:8000",
  ]);
  deepStrictEqual(byName(m, "db").environment.MYSQL_ROOT_PASSWORD, "s3cret # not a comment");
  // db's command is the image's (mariadb's flags): not run in a sandbox; the responder answers
  deepStrictEqual([byName(m, "db").command, byName(m, "db").expose.map((e) => e.port)], [
    null,
    [3306, 33060],
  ]);
  ok(
    m.warnings.some((w) => w.message.includes("the image's command is not run either (1 service")),
  );
  deepStrictEqual(byName(m, "wordpress").environment, {
    WORDPRESS_DB_HOST: "db",
    WORDPRESS_DB_USER: "${NOT_INTERPOLATED}",
    WORDPRESS_DB_NAME: "wordpress",
  });
  deepStrictEqual(byName(m, "db").endpoints[0].aliases, ["wordpress-with-mysql-db-1"]);
  deepStrictEqual(m.containers.map((c) => c.composeName), [
    "wordpress-with-mysql-db-1",
    "wordpress-with-mysql-wordpress-1",
  ]);
});

Deno.test("wordpress: the environment wins over .env; ${VAR:?} without a value is a located error", () => {
  const m = project("wordpress-with-mysql", { env: { WP_PORT: "8088", WP_BIND: "0.0.0.0" } });
  deepStrictEqual(byName(m, "wordpress").ports.map((p) => `${p.hostIp}:${p.hostPort}`), [
    "0.0.0.0:8088",
  ]);
  try {
    project("wordpress-with-mysql", { envFiles: [] });
  } catch (err) {
    ok(err instanceof TopologyError);
    const d = err.diagnostics[0];
    deepStrictEqual(
      [d.pos.line, d.pos.col, d.message],
      [
        10,
        9,
        "required variable DB_ROOT_PASSWORD is missing a value: set DB_ROOT_PASSWORD in .env",
      ],
    );
    return;
  }
  throw new Error("accepted without DB_ROOT_PASSWORD");
});

Deno.test("extends: another file and the same file, merged by Compose's rules", () => {
  const m = project("proxy-extends");
  deepStrictEqual(nets(m), [
    ["front", "shop_front", "172.18.0.0/16", "br-front"],
    ["back", "shop_back", "172.30.1.0/24", "br-back"],
  ]);
  const app = byName(m, "app");
  // environment merged key by key, expose and aliases united, networks merged by name
  deepStrictEqual(app.environment, { LOG_LEVEL: "debug", TZ: "UTC" });
  deepStrictEqual(app.expose.map((e) => e.port), [80, 8080]);
  deepStrictEqual(app.endpoints.map((e) => [e.ifname, e.network, e.aliases]), [
    ["eth0", "front", ["web", "app", "shop-app-1"]], // the engine puts internal back after front
    ["eth1", "back", ["shop-app-1"]],
  ]);
  const canary = byName(m, "app-canary");
  deepStrictEqual(canary.endpoints.map((e) => `${e.network} ${e.address}`), [
    "front 172.18.0.3",
    "back 172.30.1.50",
  ]);
  deepStrictEqual(canary.environment, { LOG_LEVEL: "debug", TZ: "UTC" });
  deepStrictEqual(addrs(m).at(-1), ["proxy", "eth0 front 172.18.0.4"]);
  // an error inside the other file points into that file
  ok(m.warnings.some((w) => w.pos.file.endsWith("common/services.yaml")));
});

Deno.test("include: the included project's services and networks, with its own .env", () => {
  const m = project("monitoring-include");
  equal(m.lab, "monitoring-and-app-with-a-long-project-name");
  deepStrictEqual(nets(m), [
    [
      "metrics",
      "monitoring-and-app-with-a-long-project-name_metrics",
      "10.90.0.0/24",
      "br-metrics",
    ],
    [
      "default",
      "monitoring-and-app-with-a-long-project-name_default",
      "172.18.0.0/16",
      "br-default",
    ],
  ]);
  deepStrictEqual(addrs(m), [
    ["app", "eth0 default 172.18.0.2", "eth1 metrics 10.90.0.2"],
    ["prometheus", "eth0 metrics 10.90.0.3"],
    ["grafana", "eth0 metrics 10.90.0.4"],
  ]);
  deepStrictEqual(byName(m, "prometheus").ports.map((p) => p.hostPort), [19090]);
  equal(byName(m, "app").netns, "monitoring-and-app-with-a-long-project-name-app");
});

Deno.test("profiles: inactive services are not built; --profile and COMPOSE_PROFILES enable them", () => {
  deepStrictEqual(project("profiles-debug").containers.map((c) => c.name), ["api"]);
  const debug = project("profiles-debug", { profiles: ["debug"] });
  deepStrictEqual(debug.containers.map((c) => c.name), ["api", "adminer", "tcpdump"]);
  deepStrictEqual(byName(debug, "tcpdump").mode, { kind: "container", of: "api" });
  const env = project("profiles-debug", { env: { COMPOSE_PROFILES: "net,setup" } });
  deepStrictEqual(env.containers.map((c) => c.name), ["api", "tcpdump", "seed"]);
  deepStrictEqual(project("profiles-debug", { profiles: ["*"] }).containers.length, 4);
});

Deno.test("networks: default: configures the project network (name, ipam, bridge name, mtu)", () => {
  const m = project("default-net-config");
  const n = m.networks.find((x) => x.name === "default")!;
  deepStrictEqual(
    [n.dockerName, n.subnet, n.ipRange, n.gateway, n.bridge, n.mtu, n.isDefault],
    ["homelab_net", "10.20.0.0/24", "10.20.0.128/25", "10.20.0.254", "br-homelab", 1400, false],
  );
  // fixed address first, the aux address (.129) never handed out
  deepStrictEqual(addrs(m), [
    ["router", "eth0 default 10.20.0.130"],
    ["client-1", "eth0 default 10.20.0.128"],
    ["client-2", "eth0 default 10.20.0.131"],
  ]);
  deepStrictEqual(byName(m, "router").endpoints[0].aliases, [
    "gw.lan",
    "default-net-config-router-1",
  ]);
  deepStrictEqual(byName(m, "client-2").composeName, "default-net-config-client-2");
  // host_binding_ipv4: where ports bind when the file names no address
  deepStrictEqual(byName(m, "router").ports.map((p) => `${p.hostIp}:${p.hostPort}`), [
    "127.0.0.1:8053",
    "192.0.2.2:8054",
  ]);
});

Deno.test("networking keys: container_name, links, hosts files, DNS options, MAC, priorities", () => {
  const m = project("networking-keys");
  deepStrictEqual(nets(m), [
    ["bridge", "bridge", "172.17.0.0/16", "docker0"], // built for api's host-gateway
    ["front", "keys_front", "10.99.0.0/24", "br-front"],
    ["back", "keys_back", "172.18.0.0/16", "br-back"],
    ["default", "keys_default", "172.19.0.0/16", "br-default"],
  ]);
  const db = byName(m, "db"); // service "DB": kernel names lower case
  deepStrictEqual([db.composeName, db.netns, db.hostname], ["keys-database", "keys-db", "db"]);
  deepStrictEqual(db.endpoints[0].mac, "02:42:0a:63:00:0a");
  deepStrictEqual(db.endpoints[0].aliases, ["keys-database"]);
  deepStrictEqual(db.expose.map((e) => e.port), [5432, 9100, 9101, 9102]);
  const api = byName(m, "api");
  // priority 10 does not move internal back before front (the engine's order); back keeps its
  // interface_name; gw_priority 100 routes through front
  deepStrictEqual(api.endpoints.map((e) => [e.ifname, e.network, e.address]), [
    ["eth0", "front", "10.99.0.2"],
    ["back0", "back", "172.18.0.3"],
  ]);
  equal(api.defaultEndpoint, 0);
  deepStrictEqual(api.runtime, "netns"); // runtime: runc is Compose's OCI runtime
  deepStrictEqual(
    api.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`),
    [
      "0.0.0.0:8080->80/tcp",
      "127.0.0.1:9000->9000/udp",
      "127.0.0.1:9001->9001/udp",
      "0.0.0.0:8443->8443/tcp",
    ],
  );
  deepStrictEqual(api.dns, {
    servers: ["1.1.1.1", "9.9.9.9"],
    search: ["example.internal"],
    options: ["use-vc", "timeout:2"],
  });
  const f = files(m, "api");
  equal(
    f["resolv.conf"],
    "# written by nslab: the lab's embedded DNS\nnameserver 127.0.0.11\nsearch example.internal\n" +
      "options ndots:0 use-vc timeout:2\n",
  );
  ok(f.hosts.endsWith("172.17.0.1\thost.docker.internal\n192.0.2.10\tlegacy.local\n"), f.hosts);
  // links over a user network: a name only api's embedded DNS answers (Docker's rule)
  deepStrictEqual(api.links, [{ name: "database", address: "172.18.0.2" }]);
  const records = buildRecords(m);
  const answer = lookup(records, "api", "database", "A").answers;
  deepStrictEqual(answer.map((a) => a.type === "A" && a.address), ["172.18.0.2"]);
  equal(lookup(records, "db", "database", "A").rcode, "NXDOMAIN");
  ok(files(m, "db").hosts.includes("172.18.0.2\tdb.example.internal db\n"));
  ok(files(m, "web").hosts.endsWith("10.99.0.2\tapi.local\n"));
  deepStrictEqual(byName(m, "sidecar").mode, { kind: "container", of: "api" });
  deepStrictEqual(byName(m, "debug").mode, { kind: "container", of: "db" }); // container:<container_name>
  const warnings = m.warnings.map((w) => w.message);
  // ipv6_address and the IPv6 ipam entry are read: api keeps its fixed address on front.
  deepStrictEqual(byName(m, "api").endpoints.find((e) => e.network === "front")?.ipv6, {
    address: "fd00::10",
    prefix: 64,
    gateway: "fd00::1",
  });
  equal(m.networks.find((n) => n.name === "front")?.ipv6?.subnet, "fd00::/64");
  ok(warnings.includes("ignored (nslab builds only the network): app_protocol, pre_start"));
});

Deno.test("x-nslab: nslab's keys under x-nslab build the same lab as at the top", () => {
  const m = project("one-file-both-tools");
  deepStrictEqual(m.hosts.map((h) => h.name), ["h1", "h2"]);
  deepStrictEqual(m.containers.map((c) => [c.name, c.host]), [["web", "h1"], ["api", "h2"]]);
  equal(m.checks.length, 1);
  throws(
    () =>
      loadTopology({
        file: "t.yaml",
        text: "name: t\nx-nslab: {hostz: {}}\nservices: {web: {x-nslab: {host: h1}, host: h1}}\n",
      }, { reserved: [], env: {} }),
    (e: unknown) =>
      e instanceof TopologyError &&
      e.diagnostics.map((d) => d.message).join("|") ===
        'unknown key "hostz" in x-nslab of the top level|host is set both in x-nslab and outside it (service web)',
  );
});

Deno.test("zabbix-like: anchors, variables in subnets, internal networks, a host-mode agent", () => {
  const m = project("zabbix-like", { env: { FRONTEND_SUBNET: "172.16.240.0/24" } });
  deepStrictEqual(nets(m).map((n) => n.slice(0, 3)), [
    ["zbx_net_frontend", "zabbix-like_zbx_net_frontend", "172.16.240.0/24"],
    ["zbx_net_backend", "zabbix-like_zbx_net_backend", "172.16.239.0/24"],
    ["zbx_net_database", "zabbix-like_zbx_net_database", "172.18.0.0/16"],
  ]);
  deepStrictEqual(addrs(m), [
    ["server", "eth0 zbx_net_frontend 172.16.240.2", "eth1 zbx_net_backend 172.16.239.2"],
    ["web", "eth0 zbx_net_frontend 172.16.240.3", "eth1 zbx_net_backend 172.16.239.3"],
    ["agent"],
    ["postgres", "eth0 zbx_net_database 172.18.0.2"],
    ["snmptraps", "eth0 zbx_net_frontend 172.16.240.4", "eth1 zbx_net_backend 172.16.239.4"],
  ]);
  deepStrictEqual(byName(m, "server").ports.map((p) => p.hostPort), [10051]);
  deepStrictEqual(byName(m, "agent").ports, []); // discarded in host mode, with Docker's warning
});

Deno.test("depends_on: containers take addresses in the order Compose starts them", () => {
  const text =
    "name: t\nservices:\n  web: {depends_on: [api]}\n  api: {depends_on: {db: {condition: service_healthy}}}\n" +
    "  db: {}\n  cache: {}\n";
  const m = loadTopology({ file: "t.yaml", text }, { reserved: [], env: {} }).model;
  deepStrictEqual(m.containers.map((c) => [c.name, c.endpoints[0].address]), [
    ["web", "172.18.0.4"],
    ["api", "172.18.0.3"],
    ["db", "172.18.0.2"],
    ["cache", "172.18.0.5"],
  ]);
});

Deno.test("a project long enough to make Compose's container name no DNS label keeps its other names", () => {
  const project = "p".repeat(60);
  const m = loadTopology({ file: "t.yaml", text: "services: {web: {}}\n" }, {
    reserved: [],
    env: {},
    project,
  }).model;
  deepStrictEqual([m.containers[0].composeName, m.containers[0].netns], [
    `${project}-web-1`,
    `${project}-web`,
  ]);
  deepStrictEqual(m.containers[0].endpoints[0].aliases, []); // 66 bytes: not a DNS label
});

Deno.test("include's long form: a list of paths and its own env_file", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nslab-include-" });
  try {
    Deno.mkdirSync(`${dir}/sub`);
    Deno.writeTextFileSync(`${dir}/prod.env`, "DB_PORT=15432\n");
    Deno.writeTextFileSync(
      `${dir}/sub/db.yaml`,
      'services:\n  db: {ports: ["${DB_PORT:-5432}:5432"]}\n',
    );
    Deno.writeTextFileSync(`${dir}/sub/cache.yaml`, "services:\n  cache: {}\n");
    const text = "include:\n  - path: [sub/db.yaml, sub/cache.yaml]\n    env_file: prod.env\n" +
      "services:\n  app: {}\n";
    const m = loadTopology({ file: `${dir}/compose.yaml`, text }, { reserved: [], env: {} }).model;
    deepStrictEqual(m.containers.map((c) => c.name), ["app", "db", "cache"]);
    deepStrictEqual(byName(m, "db").ports.map((p) => p.hostPort), [15432]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("links on docker0 are /etc/hosts lines, as Docker's legacy links", () => {
  const text = "name: t\nservices:\n  a: {network_mode: bridge, links: [b:bee]}\n" +
    "  b: {network_mode: bridge}\n";
  const m = loadTopology({ file: "t.yaml", text }, { reserved: [], env: {} }).model;
  deepStrictEqual(byName(m, "a").extraHosts, [
    { name: "bee", address: "172.17.0.3" },
    { name: "b", address: "172.17.0.3" },
  ]);
  equal(byName(m, "a").links, undefined);
});

Deno.test("external: true joins a running lab's network by its Docker name, off its used addresses", () => {
  const shared = {
    name: "edge",
    lab: "owner",
    network: "front",
    netns: "owner-host",
    bridge: "br-front",
    subnet: "172.18.0.0/16",
    gateway: "172.18.0.1",
    internal: false,
    mtu: 1500,
    taken: ["172.18.0.2", "172.18.0.3"],
  };
  const file = {
    name: "user",
    services: { app: { networks: ["edge", "default"] }, worker: {} },
    networks: { edge: { external: true } },
  };
  const m = loadTopologyObject(file, {
    machine: { routes: [], underlays: [], networks: [shared] },
    uplink: false,
  }).model;
  const edge = m.networks.find((n) => n.name === "edge")!;
  deepStrictEqual(
    [edge.dockerName, edge.subnet, edge.gateway, edge.bridge, edge.hosts, edge.external],
    ["edge", "172.18.0.0/16", "172.18.0.1", "br-front", [], {
      lab: "owner",
      network: "front",
      netns: "owner-host",
      bridge: "br-front",
    }],
  );
  const app = byName(m, "app");
  // the owner's addresses stay out; the project network keeps off the shared subnet
  deepStrictEqual(app.endpoints.map((e) => `${e.ifname} ${e.network} ${e.address}`), [
    "eth0 edge 172.18.0.4",
    "eth1 default 172.19.0.2",
  ]);
  // the plan: app's veth has its peer on the owner's bridge; this lab builds no bridge for it
  const plan = buildPlan(m);
  const appNs = plan.namespaces.find((n) => n.name === "user-app")!;
  deepStrictEqual(appNs.links.find((l) => l.name === "eth0"), {
    kind: "veth",
    name: "eth0",
    mac: app.endpoints[0].mac,
    mtu: 1500,
    peer: { name: app.endpoints[0].hostIfname, ns: "owner-host", master: "br-front", mtu: 1500 },
  });
  ok(!plan.namespaces.some((n) => n.links.some((l) => l.name === "br-front")));
  // not running: Compose's own error
  throws(
    () => loadTopologyObject(file, { reserved: [], uplink: false }),
    /network edge declared as external, but could not be found/,
  );
});
