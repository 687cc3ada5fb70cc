/**
 * Per-host apply: `nslab up --only-host hN`, once per host in separate processes, builds exactly
 * that host's part, and the parts together are the same working lab as one `up` — proven with
 * ping, curl, getent and `nslab check`; a missing part is seen failing; `down` removes every part.
 */

import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { assertNoNamespaces, inNs, labName, labNamespaces, run } from "./_ov_support.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const TOPOLOGY = `hosts: { h1: {}, h2: {}, h3: {} }
networks:
  mesh: { driver: overlay, ipam: { config: [{ subnet: 10.10.0.0/24 }] } }
  side: { driver: bridge }
containers:
  peer1: { host: h1, expose: [80], networks: [mesh] }
  peer2: { host: h2, expose: [80], networks: [mesh] }
  peer3: { host: h3, expose: [80], networks: [mesh] }
  lonely: { host: h2, expose: [80], networks: [side] }
`;

const nslab = (args: string[]) => run([Deno.execPath(), "run", "-A", MAIN, ...args]);

interface Report {
  results: { pass: boolean; expectation: { id: string } }[];
}

async function check(lab: string): Promise<{ code: number; passed: string[]; failed: string[] }> {
  const r = await nslab(["check", "-p", lab, "--format", "json"]);
  const report = JSON.parse(r.out) as Report;
  // Compose names (`<lab>-<service>-1`) are DNS names, so the lab's own name is part of some
  // check ids: two labs from one file are compared with it replaced.
  const ids = (pass: boolean) =>
    report.results.filter((x) => x.pass === pass).map((x) =>
      x.expectation.id.replaceAll(lab, "<lab>")
    ).sort();
  return { code: r.code, passed: ids(true), failed: ids(false) };
}

const supervisors = async (lab: string) =>
  (await run(["pgrep", "-f", `cli/supervisor.ts ${lab}( |$)`])).out.trim().split("\n").filter((
    x,
  ) => x !== "");

Deno.test({
  name: "up --only-host per host in separate processes gives the same working lab as one up",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ov-perhost-" });
    const file = `${dir}/lab.yaml`;
    await Deno.writeTextFile(file, TOPOLOGY);
    const lab = labName();
    const whole = labName();
    try {
      const up = (host: string) =>
        nslab([
          "up",
          "-f",
          file,
          "-p",
          lab,
          "--no-uplink",
          "--only-host",
          host,
          "--progress",
          "quiet",
        ]);

      await t.step(
        "h1's part is exactly h1: underlay, its host, its container, one supervisor",
        async () => {
          const r = await up("h1");
          assertEquals(r.code, 0, r.err);
          assertEquals((await labNamespaces(lab)).sort(), [
            `${lab}-h1`,
            `${lab}-peer1`,
            `${lab}-underlay`,
          ]);
          assertEquals((await supervisors(lab)).length, 1);
          // its VXLAN peers already point at the other hosts' addresses
          const state = JSON.parse(await Deno.readTextFile(`/run/nslab/${lab}/state.json`));
          const addr = (h: string) =>
            state.model.hosts.find((x: { name: string }) => x.name === h).address;
          const fdb = JSON.parse(
            (await run(["bridge", "-n", `${lab}-h1`, "-j", "fdb", "show", "dev", "vx-mesh"])).out,
          );
          assertEquals(
            fdb.filter((e: { dst?: string }) => e.dst).map((e: { dst: string }) => e.dst).sort(),
            [addr("h2"), addr("h3")].sort(),
          );
        },
      );

      await t.step(
        "with h2 and h3 missing, their peers are unreachable and check fails",
        async () => {
          assert((await inNs(lab, "peer1", ["ping", "-c1", "-W1", "-q", "10.10.0.3"])).code !== 0);
          const c = await check(lab);
          assertEquals(c.code, 1);
          assert(c.failed.length > 0);
        },
      );

      await t.step("h2 and h3 come up concurrently, each in its own process", async () => {
        const [r2, r3] = await Promise.all([up("h2"), up("h3")]);
        assertEquals(r2.code, 0, r2.err);
        assertEquals(r3.code, 0, r3.err);
        assertEquals((await labNamespaces(lab)).length, 8);
        assertEquals((await supervisors(lab)).length, 3);
      });

      await t.step("cross-host ping, curl and getent pass", async () => {
        for (const [a, b] of [["peer1", "peer2"], ["peer2", "peer3"], ["peer3", "peer1"]]) {
          assertEquals(
            (await inNs(lab, a, ["ping", "-c1", "-W2", "-q", b])).code,
            0,
            `${a} → ${b}`,
          );
          assertEquals(
            (await inNs(lab, a, ["curl", "-s", "-m", "3", `http://${b}/`])).out,
            `${b}\n`,
          );
          assertEquals((await inNs(lab, a, ["getent", "hosts", b])).code, 0);
        }
        assert((await inNs(lab, "lonely", ["getent", "hosts", "peer1"])).code !== 0);
      });

      await t.step("up of a part already up is a no-op; an unknown host exits 2", async () => {
        const again = await up("h2");
        assertEquals(again.code, 0);
        assert(again.err.includes("already up"), again.err);
        assertEquals((await supervisors(lab)).length, 3);
        const bad = await up("h9");
        assertEquals(bad.code, 2);
        assert(bad.err.includes('no such host; its hosts are "h1", "h2", "h3"'), bad.err);
      });

      await t.step("nslab check passes the same checks as one up of the same file", async () => {
        const parts = await check(lab);
        assertEquals(parts.failed, []);
        assertEquals(parts.code, 0);
        const r = await nslab([
          "up",
          "-f",
          file,
          "-p",
          whole,
          "--no-uplink",
          "--progress",
          "quiet",
        ]);
        assertEquals(r.code, 0, r.err);
        const one = await check(whole);
        assertEquals(one.failed, []);
        assertEquals(parts.passed, one.passed);
      });

      await t.step("down removes every part: namespaces, supervisors, state", async () => {
        const r = await nslab(["down", "-p", lab]);
        assertEquals(r.code, 0, r.err);
        assertEquals(await labNamespaces(lab), []);
        assertEquals(await supervisors(lab), []);
        await assert.rejects(Deno.stat(`/run/nslab/${lab}`), Deno.errors.NotFound);
      });
    } finally {
      await nslab(["down", "-p", lab]);
      await nslab(["down", "-p", whole]);
      await Deno.remove(dir, { recursive: true });
      await assertNoNamespaces(lab);
      await assertNoNamespaces(whole);
    }
  },
});
