/**
 * The seed lab built for real, checked with real clients (ping, curl, socat, ip, iptables) from
 * inside its namespaces — and every behaviour broken on purpose to show the test can fail.
 */

import assert, {
  deepEqual as assertEquals,
  doesNotMatch as assertNotMatch,
  match as assertMatch,
} from "node:assert/strict";
import { Lab } from "../mod.ts";
import { buildPlan } from "../core/plan/plan.ts";
import { run as runCmd } from "./_support/run.ts";

const SEED = new URL("../topologies/seed.yaml", import.meta.url).pathname;
const LAB = `sd${(Date.now() % 1e6).toString(36)}`;

interface Run {
  code: number;
  out: string;
}

/** Runs a real client; never through a shell. */
const run = (cmd: string[], stdin?: string): Promise<Run> => runCmd(cmd, { stdin });

const inNs = (ns: string, cmd: string[]) => run(["ip", "netns", "exec", `${LAB}-${ns}`, ...cmd]);
const ping = (ns: string, ip: string) => inNs(ns, ["ping", "-c1", "-W1", "-q", ip]);
const curl = (ns: string | null, url: string) =>
  ns === null ? run(["curl", "-s", "-m", "2", url]) : inNs(ns, ["curl", "-s", "-m", "2", url]);
const ipt = (host: string, args: string[]) => inNs(host, ["iptables", ...args]);

Deno.test({
  name: "the seed lab behaves as declared, and each behaviour fails when broken on purpose",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using lab = await Lab.up(SEED, { name: LAB });
    const m = lab.model;
    const addr = (c: string, net: string) =>
      m.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === net)!.address!;
    const h1 = m.hosts.find((h) => h.name === "h1")!.address;
    const web = addr("web", "front");
    const api1 = addr("api-1", "back");

    await t.step("ping by IP between two containers on one network", async () => {
      assertEquals((await ping("app", web)).code, 0);
    });
    await t.step("no reply across two isolated networks", async () => {
      assert((await ping("web", api1)).code !== 0);
    });
    await t.step("the two-network container reaches both networks", async () => {
      assertEquals((await ping("app", web)).code, 0);
      assertEquals((await ping("app", api1)).code, 0);
    });
    await t.step(
      "a published port answers from another host, the host itself and the machine",
      async () => {
        assertEquals((await curl("h2", `http://${h1}:8080/`)).out, "web\n");
        assertEquals((await curl("h1", "http://127.0.0.1:8080/")).out, "web\n");
        assertEquals((await curl("h1", `http://${h1}:8080/`)).out, "web\n");
        assertEquals((await curl(null, `http://${h1}:8080/`)).out, "web\n"); // root ns, via the uplink
        assertEquals((await curl("web", `http://${h1}:8080/`)).out, "web\n"); // hairpin
      },
    );
    await t.step("a 127.0.0.1-bound port answers on the host only", async () => {
      assertEquals((await curl("h1", "http://127.0.0.1:8443/")).out, "web\n");
      assert((await curl("h2", `http://${h1}:8443/`)).code !== 0);
    });
    await t.step("a udp published port answers", async () => {
      const r = await inNs("h2", ["socat", "-T2", "-", `UDP:${h1}:5353`]);
      assertEquals(r.out, "");
      const r2 = await run(
        ["ip", "netns", "exec", `${LAB}-h2`, "socat", "-T2", "-", `UDP:${h1}:5353`],
        "hello\n",
      );
      assertEquals(r2.out, "legacy\n");
    });
    await t.step("the none container has only lo; the host container sees docker0", async () => {
      const links = await inNs("vault", ["ip", "-o", "link"]);
      assertEquals(links.out.trim().split("\n").map((l) => l.split(": ")[1]), ["lo"]);
      const tool = await lab.exec("tool", ["ip", "-o", "link"]);
      assertMatch(tool.stdout, /: docker0: /);
    });
    await t.step("an internal network's container cannot reach the underlay", async () => {
      assert((await ping("api-1", h1)).code !== 0);
      assertEquals((await ping("web", h1)).code, 0);
    });
    await t.step(
      "iptables in the host namespace holds the DNAT and MASQUERADE rules of the plan",
      async () => {
        const nat = (await ipt("h1", ["-t", "nat", "-S"])).out;
        const planned = buildPlan(m).firewall.find((f) => f.netns === `${LAB}-h1`)!.rules
          .split("\n").filter((l) => /-j (DNAT|MASQUERADE)/.test(l));
        assert(planned.length >= 5);
        for (const rule of planned) {
          assert(nat.includes(rule), `missing in iptables -t nat -S: ${rule}`);
        }
      },
    );
    await t.step("every implied and explicit check passes on the healthy lab", async () => {
      const report = await lab.check();
      const failed = report.results.filter((r) => !r.pass);
      assertEquals(failed.map((f) => f.expectation.id), []);
      assert(report.results.length > 100);
    });

    // ---- broken on purpose: each break is seen by the real clients and by the checks ----------
    const failing = async (only?: string[]) =>
      (await lab.check({ only })).results.filter((r) => !r.pass).map((r) => r.expectation.id);

    await t.step(
      "without the DNAT rule the published port is dead, and the port checks say so",
      async () => {
        const rule = [
          "-t",
          "nat",
          "-D",
          "DOCKER",
          "-p",
          "tcp",
          "-m",
          "tcp",
          "--dport",
          "8080",
          "-m",
          "comment",
          "--comment",
          "web 0.0.0.0:8080->80/tcp",
          "-j",
          "DNAT",
          "--to-destination",
          `${web}:80`,
        ];
        assertEquals((await ipt("h1", rule)).code, 0);
        assert((await curl("h2", `http://${h1}:8080/`)).code !== 0);
        const ids = await failing(["ports"]);
        assert(ids.length > 0 && ids.every((id) => id.includes("8080")), ids.join(" "));
        rule[2] = "-A";
        assertEquals((await ipt("h1", rule)).code, 0);
        assertEquals((await curl("h2", `http://${h1}:8080/`)).out, "web\n");
      },
    );
    await t.step("connecting two isolated networks breaks the isolation checks", async () => {
      assertEquals((await ipt("h1", ["-I", "FORWARD", "-j", "ACCEPT"])).code, 0);
      assertEquals((await ping("web", api1)).code, 0);
      const ids = await failing(["isolation"]);
      assert(ids.includes("isolation:web->api-1@back:tcp/8000"), ids.join(" "));
      assertEquals((await ipt("h1", ["-D", "FORWARD", "-j", "ACCEPT"])).code, 0);
      assertEquals(await failing(["isolation"]), []);
    });
    await t.step("a black-holed address breaks exactly the paths through it", async () => {
      assertEquals((await inNs("app", ["ip", "route", "add", "blackhole", `${web}/32`])).code, 0);
      // app's replies to web and app's own probe of web (explicit check 1) die in the blackhole.
      assertEquals((await failing(["reach"])).sort(), [
        "check:1:app->web:80",
        "reach:web->app@front:tcp/80",
      ]);
      assertEquals((await inNs("app", ["ip", "route", "del", "blackhole", `${web}/32`])).code, 0);
      assertEquals(await failing(["reach"]), []);
    });
    await t.step(
      "deleting a container's veth fails its reach and interface checks, and makes its negative checks inconclusive",
      async () => {
        const veth = m.containers.find((c) => c.name === "web")!.endpoints[0].hostIfname;
        assertEquals((await run(["ip", "-n", `${LAB}-h1`, "link", "del", veth])).code, 0);
        assert((await ping("app", web)).code !== 0);
        const report = await lab.check({ only: ["web"] });
        const failed = report.results.filter((r) => !r.pass);
        // Everything that goes to or comes from web fails, and nothing else.
        assertEquals(
          failed.filter((r) => !r.inconclusive).map((r) => r.expectation.id).sort(),
          [
            "check:1:app->web:80",
            "check:6:outside->h1:8080",
            "iface:web",
            "port:h1->127.0.0.1:8080/tcp",
            "port:h1->127.0.0.1:8443/tcp",
            "port:h1->h1:8080/tcp",
            "port:h1->h1/ipv6:8080/tcp", // 8080 is published on IPv6 too
            "port:outside(h2)->h1/ipv6:8080/tcp",
            "port:web->h1(hairpin):8080/tcp",
            "port:web->h1(hairpin)/ipv6:8080/tcp",
            "reach:app->web@front/ipv6:tcp/80", // front is dual-stack: both families go
            "reach:web->app@front/ipv6:tcp/80",
            "reach:web->app@front:tcp/80",
            "reach:web->cam@lan:tcp/554",
            "reach:web->underlay:h1:icmp",
            "reach:web->underlay:h2:icmp",
          ].sort(),
        );
        // Before positive controls these passed on silence: web cut off "was isolated" from all.
        const negative = report.results.filter((r) =>
          ["unreachable", "closed", "nxdomain"].includes(r.expectation.expect.kind) &&
          r.expectation.probe.kind !== "dns"
        );
        const inconclusive = failed.filter((r) => r.inconclusive);
        assert(inconclusive.some((r) => r.expectation.id === "isolation:web->api-1@back:tcp/8000"));
        assert(inconclusive.some((r) => r.expectation.id === "isolation:api-1->web@front:tcp/80"));
        assertEquals(
          negative.filter((r) => !r.inconclusive && r.expectation.containers.includes("web"))
            .filter((r) => r.expectation.kind === "isolation").map((r) => r.expectation.id),
          [],
        );
        assertNotMatch((await inNs("web", ["ip", "-o", "link"])).out, /eth0/);
      },
    );
    await t.step("with its DNS listener stopped, a container's name checks fail", async () => {
      await lab.supervisor.stopDns(`${LAB}-app`);
      assert((await inNs("app", ["getent", "hosts", "web"])).code !== 0);
      const ids = await failing(["dns"]);
      assert(ids.length > 0 && ids.every((id) => id.includes("app")), ids.join(" "));
    });
  },
});
