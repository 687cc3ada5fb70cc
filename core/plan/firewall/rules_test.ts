import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { hostRuleset, hostSysctls, portMappings } from "./rules.ts";
import { type FwContainer, fwModel, type FwNetwork } from "./_testmodel.ts";

const front: FwNetwork = { name: "front", subnet: "172.20.0.0/24" };
const back: FwNetwork = { name: "back", subnet: "172.21.0.0/24" };

function web(ports: FwContainer["ports"], extra: Partial<FwContainer> = {}): FwContainer {
  return {
    name: "web",
    endpoints: [{ network: "front", address: "172.20.0.10" }],
    ports,
    ...extra,
  };
}

/** The `-A` lines of one table, in order. */
function table(text: string, name: "nat" | "filter"): string[] {
  const start = text.indexOf(`*${name}\n`);
  assert(start >= 0, `no *${name} in:\n${text}`);
  const end = text.indexOf("COMMIT\n", start);
  return text.slice(start, end).split("\n").filter((l) => l.startsWith("-A "));
}

function rules(networks: FwNetwork[], containers: FwContainer[], host = "h1") {
  const text = hostRuleset(fwModel(networks, containers), host);
  return { text, nat: table(text, "nat"), filter: table(text, "filter") };
}

Deno.test("writes Docker's classic layout for one network and one published port, exactly", () => {
  const { text } = rules([front], [web([{ hostPort: 8080, containerPort: 80 }])]);
  assertEquals(
    text,
    `# nslab firewall of host h1 (namespace lab-h1): Docker's iptables layout, no userland proxy
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
# front: traffic leaving 172.20.0.0/24, and host-originated traffic into br-front
-A POSTROUTING -s 172.20.0.0/24 ! -o br-front -j MASQUERADE
-A POSTROUTING -o br-front -m addrtype --src-type LOCAL -j MASQUERADE
# hairpin: a container reaching its own published port
-A POSTROUTING -s 172.20.0.10/32 -d 172.20.0.10/32 -p tcp -m tcp --dport 80 -j MASQUERADE
# published ports
-A DOCKER -p tcp -m tcp --dport 8080 -m comment --comment "web 0.0.0.0:8080->80/tcp" -j DNAT --to-destination 172.20.0.10:80
COMMIT
*filter
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
# front (br-front, 172.20.0.0/24)
-A FORWARD -o br-front -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br-front -j DOCKER
-A FORWARD -i br-front ! -o br-front -j ACCEPT
-A FORWARD -i br-front -o br-front -j ACCEPT
# published ports: let the DNATed connections in
-A DOCKER -d 172.20.0.10/32 ! -i br-front -o br-front -p tcp -m tcp --dport 80 -j ACCEPT
# isolation between the host's networks
-A DOCKER-ISOLATION-STAGE-1 -i br-front ! -o br-front -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o br-front -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
# DOCKER-USER: yours; nslab never adds to it
-A DOCKER-USER -j RETURN
COMMIT
`,
  );
});

Deno.test("binds a DNAT rule to the host address a port is published on", () => {
  const { nat } = rules([front], [
    web([{ hostPort: 9090, containerPort: 90, hostIp: "127.0.0.1" }]),
  ]);
  assertEquals(nat.filter((l) => l.includes("DNAT")), [
    '-A DOCKER -d 127.0.0.1/32 -p tcp -m tcp --dport 9090 -m comment --comment "web 127.0.0.1:9090->90/tcp" -j DNAT --to-destination 172.20.0.10:90',
  ]);
});

Deno.test("publishes udp and sctp ports with their own protocol match", () => {
  const { nat, filter } = rules([front], [
    web([{ hostPort: 5353, containerPort: 53, protocol: "udp" }, {
      hostPort: 3868,
      containerPort: 3868,
      protocol: "sctp",
    }]),
  ]);
  assertEquals(nat.filter((l) => l.includes("DNAT")), [
    '-A DOCKER -p sctp -m sctp --dport 3868 -m comment --comment "web 0.0.0.0:3868->3868/sctp" -j DNAT --to-destination 172.20.0.10:3868',
    '-A DOCKER -p udp -m udp --dport 5353 -m comment --comment "web 0.0.0.0:5353->53/udp" -j DNAT --to-destination 172.20.0.10:53',
  ]);
  assertEquals(filter.filter((l) => l.startsWith("-A DOCKER ")), [
    "-A DOCKER -d 172.20.0.10/32 ! -i br-front -o br-front -p sctp -m sctp --dport 3868 -j ACCEPT",
    "-A DOCKER -d 172.20.0.10/32 ! -i br-front -o br-front -p udp -m udp --dport 53 -j ACCEPT",
  ]);
  assert(nat.includes(
    "-A POSTROUTING -s 172.20.0.10/32 -d 172.20.0.10/32 -p udp -m udp --dport 53 -j MASQUERADE",
  ));
});

Deno.test("writes one DNAT rule per port of an expanded range, sorted by host port", () => {
  const { nat } = rules([front], [
    web([
      { hostPort: 8082, containerPort: 82 },
      { hostPort: 8080, containerPort: 80 },
      { hostPort: 8081, containerPort: 81 },
    ]),
  ]);
  assertEquals(
    nat.filter((l) => l.includes("DNAT")).map((l) =>
      /--dport (\d+).*--to-destination (\S+)/.exec(l)!.slice(1)
    ),
    [["8080", "172.20.0.10:80"], ["8081", "172.20.0.10:81"], ["8082", "172.20.0.10:82"]],
  );
});

Deno.test("writes one hairpin and one accept rule when two host ports reach the same container port", () => {
  const { nat, filter } = rules([front], [
    web([{ hostPort: 8080, containerPort: 80 }, { hostPort: 8081, containerPort: 80 }]),
  ]);
  assertEquals(nat.filter((l) => l.includes("DNAT")).length, 2);
  assertEquals(nat.filter((l) => l.includes("-d 172.20.0.10/32 -p tcp")).length, 1);
  assertEquals(filter.filter((l) => l.startsWith("-A DOCKER ")).length, 1);
});

Deno.test("writes no DNAT and no DOCKER accept rule when nothing is published", () => {
  const { nat, filter, text } = rules([front], [web([])]);
  assertEquals(nat.filter((l) => l.startsWith("-A DOCKER ")), []);
  assertEquals(filter.filter((l) => l.startsWith("-A DOCKER ")), []);
  assert(!nat.some((l) => l.includes("/32")), "no hairpin rule either");
  assert(text.includes(":DOCKER - [0:0]"), "the chains exist all the same");
  assert(filter.includes("-A DOCKER-USER -j RETURN"));
});

Deno.test("isolates two networks of a host from each other in both directions", () => {
  const { filter } = rules([front, back], []);
  assertEquals(filter.filter((l) => l.includes("ISOLATION")), [
    "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
    "-A DOCKER-ISOLATION-STAGE-1 -i br-back ! -o br-back -j DOCKER-ISOLATION-STAGE-2",
    "-A DOCKER-ISOLATION-STAGE-1 -i br-front ! -o br-front -j DOCKER-ISOLATION-STAGE-2",
    "-A DOCKER-ISOLATION-STAGE-1 -j RETURN",
    "-A DOCKER-ISOLATION-STAGE-2 -o br-back -j DROP",
    "-A DOCKER-ISOLATION-STAGE-2 -o br-front -j DROP",
    "-A DOCKER-ISOLATION-STAGE-2 -j RETURN",
  ]);
});

Deno.test("jumps to DOCKER-USER first and puts nothing else in it", () => {
  const { filter } = rules([front, back], [web([{ hostPort: 8080, containerPort: 80 }])]);
  assertEquals(filter[0], "-A FORWARD -j DOCKER-USER");
  assertEquals(filter.filter((l) => l.startsWith("-A DOCKER-USER")), ["-A DOCKER-USER -j RETURN"]);
});

Deno.test("drops FORWARD by policy", () => {
  assert(rules([front], []).text.includes("\n:FORWARD DROP [0:0]\n"));
});

Deno.test("gives an internal network no masquerade, no way out and no published ports", () => {
  const secret: FwNetwork = { name: "secret", subnet: "172.22.0.0/24", internal: true };
  const { nat, filter } = rules([secret], [{
    name: "vault",
    endpoints: [{ network: "secret", address: "172.22.0.5" }],
    ports: [{ hostPort: 8200, containerPort: 8200 }],
  }]);
  assertEquals(nat, [
    "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    "-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER",
  ]);
  assert(filter.includes("-A DOCKER-ISOLATION-STAGE-1 ! -s 172.22.0.0/24 -o br-secret -j DROP"));
  assert(filter.includes("-A DOCKER-ISOLATION-STAGE-1 ! -d 172.22.0.0/24 -i br-secret -j DROP"));
  assert(filter.includes("-A FORWARD -i br-secret -o br-secret -j ACCEPT"), "members still talk");
  assert(!filter.some((l) => l.includes("-i br-secret ! -o br-secret -j ACCEPT")));
  assert(!filter.includes("-A FORWARD -o br-secret -j DOCKER"));
});

Deno.test("puts the internal drops before the isolation jumps", () => {
  const secret: FwNetwork = { name: "secret", subnet: "172.22.0.0/24", internal: true };
  const { filter } = rules([front, secret], []);
  const stage1 = filter.filter((l) => l.startsWith("-A DOCKER-ISOLATION-STAGE-1"));
  assertEquals(stage1.slice(0, 2).map((l) => l.endsWith("-j DROP")), [true, true]);
});

Deno.test("publishes a container on an internal and a normal network through the normal one", () => {
  const secret: FwNetwork = { name: "secret", subnet: "172.22.0.0/24", internal: true };
  const { nat } = rules([front, secret], [{
    name: "app",
    endpoints: [{ network: "secret", address: "172.22.0.7" }, {
      network: "front",
      address: "172.20.0.7",
    }],
    ports: [{ hostPort: 8080, containerPort: 80 }],
  }]);
  assert(nat.some((l) => l.endsWith("-j DNAT --to-destination 172.20.0.7:80")));
  assert(!nat.some((l) => l.includes("172.22.0.7")));
});

Deno.test("publishes through the default endpoint when a container has several networks", () => {
  const { nat, filter } = rules([front, back], [{
    name: "app",
    endpoints: [{ network: "front", address: "172.20.0.7" }, {
      network: "back",
      address: "172.21.0.7",
    }],
    defaultEndpoint: 1,
    ports: [{ hostPort: 8080, containerPort: 80 }],
  }]);
  assert(nat.some((l) => l.endsWith("--to-destination 172.21.0.7:80")));
  assert(filter.some((l) => l.startsWith("-A DOCKER -d 172.21.0.7/32 ! -i br-back -o br-back")));
});

Deno.test("writes only the rules of the host asked for", () => {
  const both: FwNetwork = { ...front, hosts: ["h1", "h2"] };
  const containers: FwContainer[] = [
    web([{ hostPort: 8080, containerPort: 80 }]),
    {
      name: "api",
      host: "h2",
      endpoints: [{ network: "front", address: "172.20.0.20" }],
      ports: [{ hostPort: 9000, containerPort: 9000 }],
    },
  ];
  const h1 = rules([both, { ...back, hosts: ["h2"] }], containers, "h1");
  const h2 = rules([both, { ...back, hosts: ["h2"] }], containers, "h2");
  assert(h1.nat.some((l) => l.includes("172.20.0.10:80")) && !h1.text.includes("172.20.0.20"));
  assert(h2.nat.some((l) => l.includes("172.20.0.20:9000")) && !h2.text.includes("172.20.0.10"));
  assert(!h1.text.includes("br-back") && h2.text.includes("br-back"));
});

Deno.test("ignores the ports of host-mode and container-mode containers", () => {
  const { nat } = rules([front], [
    web([]),
    { name: "tool", mode: { kind: "host" }, ports: [{ hostPort: 7000, containerPort: 7000 }] },
    {
      name: "side",
      mode: { kind: "container", of: "web" },
      ports: [{ hostPort: 7001, containerPort: 7001 }],
    },
  ]);
  assertEquals(nat.filter((l) => l.includes("DNAT")), []);
});

Deno.test("leaves IPv6-bound ports to ip6tables", () => {
  const { nat } = rules([front], [web([{ hostPort: 6001, containerPort: 6001, hostIp: "::1" }])]);
  assertEquals(nat.filter((l) => l.includes("DNAT")), []);
});

Deno.test("treats overlay bridges as bridges and writes nothing for macvlan, host and none", () => {
  const { text, filter } = rules([
    { name: "mesh", subnet: "10.0.1.0/24", driver: "overlay", bridge: "ov-mesh" },
    { name: "lan", subnet: "10.77.0.0/24", driver: "macvlan" },
    { name: "host", subnet: "", driver: "host" },
    { name: "none", subnet: "", driver: "none" },
  ], []);
  assert(filter.includes("-A FORWARD -i ov-mesh -o ov-mesh -j ACCEPT"));
  assert(filter.includes("-A DOCKER-ISOLATION-STAGE-2 -o ov-mesh -j DROP"));
  assert(!text.includes(" lan") && !text.includes("br-lan") && !text.includes("10.77.0.0"));
});

Deno.test("honours Docker's enable_icc and enable_ip_masquerade bridge options", () => {
  const { nat, filter } = rules([{
    ...front,
    driverOpts: {
      "com.docker.network.bridge.enable_icc": "false",
      "com.docker.network.bridge.enable_ip_masquerade": "false",
    },
  }], []);
  assert(filter.includes("-A FORWARD -i br-front -o br-front -j DROP"));
  assert(!nat.some((l) => l.includes("MASQUERADE")));
});

Deno.test("declares every chain a rule appends to or jumps to, in the same table", () => {
  const builtin = new Set(["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "FORWARD"]);
  const targets = new Set(["ACCEPT", "DROP", "RETURN", "MASQUERADE", "DNAT"]);
  const { text } = rules([front, back, { name: "s", subnet: "172.23.0.0/24", internal: true }], [
    web([{ hostPort: 8080, containerPort: 80 }]),
  ]);
  for (const block of text.split("COMMIT\n").filter((b) => b.includes("*"))) {
    const declared = new Set([...block.matchAll(/^:(\S+) /gm)].map((m) => m[1]));
    for (const m of block.matchAll(/^-A (\S+) .* -j (\S+)/gm)) {
      assert(builtin.has(m[1]) || declared.has(m[1]), `chain ${m[1]} not declared`);
      assert(targets.has(m[2]) || declared.has(m[2]), `target ${m[2]} not declared`);
    }
  }
});

Deno.test("produces the same text whatever order the model lists containers and networks in", () => {
  const a: FwContainer = web([{ hostPort: 8080, containerPort: 80 }]);
  const b: FwContainer = {
    name: "api",
    endpoints: [{ network: "back", address: "172.21.0.5" }],
    ports: [{ hostPort: 7000, containerPort: 7000 }],
  };
  assertEquals(rules([front, back], [a, b]).text, rules([back, front], [b, a]).text);
});

Deno.test("lists port mappings with the bridge and address they reach", () => {
  assertEquals(
    portMappings(fwModel([front], [web([{ hostPort: 8080, containerPort: 80 }])]), "h1"),
    [
      {
        container: "web",
        hostIp: "0.0.0.0",
        hostPort: 8080,
        protocol: "tcp",
        address: "172.20.0.10",
        containerPort: 80,
        bridge: "br-front",
        network: "front",
      },
    ],
  );
});

Deno.test("refuses a host the model does not have, naming the ones it has", () => {
  throws(() => hostRuleset(fwModel([front], []), "h9"), /no such host \(hosts: h1, h2\)/);
});

Deno.test("asks for forwarding and route_localnet on a host with bridges, forwarding only without", () => {
  assertEquals(hostSysctls(fwModel([front], []), "h1"), {
    "net/ipv4/ip_forward": "1",
    "net/ipv4/conf/all/route_localnet": "1",
  });
  assertEquals(hostSysctls(fwModel([{ ...front, hosts: ["h1"] }], []), "h2"), {
    "net/ipv4/ip_forward": "1",
  });
});
