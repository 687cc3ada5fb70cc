/**
 * The check engine against a real network built by hand in `prt-*` namespaces (root only):
 *
 *   a (10.250.1.2) ─┐ br-n1 10.250.1.1 ┌─ host ns "host": forwards, isolates n1/n2 (FORWARD DROP),
 *   b (10.250.1.3) ─┤                   │  DNATs 10.77.0.11:8080 and 127.0.0.1:8080 to a:80
 *   b (10.250.2.3) ─┤ br-n2 10.250.2.1 ─┘
 *   c (10.250.2.2) ─┘
 *
 * Responders and the embedded DNS server run in each container namespace. The probes are driven
 * directly, then `runChecks` runs the implied checks of the matching Model; then the network is
 * broken on purpose in one way at a time and exactly the expected checks must fail.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ip, run, TestNets } from "../core/checks/_netns_testkit.ts";
import { buildModel } from "../core/checks/_model_testkit.ts";
import { runProbes } from "../core/checks/probes.ts";
import { runChecks } from "../core/checks/run.ts";
import { formatTable } from "../core/checks/report.ts";
import { type Responder, startResponder } from "../core/runtime/responder.ts";
import { DnsServer } from "../core/dns/server.ts";
import { buildRecords } from "../core/dns/records.ts";
import { listNetns } from "../core/kernel/netns/netns.ts";
import type { Model } from "../core/model/types.ts";
import type { CheckReport, Probe } from "../core/checks/types.ts";

function firewall(): string {
  return [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    "-A FORWARD -i br-n1 -o br-n2 -j DROP",
    "-A FORWARD -i br-n2 -o br-n1 -j DROP",
    "COMMIT",
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    "-A PREROUTING -d 10.77.0.11/32 -p tcp --dport 8080 -j DNAT --to-destination 10.250.1.2:80",
    "-A OUTPUT -d 10.77.0.11/32 -p tcp --dport 8080 -j DNAT --to-destination 10.250.1.2:80",
    "-A OUTPUT -d 127.0.0.1/32 -p tcp --dport 8080 -j DNAT --to-destination 10.250.1.2:80",
    "-A POSTROUTING -s 127.0.0.0/8 -o br-n1 -j MASQUERADE",
    "-A POSTROUTING -s 10.250.1.2/32 -d 10.250.1.2/32 -p tcp --dport 80 -j MASQUERADE",
    "COMMIT",
    "",
  ].join("\n");
}

interface HandLab {
  nets: TestNets;
  model: Model;
  ns: (n: string) => string;
  responders: Map<string, Responder>;
  dns: DnsServer;
  restoreFirewall: () => Promise<void>;
}

async function buildHandLab(): Promise<HandLab> {
  const nets = new TestNets("prt");
  const responders = new Map<string, Responder>();
  const model = buildModel({
    lab: `prt-${nets.id}`,
    uplink: false,
    networks: [
      { name: "n1", subnet: "10.250.1.0/24" },
      { name: "n2", subnet: "10.250.2.0/24" },
    ],
    containers: [
      { name: "a", nets: [["n1", "10.250.1.2"]], ports: [{ containerPort: 80, hostPort: 8080 }] },
      {
        name: "b",
        nets: [["n1", "10.250.1.3"], ["n2", "10.250.2.3"]],
        expose: [{ port: 80, protocol: "tcp" }, { port: 5353, protocol: "udp" }],
      },
      { name: "c", nets: [["n2", "10.250.2.2"]], expose: [{ port: 80, protocol: "tcp" }] },
    ],
  });
  const dns = new DnsServer(buildRecords(model));
  const lab: HandLab = {
    nets,
    model,
    ns: (n) => nets.ns(n),
    responders,
    dns,
    restoreFirewall: () =>
      run("ip", ["netns", "exec", nets.ns("host"), "iptables-restore"], firewall()).then(() => {}),
  };
  try {
    const host = await nets.add("host");
    await ip("-n", host, "addr", "add", "10.77.0.11/32", "dev", "lo");
    for (const [br, addr] of [["br-n1", "10.250.1.1/24"], ["br-n2", "10.250.2.1/24"]]) {
      await ip("-n", host, "link", "add", br, "type", "bridge");
      await ip("-n", host, "addr", "add", addr, "dev", br);
      await ip("-n", host, "link", "set", br, "up");
    }
    await run("ip", ["netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    await run("ip", [
      "netns",
      "exec",
      host,
      "sysctl",
      "-qw",
      "net.ipv4.conf.br-n1.route_localnet=1",
    ]);
    await lab.restoreFirewall();
    for (const c of model.containers) {
      const ns = await nets.add(c.name);
      for (const [i, ep] of c.endpoints.entries()) {
        const bridge = ep.network === "n1" ? "br-n1" : "br-n2";
        await nets.veth(ns, ep.ifname, `${ep.address}/24`, host, `v-${c.name}${i}`, { bridge });
        // With br_netfilter active, a DNAT back to the sender (hairpin) is bridged out of the
        // port it came in on: Docker sets hairpin mode on its bridge ports for this.
        await run("bridge", ["-n", host, "link", "set", "dev", `v-${c.name}${i}`, "hairpin", "on"]);
      }
      const def = c.endpoints[c.defaultEndpoint];
      await ip("-n", ns, "route", "add", "default", "via", def.gateway);
      const listen = [
        ...c.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol })),
        ...c.expose,
      ];
      responders.set(c.name, await startResponder(ns, c.name, listen));
      await dns.listen(ns, c.name);
    }
    return lab;
  } catch (e) {
    await destroy(lab);
    throw e;
  }
}

async function destroy(lab: HandLab): Promise<void> {
  for (const r of lab.responders.values()) r.close();
  await lab.dns.close();
  lab.nets.cleanup();
  assertEquals(listNetns().filter((n) => n.startsWith(`prt-${lab.nets.id}`)), []);
}

function failing(report: CheckReport): string[] {
  return report.results.filter((r) => !r.pass).map((r) => r.expectation.id).sort();
}

Deno.test("probes name the container that answered and tell refused, timeout and unreachable apart", async () => {
  const lab = await buildHandLab();
  try {
    const a = lab.ns("a");
    const probes: Probe[] = [
      { kind: "tcp", netns: a, address: "10.250.1.3", port: 80, responder: true },
      { kind: "tcp", netns: a, address: "10.250.1.3", port: 81, responder: true },
      { kind: "tcp", netns: a, address: "10.250.2.2", port: 80, responder: true },
      { kind: "tcp", netns: a, address: "10.250.1.3", port: 80, responder: false },
      { kind: "udp", netns: a, address: "10.250.1.3", port: 5353 },
      { kind: "icmp", netns: a, address: "10.250.1.3" },
      { kind: "icmp", netns: a, address: "10.250.2.2" },
      { kind: "icmp", netns: a, address: "10.250.9.9" },
      { kind: "icmp", netns: lab.ns("host"), address: "10.250.9.9" },
      { kind: "tcp", netns: lab.ns("host"), address: "10.250.9.9", port: 80, responder: true },
      { kind: "dns", netns: a, name: "b", type: "A" },
      { kind: "dns", netns: a, name: "c", type: "A" },
      { kind: "iface", netns: lab.ns("b") },
      { kind: "tcp", netns: lab.ns("host"), address: "127.0.0.1", port: 8080, responder: true },
    ];
    const seen = await runProbes(probes, { timeoutMs: 1000 });
    assertEquals(seen[0], { kind: "answered", by: "b" });
    assertEquals(seen[1], { kind: "refused" });
    assertEquals(seen[2], { kind: "timeout" }, "FORWARD drops n1 → n2");
    assertEquals(seen[3], { kind: "open" });
    assertEquals(seen[4], { kind: "answered", by: "b" });
    assertEquals(seen[5], { kind: "open", from: "10.250.1.3" });
    assertEquals(seen[6], { kind: "timeout" });
    assertEquals(seen[7], {
      kind: "unreachable",
      detail: "network unreachable (ICMP) from 10.250.1.1",
    });
    assertEquals(seen[8], { kind: "unreachable", detail: "no route (ENETUNREACH)" });
    assertEquals(seen[9], { kind: "unreachable", detail: "no route (ENETUNREACH)" });
    assertEquals(seen[10], { kind: "dns", rcode: "NOERROR", answers: ["10.250.1.3"] });
    assertEquals(seen[11], { kind: "dns", rcode: "NXDOMAIN", answers: [] });
    assertEquals(seen[12], { kind: "interfaces", names: ["eth0", "eth1", "lo"] });
    assertEquals(seen[13], { kind: "answered", by: "a" }, "DNAT from 127.0.0.1 lands on a");

    // Broken on purpose: a blackhole route, a stopped responder, a deleted veth.
    await ip("-n", lab.ns("a"), "route", "add", "blackhole", "10.250.1.3/32");
    lab.responders.get("c")!.close();
    await ip("-n", lab.ns("b"), "link", "del", "eth1");
    const broken = await runProbes([
      { kind: "tcp", netns: a, address: "10.250.1.3", port: 80, responder: true },
      { kind: "icmp", netns: a, address: "10.250.1.3" },
      { kind: "tcp", netns: lab.ns("b"), address: "10.250.2.2", port: 80, responder: true },
      { kind: "tcp", netns: lab.ns("c"), address: "10.250.2.2", port: 80, responder: true },
      { kind: "iface", netns: lab.ns("b") },
    ], { timeoutMs: 1000 });
    const blackhole = "route drops it (EINVAL: a blackhole route?)";
    assertEquals(broken[0], { kind: "unreachable", detail: blackhole });
    assertEquals(broken[1], { kind: "unreachable", detail: blackhole });
    // b lost its n2 leg: it now routes via the host, which drops n1 → n2.
    assertEquals(broken[2], { kind: "timeout" });
    assertEquals(broken[3], { kind: "refused" });
    assertEquals(broken[4], { kind: "interfaces", names: ["eth0", "lo"] });
  } finally {
    await destroy(lab);
  }
});

Deno.test("runChecks passes on the healthy lab and fails exactly where the network is broken", async () => {
  const lab = await buildHandLab();
  const check = () => runChecks(lab.model, { timeoutMs: 1000 });
  try {
    const healthy = await check();
    assertEquals(failing(healthy), [], formatTable(healthy, { color: false }));
    const kinds = new Set(healthy.results.map((r) => r.expectation.kind));
    assertEquals([...kinds].sort(), ["dns", "iface", "isolation", "port", "reach"]);
    console.log(
      `healthy: ${healthy.results.length} checks, ${healthy.probes} probes, ` +
        `${Math.round(healthy.elapsedMs)} ms`,
    );

    // 1. The DNS listener of c stops: every DNS check from c fails, nothing else.
    await lab.dns.unlisten(lab.ns("c"));
    const noDns = await check();
    const cDns = healthy.results.filter((r) =>
      r.expectation.kind === "dns" && r.expectation.source === "c"
    )
      .map((r) => r.expectation.id).sort();
    assert(cDns.length >= 3);
    assertEquals(failing(noDns), cDns);
    assert(noDns.results.filter((r) => !r.pass).every((r) => r.hint.includes("DNS listener down")));
    await lab.dns.listen(lab.ns("c"), "c");

    // 2. The isolation rules go: n1 and n2 are connected through the host.
    await run("ip", ["netns", "exec", lab.ns("host"), "iptables", "-F", "FORWARD"]);
    const open = await check();
    assertEquals(failing(open), [
      "isolation:a->c@n2:tcp/80",
      "isolation:c->a@n1:tcp/80",
    ]);
    await lab.restoreFirewall();

    // 3. The DNAT rules go: every published-port check fails, with the DNAT hint.
    await run("ip", ["netns", "exec", lab.ns("host"), "iptables", "-t", "nat", "-F"]);
    const noNat = await check();
    assertEquals(failing(noNat), [
      "port:a->host(hairpin):8080/tcp",
      "port:host->127.0.0.1:8080/tcp",
      "port:host->host:8080/tcp",
    ]);
    assert(noNat.results.filter((r) => !r.pass).every((r) => r.hint.includes("DNAT")));
    await lab.restoreFirewall();

    // 4. A blackhole route in b towards a.
    await ip("-n", lab.ns("b"), "route", "add", "blackhole", "10.250.1.2/32");
    const hole = await check();
    // b's own probe hits the route at once; a's probe reaches b, whose answers fall into it.
    assertEquals(failing(hole), ["reach:a->b@n1:tcp/80", "reach:b->a@n1:tcp/80"]);
    const ba = hole.results.find((r) => r.expectation.id === "reach:b->a@n1:tcp/80")!;
    assert(ba.hint.startsWith("no route"), ba.hint);
    await ip("-n", lab.ns("b"), "route", "del", "blackhole", "10.250.1.2/32");

    // 5. b's responder stops: reaching b is refused.
    lab.responders.get("b")!.close();
    const noResp = await check();
    assertEquals(failing(noResp), ["reach:a->b@n1:tcp/80", "reach:c->b@n2:tcp/80"]);
    lab.responders.set(
      "b",
      await startResponder(lab.ns("b"), "b", [{ port: 80, protocol: "tcp" }, {
        port: 5353,
        protocol: "udp",
      }]),
    );

    // 6. c's veth is deleted. Its isolation rows cannot pass on silence any more: c reaches
    // nothing it should (source control) and answers no one (target control) — inconclusive.
    await ip("-n", lab.ns("c"), "link", "del", "eth0");
    const cut = await check();
    assertEquals(failing(cut), [
      "iface:c",
      "isolation:a->c@n2:tcp/80",
      "isolation:c->a@n1:tcp/80",
      "reach:b->c@n2:tcp/80",
      "reach:c->b@n2:tcp/80",
      "reach:c->underlay:host:icmp",
    ]);
    const inconclusive = cut.results.filter((r) => r.inconclusive).map((r) => r.expectation.id);
    assertEquals(inconclusive.sort(), ["isolation:a->c@n2:tcp/80", "isolation:c->a@n1:tcp/80"]);
    const text = formatTable(cut, { color: false });
    assert(
      text.split("\n").at(-1) === `${cut.results.length - 6} passed, 6 failed (2 inconclusive)`,
      text,
    );
    const lines = text.split("\n");
    const head = lines.findIndex((l) => l.includes("SOURCE"));
    assert(/^(FAIL|INCONCLUSIVE)/.test(lines[head + 1]), `failures come first:\n${text}`);
    assert(lines.some((l) => l.startsWith("INCONCLUSIVE") && l.includes("reaches nothing")), text);
  } finally {
    await destroy(lab);
  }
});

Deno.test("thousands of concurrent probes from one process all land correctly", async () => {
  const lab = await buildHandLab();
  try {
    const kinds: ((i: number) => Probe)[] = [
      () => ({ kind: "tcp", netns: lab.ns("a"), address: "10.250.1.3", port: 80, responder: true }),
      () => ({ kind: "tcp", netns: lab.ns("c"), address: "10.250.2.3", port: 80, responder: true }),
      () => ({ kind: "icmp", netns: lab.ns("b"), address: "10.250.2.2" }),
      () => ({ kind: "icmp", netns: lab.ns("a"), address: "10.250.1.3" }),
      () => ({ kind: "udp", netns: lab.ns("c"), address: "10.250.2.3", port: 5353 }),
      () => ({ kind: "dns", netns: lab.ns("b"), name: "c", type: "A" }),
    ];
    const n = 3600; // 1,200 TCP probes: every other one runs on the worker thread
    const probes = Array.from({ length: n }, (_, i) => kinds[i % kinds.length](i));
    const t0 = performance.now();
    const seen = await runProbes(probes, { timeoutMs: 5000, concurrency: n });
    const ms = performance.now() - t0;
    const bad = seen.map((o, i) => ({ o, i })).filter(({ o, i }) => {
      const k = i % kinds.length;
      if (k <= 1 || k === 4) {
        return !(o.kind === "answered" && o.by === "b");
      }
      if (k <= 3) return o.kind !== "open";
      return !(o.kind === "dns" && o.answers[0] === "10.250.2.2");
    });
    assertEquals(bad.slice(0, 5), []);
    console.log(
      `${n} concurrent probes in ${Math.round(ms)} ms: ${Math.round(n / (ms / 1000))} probes/s`,
    );
  } finally {
    await destroy(lab);
  }
});
