/**
 * The firewall with real packets (root): a hand-built host namespace with two bridges, two
 * container namespaces and a client namespace on an "underlay" veth, the generated Docker-layout
 * rules applied with iptables-restore, and curl/socat proving DNAT, localhost DNAT, hairpin,
 * host_ip binding, udp and isolation — each also broken on purpose and seen to fail.
 */

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { applyFirewall, FirewallError } from "../core/kernel/firewall.ts";
import { hostRuleset, hostSysctls } from "../core/plan/firewall/rules.ts";
import { fwModel } from "../core/plan/firewall/_testmodel.ts";
import {
  createNetns,
  deleteNetns,
  listNetns,
  setSysctl,
  withNetns,
} from "../core/kernel/netns/netns.ts";
import { run as runCmd } from "./_support/run.ts";

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], stdin?: string): Promise<RunResult> {
  return runCmd([cmd, ...args], { stdin });
}

async function must(cmd: string, ...args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a command inside namespace `ns` (`ip netns exec NS CMD…`). */
function inNs(ns: string, cmd: string, args: string[], stdin?: string): Promise<RunResult> {
  return run("nsenter", [`--net=/run/netns/${ns}`, cmd, ...args], stdin);
}

/** `curl http://ADDR:PORT/` from `ns`: the body, or null when no answer came. */
async function curl(ns: string, addr: string, port: number): Promise<string | null> {
  const r = await inNs(ns, "curl", [
    "-sS",
    "--connect-timeout",
    "2",
    "--max-time",
    "4",
    `http://${addr}:${port}/`,
  ]);
  return r.code === 0 ? r.stdout : null;
}

/** One udp datagram to ADDR:PORT from `ns` with socat: the reply, or null. */
async function udp(ns: string, addr: string, port: number): Promise<string | null> {
  const r = await inNs(ns, "socat", ["-T", "2", "-", `UDP:${addr}:${port}`], "ping\n");
  return r.code === 0 && r.stdout !== "" ? r.stdout : null;
}

/** iptables-restore a small change (e.g. `-D …`) in `ns`. */
async function restore(ns: string, table: string, lines: string[]): Promise<void> {
  const r = await inNs(
    ns,
    "iptables-restore",
    ["--noflush", "-w"],
    [
      `*${table}`,
      ...lines,
      "COMMIT",
      "",
    ].join("\n"),
  );
  if (r.code !== 0) throw new Error(`iptables-restore in ${ns}: ${r.stderr}`);
}

/** A tiny HTTP server answering `<name>\n` (TCP) and a udp echo of `<name>\n`, inside `ns`. */
function serve(ns: string, name: string, tcpPorts: number[], udpPorts: number[]) {
  const listeners = tcpPorts.map((port) =>
    withNetns(ns, () => Deno.listen({ hostname: "0.0.0.0", port }))
  );
  const datagrams = udpPorts.map((port) =>
    withNetns(ns, () => Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port }))
  );
  const body = new TextEncoder().encode(
    `HTTP/1.0 200 OK\r\nContent-Length: ${name.length + 1}\r\nConnection: close\r\n\r\n${name}\n`,
  );
  const loops = [
    ...listeners.map(async (l) => {
      try {
        for await (const conn of l) {
          try {
            await conn.read(new Uint8Array(4096));
            await conn.write(body);
          } catch { /* client went away */ }
          conn.close();
        }
      } catch { /* closed */ }
    }),
    ...datagrams.map(async (d) => {
      try {
        for await (const [, from] of d) await d.send(new TextEncoder().encode(`${name}\n`), from);
      } catch { /* closed */ }
    }),
  ];
  return async () => {
    for (const l of listeners) l.close();
    for (const d of datagrams) d.close();
    await Promise.all(loops);
  };
}

Deno.test("published ports, localhost DNAT, hairpin, host_ip binding, udp and isolation work with real packets", async (t) => {
  const lab = `fwt-${crypto.randomUUID().slice(0, 6)}`;
  const host = `${lab}-h1`, web = `${lab}-web`, db = `${lab}-db`, client = `${lab}-cli`;
  const created: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    for (const ns of [host, web, db, client]) {
      createNetns(ns);
      created.push(ns);
      await must("ip", "-n", ns, "link", "set", "lo", "up");
    }
    const model = fwModel(
      [{ name: "front", subnet: "172.20.0.0/24" }, { name: "back", subnet: "172.21.0.0/24" }],
      [
        {
          name: "web",
          endpoints: [{ network: "front", address: "172.20.0.10" }],
          ports: [
            { hostPort: 8080, containerPort: 80 },
            { hostPort: 9090, containerPort: 90, hostIp: "127.0.0.1" },
            { hostPort: 5353, containerPort: 53, protocol: "udp" },
          ],
        },
        { name: "db", endpoints: [{ network: "back", address: "172.21.0.10" }] },
      ],
      lab,
    );
    for (const [k, v] of Object.entries(hostSysctls(model, "h1"))) setSysctl(host, k, v);
    // The underlay: client eth0 10.77.0.1 <-> host eth0 10.77.0.11.
    await must(
      "ip",
      "-n",
      host,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "eth0",
      "netns",
      client,
    );
    await must("ip", "-n", host, "addr", "add", "10.77.0.11/24", "dev", "eth0");
    await must("ip", "-n", client, "addr", "add", "10.77.0.1/24", "dev", "eth0");
    await must("ip", "-n", host, "link", "set", "eth0", "up");
    await must("ip", "-n", client, "link", "set", "eth0", "up");
    // Two bridges, one container on each.
    for (
      const [br, gw, ctr, veth, addr] of [
        ["br-front", "172.20.0.1", web, "vweb", "172.20.0.10"],
        ["br-back", "172.21.0.1", db, "vdb", "172.21.0.10"],
      ]
    ) {
      await must("ip", "-n", host, "link", "add", br, "type", "bridge");
      await must("ip", "-n", host, "addr", "add", `${gw}/24`, "dev", br);
      await must("ip", "-n", host, "link", "set", br, "up");
      await must(
        "ip",
        "-n",
        host,
        "link",
        "add",
        veth,
        "type",
        "veth",
        "peer",
        "eth0",
        "netns",
        ctr,
      );
      await must("ip", "-n", host, "link", "set", veth, "master", br, "up");
      // Docker's hairpin mode sets this on every bridge port: with br_netfilter, the DNAT of a
      // container's own published port happens while bridging and sends the frame back out the
      // port it came in on.
      await must("ip", "-n", host, "link", "set", veth, "type", "bridge_slave", "hairpin", "on");
      await must("ip", "-n", ctr, "addr", "add", `${addr}/24`, "dev", "eth0");
      await must("ip", "-n", ctr, "link", "set", "eth0", "up");
      await must("ip", "-n", ctr, "route", "add", "default", "via", gw);
    }
    stops.push(serve(web, "web", [80, 90], [53]), serve(db, "db", [7000], []));

    // Before the firewall: nothing answers on the host's published port.
    assertEquals(await curl(client, "10.77.0.11", 8080), null);

    const rules = hostRuleset(model, "h1");
    await applyFirewall(host, rules);

    await t.step(
      "iptables-save in the host namespace shows every rule the plan wrote",
      async () => {
        const saved = (await inNs(host, "iptables-save", [])).stdout.split("\n");
        const missing = rules.split("\n").filter((l) => l.startsWith("-A ") && !saved.includes(l));
        assertEquals(missing, []);
        const nat = (await inNs(host, "iptables", ["-t", "nat", "-S"])).stdout;
        assert(nat.includes("--to-destination 172.20.0.10:80"), nat);
      },
    );

    const dnat = rules.split("\n").find((l) => l.includes("--to-destination 172.20.0.10:80"))!;
    await t.step(
      "a client on the underlay reaches the container through host:8080 (DNAT)",
      async () => {
        assertEquals(await curl(client, "10.77.0.11", 8080), "web\n");
        await restore(host, "nat", [dnat.replace(/^-A /, "-D ")]);
        try {
          assertEquals(
            await curl(client, "10.77.0.11", 8080),
            null,
            "answered without its DNAT rule",
          );
        } finally {
          await restore(host, "nat", [dnat]);
        }
        assertEquals(await curl(client, "10.77.0.11", 8080), "web\n");
      },
    );

    await t.step(
      "the host itself reaches it on 127.0.0.1:8080 (OUTPUT + route_localnet)",
      async () => {
        assertEquals(await curl(host, "127.0.0.1", 8080), "web\n");
        assertEquals(await curl(host, "10.77.0.11", 8080), "web\n");
        setSysctl(host, "net/ipv4/conf/all/route_localnet", "0");
        try {
          assertEquals(
            await curl(host, "127.0.0.1", 8080),
            null,
            "answered without route_localnet",
          );
        } finally {
          setSysctl(host, "net/ipv4/conf/all/route_localnet", "1");
        }
        assertEquals(await curl(host, "127.0.0.1", 8080), "web\n");
      },
    );

    const hairpin = rules.split("\n").find((l) =>
      l.startsWith("-A POSTROUTING -s 172.20.0.10/32 -d 172.20.0.10/32 -p tcp")
    )!;
    const brNf = "net/bridge/bridge-nf-call-iptables";
    const hasBrNf = await Deno.stat(`/proc/sys/${brNf}`).then(() => true, () => false);
    for (const nf of hasBrNf ? ["1", "0"] : [null]) {
      const label = nf === null ? "" : ` (bridge-nf-call-iptables=${nf})`;
      await t.step(
        `the container reaches its own published port via the host${label}`,
        async () => {
          if (nf !== null) setSysctl(host, brNf, nf);
          assertEquals(await curl(web, "10.77.0.11", 8080), "web\n");
          await restore(host, "nat", [hairpin.replace(/^-A /, "-D ")]);
          try {
            assertEquals(await curl(web, "10.77.0.11", 8080), null, "hairpin without MASQUERADE");
          } finally {
            await restore(host, "nat", [hairpin]);
          }
          assertEquals(await curl(web, "10.77.0.11", 8080), "web\n");
        },
      );
    }
    if (hasBrNf) {
      await t.step(
        "with br_netfilter, hairpin also needs the bridge port's hairpin flag",
        async () => {
          setSysctl(host, brNf, "1");
          const flag = (v: string) =>
            must("ip", "-n", host, "link", "set", "vweb", "type", "bridge_slave", "hairpin", v);
          await flag("off");
          try {
            assertEquals(
              await curl(web, "10.77.0.11", 8080),
              null,
              "hairpin without the port flag",
            );
          } finally {
            await flag("on");
          }
          assertEquals(await curl(web, "10.77.0.11", 8080), "web\n");
        },
      );
    }

    await t.step(
      "a port bound to 127.0.0.1 answers on the host only, not from the underlay",
      async () => {
        assertEquals(await curl(host, "127.0.0.1", 9090), "web\n");
        assertEquals(await curl(client, "10.77.0.11", 9090), null);
      },
    );

    await t.step("a udp published port answers", async () => {
      assertEquals(await udp(client, "10.77.0.11", 5353), "web\n");
      assertEquals(await udp(client, "10.77.0.11", 5354), null, "an unpublished udp port answered");
    });

    const isolation = rules.split("\n").filter((l) =>
      l.startsWith("-A DOCKER-ISOLATION-STAGE-2 -o")
    );
    await t.step("the two bridges cannot talk to each other (isolation)", async () => {
      assertEquals(await curl(web, "172.21.0.10", 7000), null);
      assertEquals(await curl(db, "172.20.0.10", 80), null);
      assertEquals(await curl(host, "172.21.0.10", 7000), "db\n", "db's listener is up");
      await restore(host, "filter", isolation.map((l) => l.replace(/^-A /, "-D ")));
      try {
        assertEquals(
          await curl(web, "172.21.0.10", 7000),
          "db\n",
          "still blocked without isolation",
        );
      } finally {
        await restore(host, "filter", isolation.map((l) => l.replace(/^-A (\S+)/, "-I $1 1")));
      }
      assertEquals(await curl(web, "172.21.0.10", 7000), null);
    });

    await t.step("DOCKER-USER exists and holds only its RETURN", async () => {
      const r = await inNs(host, "iptables", ["-S", "DOCKER-USER"]);
      assertEquals(r.stdout.trim().split("\n"), ["-N DOCKER-USER", "-A DOCKER-USER -j RETURN"]);
    });
  } finally {
    for (const stop of stops) await stop();
    for (const ns of created) deleteNetns(ns);
  }
  assertEquals(listNetns().filter((n) => n.startsWith(lab)), []);
});

Deno.test("a rejected ruleset fails with the namespace and the offending rule", async () => {
  const ns = `fwt-${crypto.randomUUID().slice(0, 6)}-bad`;
  createNetns(ns);
  try {
    const text =
      "# a comment\n*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j NO-SUCH-CHAIN\nCOMMIT\n";
    const err = await rejects(applyFirewall(ns, text), (e: unknown) => {
      assert(e instanceof FirewallError, String(e));
      assertEquals(e.netns, ns);
      assertEquals(e.line, 4, "the rule naming the missing chain, not the COMMIT line");
      assertEquals(e.rule, "-A DOCKER-USER -j NO-SUCH-CHAIN");
      assert(e.message.includes(ns) && e.message.includes("NO-SUCH-CHAIN"), e.message);
      return true;
    });
    assertEquals(err, undefined);
  } finally {
    deleteNetns(ns);
  }
  assertEquals(listNetns().filter((n) => n === ns), []);
});
