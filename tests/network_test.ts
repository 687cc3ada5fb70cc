/**
 * `nslab network …` and `lab.network` on real labs: reachability, DNS, responders, firewall and
 * teardown checked with real clients (ping, getent, dig, curl, iptables, ip) — and each behaviour
 * shown to fail where it should (before connect, after disconnect, with the link deleted, with a
 * naive firewall re-apply).
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/input.ts";
import { applyFirewall } from "../core/kernel/firewall.ts";
import { hostRuleset } from "../core/plan/firewall/rules.ts";
import { NslabError } from "../core/errors.ts";
import { processAlive } from "../core/lab/state.ts";
import { run as runCmd } from "./_support/run.ts";

const suffix = () => Math.random().toString(36).slice(2, 7);
const ROOT = new URL("..", import.meta.url).pathname;

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs a real client; never through a shell. */
async function run(cmd: string[], opts: { cwd?: string } = {}): Promise<Run> {
  const r = await runCmd(cmd, opts);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const inNs = (ns: string, cmd: string[]) => run(["ip", "netns", "exec", ns, ...cmd]);
const ping = (ns: string, ip: string) => inNs(ns, ["ping", "-c1", "-W1", "-q", ip]);
const curl = (ns: string, url: string) => inNs(ns, ["curl", "-s", "-m", "2", url]);

/** Nothing of lab `lab` is left on the machine. */
async function assertGone(lab: string): Promise<void> {
  const ns = (await run(["ip", "netns", "list"])).out.split("\n").filter((l) =>
    l.startsWith(`${lab}-`)
  );
  assertEquals(ns, [], `namespaces left: ${ns.join(", ")}`);
  for (const path of [`/run/nslab/${lab}`]) {
    let exists = true;
    try {
      Deno.statSync(path);
    } catch {
      exists = false;
    }
    assert(!exists, `${path} is left`);
  }
  const etc = [...Deno.readDirSync("/etc/netns")].filter((e) => e.name.startsWith(`${lab}-`));
  assertEquals(etc.map((e) => e.name), []);
}

function topology(name: string): TopologyInput {
  return {
    name,
    networks: { front: {}, back: {} },
    containers: {
      web: { networks: ["front"], expose: [80] },
      app: { networks: ["front"] },
      db: { networks: ["back"], expose: [5432] },
    },
  };
}

Deno.test({
  name: "lab.network: connect and disconnect change reachability, DNS and responders at once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const LAB = `nw${suffix()}`;
    try {
      await using lab = await Lab.up(topology(LAB), { uplink: false });
      const addr = (c: string, net: string) =>
        lab.model.containers.find((x) => x.name === c)!.endpoints.find((e) => e.network === net)
          ?.address;
      const db = addr("db", "back")!;
      const webNs = `${LAB}-web`;
      const dbNs = `${LAB}-db`;

      await t.step("before: web and db share nothing — no ping, no name", async () => {
        assert((await ping(webNs, db)).code !== 0);
        assert((await lab.exec("web", ["getent", "hosts", "db"])).code !== 0);
      });

      const bridgeMac = async () =>
        JSON.parse(
          (await inNs(`${LAB}-host`, ["ip", "-j", "link", "show", "dev", "br-back"])).out,
        )[0].address;
      const gatewayMac = await bridgeMac();

      await t.step(
        "connect: web gets eth1 on back; ping, DNS, alias and responders work",
        async () => {
          await lab.network.connect("back", "web", { aliases: ["webby"] });
          // A new bridge port must not move the gateway's MAC under db's ARP cache.
          assertEquals(await bridgeMac(), gatewayMac);
          const webBack = addr("web", "back");
          assert(webBack, "lab.model shows the new endpoint");
          const link = await inNs(webNs, ["ip", "-j", "addr", "show", "dev", "eth1"]);
          assertEquals(link.code, 0, link.err);
          const info = JSON.parse(link.out)[0];
          assertEquals(
            info.addr_info.find((a: { family: string }) => a.family === "inet").local,
            webBack,
          );
          assertEquals(
            info.address,
            lab.model.containers.find((c) => c.name === "web")!
              .endpoints[1].mac,
          );
          assertEquals((await ping(webNs, db)).code, 0);
          const g = await lab.exec("web", ["getent", "hosts", "db"]);
          assertEquals(g.code, 0, g.stderr);
          assertMatch(g.stdout, new RegExp(`^${db.replaceAll(".", "\\.")}\\s`));
          const dig = await inNs(dbNs, [
            "dig",
            "+short",
            "+time=1",
            "+tries=1",
            "@127.0.0.11",
            "webby",
          ]);
          assertEquals(dig.out.trim(), webBack);
          // db's responder answers web across the new network, and web's responder listens on its
          // new address (the supervisor reloaded).
          assertEquals((await curl(webNs, `http://${db}:5432/`)).out, "db\n");
          assertEquals((await curl(dbNs, `http://${webBack}:80/`)).out, "web\n");
        },
      );

      await t.step("check agrees: every implied check passes on the new topology", async () => {
        const report = await lab.check();
        const failed = report.results.filter((r) => !r.pass);
        assertEquals(failed.map((r) => JSON.stringify(r)), []);
        assert(
          report.results.some((r) => JSON.stringify(r).includes(db)),
          "the checks probe db on the new network",
        );
      });

      await t.step("inspect lists web on back with its address", () => {
        const j = lab.network.inspect("back");
        const web = Object.values(j.Containers).find((c) => c.Name === "web")!;
        assertEquals(
          web.IPv4Address,
          `${addr("web", "back")}/${lab.model.networks.find((n) => n.name === "back")!.prefix}`,
        );
      });

      await t.step("disconnect: the interface goes, ping fails, the name is NXDOMAIN", async () => {
        await lab.network.disconnect("back", "web");
        assertEquals(addr("web", "back"), undefined);
        assertEquals(await bridgeMac(), gatewayMac);
        assert((await inNs(webNs, ["ip", "link", "show", "eth1"])).code !== 0);
        assert((await ping(webNs, db)).code !== 0);
        assert((await lab.exec("web", ["getent", "hosts", "db"])).code !== 0);
        const dig = await inNs(dbNs, ["dig", "+time=1", "+tries=1", "@127.0.0.11", "webby"]);
        assertMatch(dig.out, /status: NXDOMAIN/);
        const report = await lab.check();
        assertEquals(report.results.filter((r) => !r.pass).map((r) => JSON.stringify(r)), []);
      });

      await t.step(
        "create + connect: two containers that shared nothing reach each other",
        async () => {
          const id = await lab.network.create("link2", { subnet: "172.31.7.0/24" });
          assertMatch(id, /^[0-9a-f]{64}$/);
          await lab.network.connect("link2", "app", { ip: "172.31.7.20" });
          await lab.network.connect("link2", "db");
          assertEquals(addr("db", "link2"), "172.31.7.2");
          assertEquals((await ping(`${LAB}-app`, "172.31.7.2")).code, 0);
          assertEquals((await curl(`${LAB}-app`, "http://172.31.7.2:5432/")).out, "db\n");
          const g = await lab.exec("db", ["getent", "hosts", "app"]);
          assertMatch(g.stdout, /^172\.31\.7\.20\s/);
          const bridge = await inNs(`${LAB}-host`, ["ip", "-j", "addr", "show", "dev", "br-link2"]);
          assertEquals(JSON.parse(bridge.out)[0].addr_info[0].local, "172.31.7.1");
        },
      );

      await t.step("Docker's errors come through the library", async () => {
        const fails = async (p: Promise<unknown>, text: string) => {
          try {
            await p;
          } catch (e) {
            assert(e instanceof NslabError && e.message.includes(text), String(e));
            return;
          }
          assert.fail(`expected "${text}"`);
        };
        await fails(lab.network.rm("link2"), 'has active endpoints (name:"app" id:"');
        await fails(lab.network.rm("bridge"), "bridge is a pre-defined network");
        await fails(lab.network.create("link2"), "network with name link2 already exists");
        await fails(
          lab.network.create("x", { subnet: "172.31.7.0/25" }),
          "invalid pool request: Pool overlaps with other one on this address space",
        );
        await fails(
          lab.network.connect("link2", "web", { ip: "172.31.7.20" }),
          "Address already in use",
        );
        await fails(
          lab.network.connect("link2", "web", { ip: "172.31.8.1" }),
          "no configured subnet contains IP address 172.31.8.1",
        );
        await fails(lab.network.connect("link2", "db"), "endpoint with name db already exists");
        await fails(lab.network.connect("lnk2", "db"), 'did you mean "link2"');
        // A refused operation changed nothing.
        assertEquals(lab.network.ls().map((r) => r.name), ["back", "bridge", "front", "link2"]);
      });

      await t.step(
        "the firewall is reloaded, not appended: no duplicate rule, DOCKER-USER kept",
        async () => {
          const host = `${LAB}-host`;
          assertEquals(
            (await inNs(host, ["iptables", "-I", "DOCKER-USER", "-s", "192.0.2.1", "-j", "DROP"]))
              .code,
            0,
          );
          await lab.network.disconnect("link2", "app");
          await lab.network.connect("link2", "app"); // a second firewall reload
          const rules = (await inNs(host, ["iptables", "-S"])).out.trim().split("\n");
          const nat = (await inNs(host, ["iptables", "-t", "nat", "-S"])).out.trim().split("\n");
          assertEquals(rules.length, new Set(rules).size, rules.join("\n"));
          assertEquals(nat.length, new Set(nat).size, nat.join("\n"));
          assert(rules.includes("-A DOCKER-USER -s 192.0.2.1/32 -j DROP"));
          assert(rules.some((r) => r.includes("br-link2")));
          // Broken on purpose: loading the ruleset again as `up` does duplicates built-in chains,
          // and the duplicate detector above sees it.
          await applyFirewall(host, hostRuleset(lab.model, "host"));
          const dup = (await inNs(host, ["iptables", "-S"])).out.trim().split("\n");
          assert(dup.length > new Set(dup).size, "a naive re-apply must duplicate FORWARD rules");
        },
      );

      await t.step("prune and rm remove unused networks", async () => {
        await lab.network.create("spare");
        // back lost web earlier but db is still on it: only spare is unused.
        assertEquals(await lab.network.prune(), ["spare"]);
        await lab.network.disconnect("link2", "app");
        await lab.network.disconnect("link2", "db");
        assertEquals(await lab.network.rm("link2"), ["link2"]);
        assert((await inNs(`${LAB}-host`, ["ip", "link", "show", "br-link2"])).code !== 0);
      });

      await t.step("broken on purpose: deleting the new interface makes check fail", async () => {
        await lab.network.connect("front", "db");
        const dbFront = addr("db", "front")!;
        assertEquals((await ping(`${LAB}-web`, dbFront)).code, 0);
        assertEquals((await inNs(dbNs, ["ip", "link", "del", "eth1"])).code, 0);
        const report = await lab.check({ only: ["reach"] });
        assert(report.results.some((r) => !r.pass && JSON.stringify(r).includes(dbFront)));
      });
    } finally {
      await run(["deno", "run", "-A", "cli/main.ts", "down", "-p", LAB], { cwd: ROOT });
    }
    await assertGone(LAB);
  },
});

Deno.test({
  name:
    "nslab network (CLI, detached supervisor): create, connect, inspect, errors, disconnect, down",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const LAB = `nw${suffix()}`;
    const dir = Deno.makeTempDirSync({ prefix: "nwcli" });
    const file = `${dir}/nslab.yaml`;
    Deno.writeTextFileSync(
      file,
      "networks: { left: {}, right: {} }\n" +
        "containers:\n  a: { networks: [left] }\n  b: { networks: [right], expose: [7000] }\n",
    );
    const nslab = (...args: string[]) =>
      run(["deno", "run", "-A", "cli/main.ts", ...args], { cwd: ROOT });
    const net = (...args: string[]) => nslab("network", ...args, "-p", LAB);
    try {
      const up = await nslab("up", "-f", file, "-p", LAB, "--no-uplink", "--progress", "quiet");
      assertEquals(up.code, 0, up.err);
      const state = () => JSON.parse(Deno.readTextFileSync(`/run/nslab/${LAB}/state.json`));
      const pid = state().supervisorPid;
      assert(pid > 0 && pid !== Deno.pid);

      await t.step("before: a cannot resolve b's alias", async () => {
        const g = await nslab("exec", "-p", LAB, "a", "--", "getent", "hosts", "bee");
        assert(g.code !== 0);
      });

      await t.step(
        "create prints an id; connect reaches the detached supervisor (SIGHUP)",
        async () => {
          const c = await net("create", "--subnet", "172.31.9.0/24", "mid");
          assertEquals(c.code, 0, c.err);
          assertMatch(c.out.trim(), /^[0-9a-f]{64}$/);
          assertEquals((await net("connect", "mid", "a")).code, 0);
          const r = await net("connect", "--alias", "bee", "--ip", "172.31.9.50", "mid", "b");
          assertEquals(r.code, 0, r.err);
          const g = await nslab("exec", "-p", LAB, "a", "--", "getent", "hosts", "bee");
          assertEquals(g.code, 0, g.err);
          assertMatch(g.out, /^172\.31\.9\.50\s/);
          assertEquals((await curl(`${LAB}-a`, "http://172.31.9.50:7000/")).out, "b\n");
          assertEquals(state().supervisorPid, pid, "the same supervisor serves the change");
          assertEquals(
            Deno.readTextFileSync(`/run/nslab/${LAB}/reloaded`).trim(),
            String(state().generation),
          );
          const check = await nslab("check", "-p", LAB, "--format", "json");
          assertEquals(check.code, 0, check.out + check.err);
        },
      );

      await t.step("inspect prints Docker's JSON array; ls shows the network", async () => {
        const i = await net("inspect", "mid");
        assertEquals(i.code, 0, i.err);
        const [j] = JSON.parse(i.out);
        for (
          const [k, type] of Object.entries({
            Name: "string",
            Id: "string",
            Driver: "string",
            Scope: "string",
            Internal: "boolean",
            Containers: "object",
            IPAM: "object",
          })
        ) {
          assertEquals(typeof j[k], type, k);
        }
        assertEquals(j.IPAM.Config, [{ Subnet: "172.31.9.0/24", Gateway: "172.31.9.1" }]);
        const names = Object.values(
          j.Containers as Record<string, { Name: string; IPv4Address: string }>,
        )
          .map((c) => `${c.Name}=${c.IPv4Address}`).sort();
        assertEquals(names, ["a=172.31.9.2/24", "b=172.31.9.50/24"]);
        assertMatch((await net("ls")).out, /^[0-9a-f]{12}\s+mid\s+bridge\s+local$/m);
      });

      await t.step("errors: Docker's texts, exit 1 for state, 2 for usage", async () => {
        const rm = await net("rm", "mid");
        assertEquals(rm.code, 1);
        assertMatch(
          rm.err,
          /error while removing network: network mid has active endpoints \(name:"a" id:"[0-9a-f]{64}"\)/,
        );
        const dup = await net("create", "mid");
        assertEquals([dup.code, dup.err.includes("network with name mid already exists")], [
          1,
          true,
        ]);
        const bad = await net("create", "--subnet", "172.31.9.1/24", "bad");
        assertEquals(bad.code, 2, bad.err);
        const opt = await net("create", "-o", "novalue", "bad");
        assertEquals(opt.code, 2, opt.err);
        const typo = await net("connect", "mdi", "a");
        assertEquals(typo.code, 1);
        assertMatch(typo.err, /network mdi not found \(did you mean "mid"\?\)/);
        const twice = await net("connect", "mid", "a");
        assertMatch(twice.err, /endpoint with name a already exists in network mid/);
        const notOn = await net("disconnect", "left", "b");
        assertMatch(notOn.err, /container b is not connected to network left/);
      });

      await t.step(
        "two connects at once are serialised: different addresses, both served",
        async () => {
          assertEquals((await net("create", "--subnet", "172.31.10.0/24", "par")).code, 0);
          const [x, y] = await Promise.all([
            net("connect", "par", "a"),
            net("connect", "par", "b"),
          ]);
          assertEquals([x.code, y.code], [0, 0], x.err + y.err);
          const [j] = JSON.parse((await net("inspect", "par")).out);
          const ips = Object.values(j.Containers as Record<string, { IPv4Address: string }>)
            .map((c) => c.IPv4Address).sort();
          assertEquals(ips, ["172.31.10.2/24", "172.31.10.3/24"]);
          // a and b share mid too, which Docker's resolver tries first (by name): ask on par.
          const g = await nslab("exec", "-p", LAB, "a", "--", "getent", "hosts", "b.par");
          assertMatch(g.out, /172\.31\.10\.[23]\s/);
        },
      );

      await t.step("disconnect: the alias is gone at once, then rm and prune", async () => {
        assertEquals((await net("disconnect", "mid", "b")).code, 0);
        const g = await nslab("exec", "-p", LAB, "a", "--", "getent", "hosts", "bee");
        assert(g.code !== 0, g.out);
        assert((await ping(`${LAB}-a`, "172.31.9.50")).code !== 0);
        assertEquals((await net("disconnect", "mid", "a")).code, 0);
        assertEquals((await net("create", "spare")).code, 0);
        const p = await net("prune");
        assertEquals(p.out, "Deleted Networks:\nmid\nspare\n");
        assert((await inNs(`${LAB}-host`, ["ip", "link", "show", "br-mid"])).code !== 0);
      });

      await t.step("down after operations leaves nothing", async () => {
        assertEquals((await net("connect", "right", "a")).code, 0); // one more live change
        const d = await nslab("down", "-p", LAB);
        assertEquals(d.code, 0, d.err);
        await assertGone(LAB);
        assert(!processAlive(pid), "the supervisor is gone");
      });
    } finally {
      await nslab("down", "-p", LAB);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "overlay create + connect across hosts: VXLAN, FDB and neighbours follow; disconnect undoes them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const LAB = `nw${suffix()}`;
    try {
      await using lab = await Lab.up({
        name: LAB,
        hosts: { h1: {}, h2: {} },
        containers: { a: { host: "h1" }, b: { host: "h2", expose: [9000] } },
      }, { uplink: false });
      await lab.network.create("mesh", { driver: "overlay", subnet: "10.99.0.0/24" });
      await lab.network.connect("mesh", "a");
      await lab.network.connect("mesh", "b", { aliases: ["bee"] });
      const b = lab.model.containers.find((c) => c.name === "b")!;
      const ep = b.endpoints.find((e) => e.network === "mesh")!;
      assertEquals(ep.address, "10.99.0.3");
      assertEquals((await ping(`${LAB}-a`, "10.99.0.3")).code, 0);
      assertEquals((await curl(`${LAB}-a`, "http://10.99.0.3:9000/")).out, "b\n");
      const g = await lab.exec("a", ["getent", "hosts", "bee"]);
      assertMatch(g.stdout, /^10\.99\.0\.3\s/);
      // docker_gwbridge came with the overlay (eth2); the default route stays on the project
      // network <lab>_default (a names no network), 172.18.0.0/16 as Compose gives it.
      const a = lab.model.containers.find((c) => c.name === "a")!;
      assertEquals(a.endpoints.map((e) => `${e.network}:${e.ifname}`), [
        "default:eth0",
        "mesh:eth1",
        "docker_gwbridge:eth2",
      ]);
      const eth2 = await inNs(`${LAB}-a`, ["ip", "-j", "addr", "show", "dev", "eth2"]);
      assertEquals(JSON.parse(eth2.out)[0].addr_info[0].local, a.endpoints[2].address);
      const route = await inNs(`${LAB}-a`, ["ip", "-j", "route", "show", "default"]);
      assertEquals(JSON.parse(route.out)[0].gateway, "172.18.0.1");
      // The static entry on the VXLAN device itself ("self"; the bridge above may also have
      // learned the MAC on its port, which ages out on its own).
      const h2 = lab.model.hosts.find((h) => h.name === "h2")!.address;
      const self = async () =>
        (await inNs(`${LAB}-h1`, ["bridge", "fdb", "show", "dev", "vx-mesh"])).out.split("\n")
          .filter((l) => l.startsWith(`${ep.mac} dst ${h2} self`));
      assertEquals((await self()).length, 1);
      await lab.network.disconnect("mesh", "b");
      assertEquals(await self(), [], "b's FDB entry left h1");
      const neigh = await inNs(`${LAB}-h1`, ["ip", "neigh", "show", "dev", "vx-mesh"]);
      assert(!neigh.out.includes("10.99.0.3 "), neigh.out);
      assert((await ping(`${LAB}-a`, "10.99.0.3")).code !== 0);
    } finally {
      await run(["deno", "run", "-A", "cli/main.ts", "down", "-p", LAB], { cwd: ROOT });
    }
    await assertGone(LAB);
  },
});

Deno.test({
  name: "a connect that fails half-way is rolled back: kernel and state as before",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const LAB = `nw${suffix()}`;
    try {
      await using lab = await Lab.up(topology(LAB), { uplink: false });
      const host = `${LAB}-host`;
      await lab.network.create("late", { subnet: "172.31.11.0/24" });
      // Learn the veth name the connect will use, and take it first: the bridge gets created,
      // then the veth fails with EEXIST.
      const { connectNetwork } = await import("../core/model/network_ops.ts");
      const veth = connectNetwork(lab.model, "late", "web").containers
        .find((c) => c.name === "web")!.endpoints.at(-1)!.hostIfname;
      assertEquals((await inNs(host, ["ip", "link", "add", veth, "type", "bridge"])).code, 0);
      const before = Deno.readTextFileSync(`/run/nslab/${LAB}/state.json`);
      let error: unknown = null;
      try {
        await lab.network.connect("late", "web");
      } catch (e) {
        error = e;
      }
      assert(error instanceof NslabError, String(error));
      assertMatch(error.message, new RegExp(veth));
      assertEquals(Deno.readTextFileSync(`/run/nslab/${LAB}/state.json`), before);
      assert(
        !lab.model.containers.find((c) => c.name === "web")!.endpoints.some((e) =>
          e.network === "late"
        ),
      );
      assert(
        (await inNs(host, ["ip", "link", "show", "br-late"])).code !== 0,
        "bridge rolled back",
      );
      assert((await inNs(`${LAB}-web`, ["ip", "link", "show", "eth1"])).code !== 0);
      // With the obstacle gone, the same connect works.
      assertEquals((await inNs(host, ["ip", "link", "del", veth])).code, 0);
      await lab.network.connect("late", "web");
      assertEquals((await inNs(host, ["ip", "link", "show", "br-late"])).code, 0);
    } finally {
      await run(["deno", "run", "-A", "cli/main.ts", "down", "-p", LAB], { cwd: ROOT });
    }
    await assertGone(LAB);
  },
});
