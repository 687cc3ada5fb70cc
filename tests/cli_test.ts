/**
 * The CLI as a user runs it: exit codes, located errors, a deterministic plan, and a detached lab
 * whose `check` goes from 0 to 1 when the network is broken — and `down` that leaves nothing.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { exists, nslab } from "./_support/nslab.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const LAB = `cl${(Date.now() % 1e6).toString(36)}`;

Deno.test("validate reports every error located with a fix, exit 2, and no stack trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      file,
      "name: bad\nnetworks:\n  front: { drivr: bridge }\ncontainers:\n  web: { networks: [frnt] }\n",
    );
    const r = await nslab(["validate", "-f", file]);
    assertEquals(r.code, 2);
    assertMatch(r.err, new RegExp(`${file}:3:\\d+: .*drivr.*driver`));
    assertMatch(r.err, new RegExp(`${file}:5:\\d+: .*frnt.*front`));
    assert(!r.err.includes("    at "), r.err);
    assertEquals((await nslab(["validate", "-f", `${ROOT}topologies/seed.yaml`])).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unknown verb suggests the right one and exits 2", async () => {
  const r = await nslab(["chek"]);
  assertEquals(r.code, 2);
  assertMatch(r.err, /Did you mean check\?/);
});

Deno.test("plan --json is byte-identical across runs and touches nothing", async () => {
  const labNamespaces = async () =>
    new TextDecoder().decode(
      (await new Deno.Command("ip", { args: ["netns", "list"] }).output()).stdout,
    )
      .split("\n").filter((l) => l.startsWith(`${LAB}-`));
  const before = await labNamespaces();
  const a = await nslab(["plan", "--json", "-f", `${ROOT}topologies/seed.yaml`, "-p", LAB]);
  const b = await nslab(["plan", "--json", "-f", `${ROOT}topologies/seed.yaml`, "-p", LAB]);
  assertEquals(a.code, 0);
  assertEquals(a.out, b.out);
  assert(JSON.parse(a.out).namespaces.length > 5);
  assertEquals(await labNamespaces(), before);
  assertEquals(before, []);
  await assertRejects(() => Deno.stat(`/run/nslab/${LAB}`));
});

Deno.test({
  name: "up, ps, check (0, then 1 once broken), check --format junit, down leaves nothing",
  sanitizeResources: false,
  async fn() {
    const file = `${ROOT}topologies/bridge.yaml`;
    try {
      const up = await nslab(["up", "-f", file, "-p", LAB, "--no-uplink"]);
      assertEquals(up.code, 0, up.err);
      const again = await nslab(["up", "-f", file, "-p", LAB, "--no-uplink"]);
      assertEquals(again.code, 0, again.err);
      assertMatch(again.err, /already up/);

      const ps = await nslab(["ps", "-p", LAB]);
      assertEquals(ps.code, 0);
      assertMatch(ps.out, /CONTAINER/);

      const hostname = await nslab(["exec", "-p", LAB, "web", "--", "hostname"]);
      assertEquals([hostname.code, hostname.out], [0, "web\n"]);
      const resolved = await nslab(["exec", "-p", LAB, "web", "--", "getent", "hosts", "app"]);
      assertEquals(resolved.code, 0, resolved.err);
      assertMatch(resolved.out, /^172\.20\.0\.\d+\s+app$/m);

      const ok = await nslab(["check", "-p", LAB, "--format", "json"]);
      assertEquals(ok.code, 0, ok.out);
      const healthy = JSON.parse(ok.out);
      assert(healthy.results.length > 0 && healthy.results.every((r: { pass: boolean }) => r.pass));

      const junit = await nslab(["check", "-p", LAB, "--format", "junit"]);
      assertMatch(junit.out, /^<\?xml[^]*<testsuite[^]*failures="0"/);

      // Break it: remove one container's only interface.
      const state = JSON.parse(await Deno.readTextFile(`/run/nslab/${LAB}/state.json`));
      const victim = state.model.containers.find((c: { endpoints: unknown[] }) =>
        c.endpoints.length > 0
      );
      const ep = victim.endpoints[0];
      const host = state.model.hosts.find((h: { name: string }) => h.name === victim.host);
      const del = await new Deno.Command("ip", {
        args: ["-n", host.netns, "link", "del", ep.hostIfname],
      }).output();
      assertEquals(del.code, 0);
      const bad = await nslab(["check", "-p", LAB, "--format", "json"]);
      assertEquals(bad.code, 1);
      const failed = JSON.parse(bad.out).results.filter((r: { pass: boolean }) => !r.pass);
      assert(
        failed.some((r: { expectation: { id: string } }) =>
          r.expectation.id === `iface:${victim.name}`
        ),
      );
    } finally {
      const down = await nslab(["down", "-p", LAB]);
      assertEquals(down.code, 0, down.err);
    }
    const left = new TextDecoder().decode(
      (await new Deno.Command("ip", { args: ["netns", "list"] }).output()).stdout,
    );
    assert(!left.split("\n").some((l) => l.startsWith(`${LAB}-`)), left);
    await assertRejects(() => Deno.stat(`/run/nslab/${LAB}`));
    const again = await nslab(["down", "-p", LAB]);
    assertEquals(again.code, 0, "down is idempotent");
  },
});

async function assertRejects(fn: () => Promise<unknown>): Promise<void> {
  let threw = false;
  try {
    await fn();
  } catch {
    threw = true;
  }
  assert(threw, "expected a rejection");
}

Deno.test({
  name: "up --attach stays in the foreground and tears the lab down on Ctrl-C",
  sanitizeResources: false,
  async fn() {
    const lab = `${LAB}a`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--config",
        `${ROOT}deno.json`,
        `${ROOT}cli/main.ts`,
        "up",
        "--attach",
        "-f",
        `${ROOT}topologies/bridge.yaml`,
        "-p",
        lab,
        "--no-uplink",
      ],
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const deadline = Date.now() + 30_000;
      while (!(await exists(`/run/nslab/${lab}/ready`))) {
        if (Date.now() > deadline) throw new Error("the attached lab never became ready");
        await new Promise((r) => setTimeout(r, 50));
      }
      const ns = new TextDecoder().decode(
        (await new Deno.Command("ip", { args: ["netns", "list"] }).output()).stdout,
      );
      assert(ns.includes(`${lab}-web`), "the lab is up while attached");
      child.kill("SIGINT");
      const { code } = await child.output();
      assertEquals(code, 0);
      assert(!(await exists(`/run/nslab/${lab}`)), "state removed after Ctrl-C");
      const after = new TextDecoder().decode(
        (await new Deno.Command("ip", { args: ["netns", "list"] }).output()).stdout,
      );
      assert(!after.includes(`${lab}-`), after);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await nslab(["down", "-p", lab]);
    }
  },
});
