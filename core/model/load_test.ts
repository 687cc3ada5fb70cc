import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { findTopologyFile, loadTopology, loadTopologyObject, summarize } from "./load.ts";
import type { Model } from "./types.ts";

function load(text: string, opts: { reserved?: string[]; uplink?: boolean } = {}): Model {
  return loadTopology({ file: "t.yaml", text }, { reserved: [], ...opts }).model;
}

function ep(model: Model, container: string, network: string) {
  const c = model.containers.find((c) => c.name === container)!;
  return c.endpoints.find((e) => e.network === network)!;
}

Deno.test("a container without networks joins <project>_default, a user bridge from the pool", () => {
  const m = load("name: t\ncontainers:\n  web: {}\n");
  deepStrictEqual(m.hosts.map((h) => [h.name, h.netns, h.address, h.mac, h.underlayIfname]), [
    ["host", "t-host", "10.77.0.11", "02:4e:0a:4d:00:0b", "u-host"],
  ]);
  const def = m.networks.find((n) => n.name === "default")!;
  deepStrictEqual(
    [def.dockerName, def.subnet, def.gateway, def.bridge, def.isDefault, def.hosts, def.mtu],
    ["t_default", "172.18.0.0/16", "172.18.0.1", "br-default", false, ["host"], 1500],
  );
  // docker0 is in the model, built on the hosts where a container uses it (none here).
  const docker0 = m.networks.find((n) => n.name === "bridge")!;
  deepStrictEqual(
    [docker0.subnet, docker0.gateway, docker0.bridge, docker0.isDefault, docker0.hosts],
    ["172.17.0.0/16", "172.17.0.1", "docker0", true, []],
  );
  const web = m.containers[0];
  equal(web.netns, "t-web");
  equal(web.defaultEndpoint, 0);
  const e = web.endpoints[0];
  deepStrictEqual(
    [e.network, e.ifname, e.address, e.prefix, e.mac, e.gateway],
    ["default", "eth0", "172.18.0.2", 16, "02:42:ac:12:00:02", "172.18.0.1"],
  );
  ok(/^veth[0-9a-f]{7}$/.test(e.hostIfname));
  deepStrictEqual(m.underlay, {
    netns: "t-underlay",
    subnet: "10.77.0.0/24",
    prefix: 24,
    bridge: "br0",
    uplink: { rootIfname: "nsl-t", underlayIfname: "uplink", address: "10.77.0.254" },
  });
});

Deno.test("user networks take Docker's pools in order, skipping routed and explicit subnets", () => {
  const text = "name: t\nnetworks:\n  a: {}\n  b: {ipam: {config: [{subnet: 172.19.0.0/24}]}}\n" +
    "  c: {}\ncontainers:\n  x: {networks: [a, b, c]}\n";
  const plain = load(text);
  deepStrictEqual(plain.networks.map((n) => n.subnet), [
    "172.17.0.0/16",
    "172.18.0.0/16",
    "172.19.0.0/24",
    "172.20.0.0/16",
  ]);
  const routed = load(text, { reserved: ["172.18.0.0/16", "172.20.3.0/24", "10.77.0.0/24"] });
  deepStrictEqual(routed.networks.map((n) => n.subnet).slice(1), [
    "172.21.0.0/16",
    "172.19.0.0/24",
    "172.22.0.0/16",
  ]);
  equal(routed.underlay.subnet, "10.77.1.0/24");
});

Deno.test("addresses: fixed ones first, then the first free in ip_range, replicas in order", () => {
  const m = load(
    "name: t\nnetworks:\n  a:\n    ipam: {config: [{subnet: 10.5.0.0/24, ip_range: 10.5.0.16/28}]}\n" +
      "containers:\n  x: {networks: [a]}\n  api:\n    deploy: {replicas: 3}\n    networks:\n      a: {ipv4_address: 10.5.0.100}\n" +
      "  y: {networks: {a: {ipv4_address: 10.5.0.16}}}\n  z: {networks: [a]}\n",
  );
  deepStrictEqual(
    m.containers.map((c) => [c.name, c.replica, c.service, c.endpoints[0].address]),
    [
      ["x", null, "x", "10.5.0.17"],
      ["api-1", 1, "api", "10.5.0.100"],
      ["api-2", 2, "api", "10.5.0.101"],
      ["api-3", 3, "api", "10.5.0.102"],
      ["y", null, "y", "10.5.0.16"],
      ["z", null, "z", "10.5.0.18"],
    ],
  );
  equal(m.networks[1].ipRange, "10.5.0.16/28");
  equal(m.networks[1].gateway, "10.5.0.1");
});

Deno.test("bridge networks are host-scoped, overlay networks global", () => {
  const m = load(
    "name: t\nhosts: {h1: {}, h2: {}}\nnetworks:\n  b: {}\n  o: {driver: overlay}\n" +
      "containers:\n  x: {host: h1, networks: [b, o]}\n  y: {host: h2, networks: [b, o]}\n",
  );
  equal(ep(m, "x", "b").address, "172.18.0.2");
  equal(ep(m, "y", "b").address, "172.18.0.2");
  equal(ep(m, "x", "o").address, "10.0.0.2");
  equal(ep(m, "y", "o").address, "10.0.0.3");
  const o = m.networks.find((n) => n.name === "o")!;
  deepStrictEqual([o.scope, o.mtu, o.vxlan, o.bridge, o.hosts], [
    "global",
    1450,
    { vni: 4096, port: 4789, device: "vx-o" },
    "ov-o",
    ["h1", "h2"],
  ]);
  equal(ep(m, "x", "o").gateway, "");
});

Deno.test("an overlay container gets docker_gwbridge last; it carries the default route when the overlay comes first", () => {
  const m = load(
    "name: t\nhosts: {h1: {}, h2: {}}\nnetworks:\n  o: {driver: overlay}\n  p: {}\n  i: {driver: overlay, internal: true}\n" +
      "containers:\n  x: {host: h1, networks: [p, o]}\n  y: {host: h2, networks: {o: {}, p: {gw_priority: 1}}}\n" +
      "  z: {host: h2, networks: [i]}\n",
  );
  const x = m.containers[0];
  // The engine orders interfaces by network name: o before p whatever the file's order.
  deepStrictEqual(x.endpoints.map((e) => [e.ifname, e.network]), [
    ["eth0", "o"],
    ["eth1", "p"],
    ["eth2", "docker_gwbridge"],
  ]);
  equal(x.defaultEndpoint, 2);
  equal(m.containers[1].defaultEndpoint, 1); // gw_priority: p carries it, not the overlay
  deepStrictEqual(m.containers[2].endpoints.map((e) => e.network), ["i"]);
  equal(m.containers[2].defaultEndpoint, -1);
  const gw = m.networks.find((n) => n.name === "docker_gwbridge")!;
  deepStrictEqual([gw.bridge, gw.subnet, gw.hosts, gw.driver], [
    "docker_gwbridge",
    "172.19.0.0/16",
    ["h1", "h2"],
    "bridge",
  ]);
  deepStrictEqual(m.networks.find((n) => n.name === "i")!.vxlan!.vni, 4097);
});

Deno.test("internal networks give no gateway to their endpoints", () => {
  const m = load("name: t\nnetworks:\n  i: {internal: true}\ncontainers:\n  x: {networks: [i]}\n");
  equal(m.containers[0].endpoints[0].gateway, "");
  equal(m.containers[0].defaultEndpoint, -1);
  equal(m.networks[1].gateway, "172.18.0.1");
});

Deno.test("network modes: host shares the host's namespace, container:X and service:X share X's", () => {
  const m = load(
    "name: t\ncontainers:\n  api: {deploy: {replicas: 2}}\n  web: {}\n  tool: {network_mode: host}\n" +
      '  vault: {network_mode: none}\n  side: {network_mode: "container:web"}\n  mon: {network_mode: "service:api"}\n' +
      "  old: {network_mode: bridge}\n",
  );
  const c = Object.fromEntries(m.containers.map((c) => [c.name, c]));
  deepStrictEqual([c.tool.netns, c.tool.mode, c.tool.endpoints], ["t-host", { kind: "host" }, []]);
  deepStrictEqual([c.vault.netns, c.vault.mode, c.vault.endpoints], [
    "t-vault",
    { kind: "none" },
    [],
  ]);
  deepStrictEqual([c.side.netns, c.side.mode], ["t-web", { kind: "container", of: "web" }]);
  deepStrictEqual([c.mon.netns, c.mon.mode], ["t-api-1", { kind: "container", of: "api-1" }]);
  // network_mode: bridge is docker0, as `docker run` gives; no embedded DNS names there.
  deepStrictEqual(c.old.endpoints.map((e) => [e.network, e.address]), [["bridge", "172.17.0.2"]]);
  deepStrictEqual(c.web.endpoints.map((e) => [e.network, e.address]), [["default", "172.18.0.4"]]);
  equal(c.vault.defaultEndpoint, -1);
});

Deno.test("published ports without a host port take the first free port from 49153, per protocol", () => {
  const m = load(
    'name: t\ncontainers:\n  a: {ports: ["80", "49153:81", "53/udp"]}\n  b: {ports: ["80"]}\n',
  );
  deepStrictEqual(
    m.containers.flatMap((c) =>
      c.ports.map((p) => `${c.name} ${p.hostPort}/${p.protocol} ${p.random}`)
    ),
    ["a 49154/tcp true", "a 49153/tcp false", "a 49153/udp true", "b 49155/tcp true"],
  );
});

Deno.test("the same host port is fine on two hosts or on two host addresses", () => {
  const m = load(
    'name: t\nhosts: {h1: {}, h2: {}}\ncontainers:\n  a: {host: h1, ports: ["127.0.0.1:80:80", "10.77.0.11:80:80"]}\n' +
      '  b: {host: h2, ports: ["80:80"]}\n  c: {host: h1, ports: ["80:80/udp"]}\n',
  );
  equal(m.containers.flatMap((c) => c.ports).length, 4);
});

Deno.test("macvlan takes the underlay subnet and never a host's or the uplink's address", () => {
  const m = load(
    "name: t\nunderlay: {subnet: 10.9.0.0/29}\nhosts: {h1: {address: 10.9.0.1}, h2: {}}\nnetworks:\n" +
      '  lan: {driver: macvlan}\n  v: {driver: macvlan, driver_opts: {parent: eth0.42, macvlan_mode: private, host_shim: "true"}, ' +
      "ipam: {config: [{subnet: 192.168.42.0/24}]}}\ncontainers:\n  a: {host: h1, networks: [lan]}\n" +
      "  b: {host: h2, networks: [lan, v]}\n",
  );
  deepStrictEqual(m.hosts.map((h) => h.address), ["10.9.0.1", "10.9.0.2"]);
  equal(m.underlay.uplink!.address, "10.9.0.6");
  deepStrictEqual([ep(m, "a", "lan").address, ep(m, "b", "lan").address], ["10.9.0.3", "10.9.0.4"]);
  const lan = m.networks.find((n) => n.name === "lan")!;
  deepStrictEqual([lan.subnet, lan.gateway, lan.bridge, lan.macvlan], ["10.9.0.0/29", "", "", {
    parent: "eth0",
    vlan: null,
    mode: "bridge",
    hostShim: false,
  }]);
  deepStrictEqual(m.networks.find((n) => n.name === "v")!.macvlan, {
    parent: "eth0.42",
    vlan: 42,
    mode: "private",
    hostShim: true,
  });
  equal(ep(m, "b", "lan").hostIfname, "");
  equal(ep(m, "b", "lan").gateway, "");
});

Deno.test("host addresses: the underlay is the /24 holding the given ones; others get .11 up", () => {
  const m = load("name: t\nhosts: {h1: {}, h2: {address: 192.168.7.11}, h3: {}}\n");
  equal(m.underlay.subnet, "192.168.7.0/24");
  deepStrictEqual(m.hosts.map((h) => h.address), ["192.168.7.12", "192.168.7.11", "192.168.7.13"]);
});

Deno.test("no uplink when asked, or when the machine already routes the chosen underlay", () => {
  equal(load("name: t\n", { uplink: false }).underlay.uplink, null);
  const m = load("name: t\nunderlay: {subnet: 10.77.0.0/24}\n", { reserved: ["10.77.0.0/24"] });
  equal(m.underlay.uplink, null);
  ok(m.warnings[0].message.startsWith("no uplink: the machine already routes 10.77.0.0/24"));
});

Deno.test("long network names get hashed kernel names of 15 bytes", () => {
  const m = load(
    "name: t\nhosts: {h1: {}, h2: {}}\nnetworks:\n  frontend-public: {}\n  overlay-network: {driver: overlay}\n" +
      "containers:\n  a: {host: h1, networks: [frontend-public, overlay-network]}\n  b: {host: h2, networks: [overlay-network]}\n",
  );
  const [, f, o] = m.networks;
  ok(/^br-[0-9a-f]{12}$/.test(f.bridge), f.bridge);
  ok(/^ov-[0-9a-f]{12}$/.test(o.bridge), o.bridge);
  ok(/^vx-[0-9a-f]{12}$/.test(o.vxlan!.device), o.vxlan!.device);
});

Deno.test("veth names are unique on each host", () => {
  const services = Array.from({ length: 300 }, (_, i) => `  c${i}: {networks: [a, b]}`).join("\n");
  const m = load(
    `name: t\nnetworks:\n  a: {ipam: {config: [{subnet: 10.1.0.0/16}]}}\n  b: {}\ncontainers:\n${services}\n`,
  );
  const names = m.containers.flatMap((c) => c.endpoints.map((e) => e.hostIfname));
  equal(new Set(names).size, 600);
  ok(names.every((n) => /^veth[0-9a-f]{7}$/.test(n)));
});

Deno.test("command, environment, hostname, restart and priority are read like Compose", () => {
  const m = load(
    "name: t\nnetworks: {a: {}, b: {}}\ncontainers:\n  web:\n    command: python3 -m http.server 80\n" +
      '    environment: [A=1, "B=x=y", C]\n    hostname: www\n    restart: on-failure:3\n' +
      '    networks: {a: {}, b: {priority: 10}}\n  api:\n    command: [sh, -c, "echo $$X"]\n' +
      "    environment: {X: 1, Y: true, Z: null}\n    runtime: docker\n    image: alpine\n",
  );
  const [web, api] = m.containers;
  deepStrictEqual(web.command, ["python3", "-m", "http.server", "80"]);
  deepStrictEqual(web.environment, { A: "1", B: "x=y" });
  deepStrictEqual([web.hostname, web.restart], ["www", "on-failure"]);
  // priority is read, and (as on the engine) does not reorder the interfaces: a before b
  deepStrictEqual(web.endpoints.map((e) => e.network), ["a", "b"]);
  deepStrictEqual(api.command, ["sh", "-c", "echo $X"]);
  deepStrictEqual(api.environment, { X: "1", Y: "true" });
  deepStrictEqual([api.runtime, api.image, api.hostname], ["docker", "alpine", "api"]);
});

Deno.test("checks are read into their kinds", () => {
  const m = load(
    'name: t\nnetworks: {a: {}}\ncontainers:\n  web: {networks: {a: {aliases: [www]}}, ports: ["8080:80"]}\n  api: {networks: [a]}\n' +
      'checks:\n  - {from: api, to: "www:80", expect: open}\n  - {from: outside, to: "host:8080/tcp", expect: web}\n' +
      '  - {from: api, to: web, expect: unreachable}\n  - {from: api, to: "172.18.0.2:53/udp", expect: closed}\n' +
      "  - {dns: www, from: api, expect: [172.18.0.2]}\n  - {dns: nope, from: api, type: AAAA, expect: nxdomain}\n",
  );
  deepStrictEqual(
    m.checks.map((c) =>
      c.kind === "reach" ? [c.to, c.protocol, c.expect] : [c.name, c.type, c.expect]
    ),
    [
      ["www:80", "tcp", { kind: "open" }],
      ["host:8080/tcp", "tcp", { kind: "answeredBy", container: "web" }],
      ["web", "icmp", { kind: "unreachable" }],
      ["172.18.0.2:53/udp", "udp", { kind: "closed" }],
      ["www", "A", { kind: "addresses", addresses: ["172.18.0.2"] }],
      ["nope", "AAAA", { kind: "nxdomain" }],
    ],
  );
  deepStrictEqual(m.checks[0].pos, { file: "t.yaml", line: 7, col: 5 });
});

Deno.test("a topology object loads like the same YAML", () => {
  const fromObj = loadTopologyObject({
    name: "t",
    networks: { front: {} },
    containers: { web: { networks: { front: { aliases: ["www"] } }, ports: ["8080:80"] } },
  }, { reserved: [] }).model;
  const fromYaml = load(
    'name: t\nnetworks: {front: {}}\ncontainers:\n  web: {networks: {front: {aliases: [www]}}, ports: ["8080:80"]}\n',
  );
  const strip = (m: Model) =>
    JSON.parse(JSON.stringify(m, (k, v) => (k === "pos" || k === "file" ? undefined : v)));
  deepStrictEqual(strip(fromObj), strip(fromYaml));
});

Deno.test("the lab name falls back to the file's folder, normalised", () => {
  const m = loadTopology({ file: "/tmp/My_Lab/compose.yaml", text: "services:\n  web: {}\n" }, {
    reserved: [],
  }).model;
  equal(m.lab, "my_lab");
  // A long folder name is a fine project name: only the uplink's interface name is derived.
  const long = loadTopology(
    { file: "/tmp/-A very.long_Project-Name/x.yaml", text: "services:\n  web: {}\n" },
    { reserved: [] },
  ).model;
  equal(long.lab, "averylong_project-name");
  equal(long.containers[0].netns, "averylong_project-name-web");
  ok(/^nsl-[0-9a-f]{11}$/.test(long.underlay.uplink!.rootIfname));
  const again = loadTopology({ file: "/x/y.yaml", text: "services: {}\n" }, {
    reserved: [],
    project: "averylong_project-name",
  }).model;
  equal(again.underlay.uplink!.rootIfname, long.underlay.uplink!.rootIfname);
});

Deno.test("findTopologyFile prefers nslab.yaml, then Compose's names", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nslab-model-" });
  try {
    equal(findTopologyFile(dir), null);
    Deno.writeTextFileSync(`${dir}/docker-compose.yml`, "services: {}\n");
    equal(findTopologyFile(dir), `${dir}/docker-compose.yml`);
    Deno.writeTextFileSync(`${dir}/compose.yaml`, "services: {}\n");
    equal(findTopologyFile(dir), `${dir}/compose.yaml`);
    Deno.writeTextFileSync(`${dir}/nslab.yaml`, "services: {}\n");
    equal(findTopologyFile(dir), `${dir}/nslab.yaml`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the summary lists hosts, networks with subnet and gateway, containers with addresses and ports", () => {
  const s = summarize(load(
    'name: t\nnetworks: {front: {}}\ncontainers:\n  web: {networks: [front], ports: ["127.0.0.1:8080:80"]}\n  tool: {network_mode: host, ports: ["1:1"]}\n',
  ));
  ok(s.includes("lab t: 1 host(s), 2 network(s), 2 container(s)"), s);
  ok(
    /front \(t_front\) +bridge +172\.18\.0\.0\/16 +gw 172\.18\.0\.1 +br-front +on host/.test(s),
    s,
  );
  ok(/web +host +eth0 front 172\.18\.0\.2\/16 +127\.0\.0\.1:8080->80\/tcp/.test(s), s);
  ok(s.includes("tool: Published ports are discarded when using host network mode"), s);
});
