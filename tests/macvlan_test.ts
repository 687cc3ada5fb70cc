/**
 * macvlan on simulated hosts, proven with real clients: a container's own MAC on the underlay,
 * peers on the same parent reach it, its own host cannot until `host_shim` — and the modes the
 * kernel supports. Then the refusals (802.1Q parent, ESP, ipvlan, passthru): exit 2 from `validate`
 * and `up`, with nothing built.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/load.ts";
import { has8021q, hasEsp } from "../core/kernel/features.ts";
import { UnsupportedError } from "../core/errors.ts";
import { assertNoNamespaces, inNs, labName, labNamespaces, run } from "./_ov_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** `lan` on eth0 of two hosts: m1 and m3 on h1, m2 on h2. */
function lanTopology(driverOpts: Record<string, string>): TopologyInput {
  return {
    hosts: { h1: {}, h2: {} },
    networks: { lan: { driver: "macvlan", driver_opts: { parent: "eth0", ...driverOpts } } },
    containers: {
      m1: { host: "h1", expose: [80], networks: ["lan"] },
      m2: { host: "h2", expose: [80], networks: ["lan"] },
      m3: { host: "h1", expose: [80], networks: ["lan"] },
    },
  } as TopologyInput;
}

async function withLan(
  driverOpts: Record<string, string>,
  fn: (lab: Lab, reach: (from: string, to: string) => Promise<boolean>) => Promise<void>,
): Promise<void> {
  const name = labName();
  try {
    await using lab = await Lab.up(lanTopology(driverOpts), { name, uplink: false });
    const reach = async (from: string, to: string) => {
      const ip = lab.model.containers.find((c) => c.name === to)!.endpoints[0].address!;
      const r = await inNs(name, from, ["curl", "-s", "-m", "2", `http://${ip}/`]);
      return r.out === `${to}\n`;
    };
    await fn(lab, reach);
  } finally {
    await assertNoNamespaces(name);
  }
}

Deno.test({
  name: "macvlan bridge mode: own MAC on the underlay, peers reach it, its own host cannot",
  ...opts,
  async fn(t) {
    await withLan({}, async (lab, reach) => {
      const name = lab.name;
      await t.step("the container's MAC is its own, not its host's", async () => {
        const link = JSON.parse((await inNs(name, "m1", ["ip", "-j", "link", "show", "eth0"])).out);
        const host = JSON.parse((await inNs(name, "h1", ["ip", "-j", "link", "show", "eth0"])).out);
        assertEquals(link[0].address, lab.inspect("m1").endpoints[0].mac);
        assert(link[0].address !== host[0].address);
        assertEquals(link[0].linkinfo?.info_kind ?? "macvlan", "macvlan");
        // h2 learns m1's own MAC for m1's address from the wire
        assertEquals(
          (await inNs(name, "h2", [
            "ping",
            "-c1",
            "-W2",
            "-q",
            lab.inspect("m1").endpoints[0].address!,
          ])).code,
          0,
        );
        const neigh = JSON.parse(
          (await inNs(name, "h2", [
            "ip",
            "-j",
            "neigh",
            "show",
            lab.inspect("m1").endpoints[0].address!,
          ])).out,
        );
        assertEquals(neigh[0].lladdr, link[0].address);
      });
      await t.step("a container on another host and that host itself reach it", async () => {
        assert(await reach("m2", "m1"));
        assert(await reach("h2", "m1"));
      });
      await t.step("a container on the same host reaches it (bridge mode)", async () => {
        assert(await reach("m3", "m1"));
      });
      await t.step("its own host cannot reach it without the shim", async () => {
        assert(
          !(await reach("h1", "m1")),
          "h1 → m1 must fail: the kernel keeps a parent from its macvlan children",
        );
        assert(!(await reach("h1", "m3")));
      });
    });
  },
});

Deno.test({
  name:
    "macvlan host_shim: the host reaches its own containers, and deleting the shim's route breaks it",
  ...opts,
  async fn(t) {
    await withLan({ host_shim: "true" }, async (lab, reach) => {
      const m1 = lab.inspect("m1").endpoints[0].address!;
      await t.step("h1 reaches both local containers through mvs-lan", async () => {
        assert(await reach("h1", "m1"));
        assert(await reach("h1", "m3"));
        const route = JSON.parse(
          (await inNs(lab.name, "h1", ["ip", "-j", "route", "get", m1])).out,
        );
        assertEquals(route[0].dev, "mvs-lan");
      });
      await t.step("peers still reach it", async () => {
        assert(await reach("h2", "m1"));
        assert(await reach("m2", "m1"));
      });
      await t.step("without the /32 route through the shim, h1 loses m1 only", async () => {
        assertEquals(
          (await inNs(lab.name, "h1", ["ip", "route", "del", `${m1}/32`, "dev", "mvs-lan"])).code,
          0,
        );
        assert(!(await reach("h1", "m1")), "h1 → m1 must fail without the shim route");
        assert(await reach("h1", "m3"));
      });
    });
  },
});

Deno.test({
  name: "macvlan private and vepa modes: same-host containers are cut off, other hosts reach them",
  ...opts,
  async fn(t) {
    for (const mode of ["private", "vepa"]) {
      await t.step(`${mode}: m1 ↔ m3 (same host) fail, m1 ↔ m2 work`, async () => {
        await withLan({ macvlan_mode: mode }, async (lab, reach) => {
          const link = JSON.parse(
            (await inNs(lab.name, "m1", ["ip", "-d", "-j", "link", "show", "eth0"])).out,
          );
          assertEquals(link[0].linkinfo.info_data.mode, mode);
          assert(!(await reach("m1", "m3")), `${mode}: same-host children must not talk directly`);
          assert(!(await reach("m3", "m1")));
          assert(await reach("m1", "m2"));
          assert(await reach("m2", "m3"));
        });
      });
    }
  },
});

/** Runs the CLI; returns exit code and stderr. */
async function cli(args: string[]): Promise<{ code: number; err: string }> {
  const main = new URL("../cli/main.ts", import.meta.url).pathname;
  const r = await run([Deno.execPath(), "run", "-A", main, ...args]);
  return { code: r.code, err: r.err };
}

Deno.test({
  name:
    "refusals: an 802.1Q parent, encryption, passthru on eth0 and ipvlan exit 2 from validate and up, building nothing",
  ...opts,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ov-refuse-" });
    try {
      await t.step("this kernel has neither 802.1Q nor ESP (probed for real)", () => {
        assertEquals(has8021q(), false);
        assertEquals(hasEsp(), false);
        const leftover = new Deno.Command("ip", { args: ["netns", "list"] }).outputSync();
        assert(
          !new TextDecoder().decode(leftover.stdout).includes("nslab-probe-"),
          "probe namespaces are removed",
        );
      });
      const cases: [string, string, RegExp][] = [
        [
          "vlan",
          "hosts: { h1: {} }\nnetworks:\n  v50: { driver: macvlan, driver_opts: { parent: eth0.50 }, ipam: { config: [{ subnet: 192.168.50.0/24 }] } }\ncontainers:\n  a: { host: h1, networks: [v50] }\n",
          /lab\.yaml:3:3: macvlan network "v50" has parent "eth0\.50".*8021q/s,
        ],
        [
          "esp",
          "hosts: { h1: {}, h2: {} }\nnetworks:\n  mesh: { driver: overlay, encrypted: true }\ncontainers:\n  a: { host: h1, networks: [mesh] }\n  b: { host: h2, networks: [mesh] }\n",
          /lab\.yaml:3:3: network "mesh" is encrypted.*no IPsec ESP/s,
        ],
        [
          "passthru",
          "networks:\n  lan: { driver: macvlan, driver_opts: { parent: eth0, macvlan_mode: passthru } }\ncontainers:\n  a: { networks: [lan] }\n",
          /lab\.yaml:2:3: macvlan network "lan" is in passthru mode/,
        ],
        [
          "ipvlan",
          "networks:\n  l2: { driver: ipvlan }\ncontainers:\n  a: { networks: [l2] }\n",
          /lab\.yaml:2:.*ipvlan is not available on this kernel/,
        ],
      ];
      for (const [what, yaml, message] of cases) {
        await t.step(
          `${what}: validate and up exit 2 with a located message; no namespace, no state`,
          async () => {
            const file = `${dir}/lab.yaml`;
            await Deno.writeTextFile(file, yaml);
            const name = labName();
            for (const verb of [["validate"], ["up", "--no-uplink"]]) {
              const r = await cli([...verb, "-f", file, "-p", name]);
              assertEquals(r.code, 2, `${verb[0]} ${what}: ${r.err}`);
              assertMatch(r.err.replace(/^.*\//gm, ""), message);
              assert(!r.err.includes("    at "), "no stack trace");
            }
            assertEquals(await labNamespaces(name), []);
            await assert.rejects(Deno.stat(`/run/nslab/${name}`), Deno.errors.NotFound);
          },
        );
      }
      await t.step("the library refuses too, with UnsupportedError, before building", async () => {
        const name = labName();
        await assert.rejects(
          Lab.up({
            networks: {
              v50: {
                driver: "macvlan",
                driver_opts: { parent: "eth0.50" },
                ipam: { config: [{ subnet: "192.168.50.0/24" }] },
              },
            },
            containers: { a: { networks: ["v50"] } },
          } as TopologyInput, { name, uplink: false }),
          (e: unknown) =>
            e instanceof UnsupportedError && e.exitCode === 2 && /8021q/.test(e.message),
        );
        assertEquals(await labNamespaces(name), []);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
