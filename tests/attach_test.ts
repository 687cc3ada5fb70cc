/**
 * `lab.attach`: a testcontainers `GenericContainer` (a local busybox image: no registry here)
 * joins the lab's `back` network, is resolved and reached from lab containers by its name and
 * alias, is covered by `check`, goes red when its veth is deleted, and is detached — not stopped —
 * on teardown. Needs root and a Docker engine (scripts/docker.sh); skipped with a printed reason
 * when none answers.
 *
 * testcontainers runs under Deno as is. Its resource reaper (Ryuk) is an image pulled from Docker
 * Hub, which is unreachable here, so it is turned off; the test stops its container itself.
 */

import assert from "node:assert/strict";
import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { ChecksFailedError, Lab, type TopologyInput } from "../mod.ts";
import { listNetns } from "../core/kernel/netns/netns.ts";
import { docker } from "../core/runtime/docker.ts";
import { buildBusyboxImage, dockerSkipReason, removeImage } from "./_docker/image.ts";
import { run } from "./_support/run.ts";

const skip = await dockerSkipReason();
if (skip) console.error(`attach_test: skipped: ${skip}`);

const TOPOLOGY: TopologyInput = {
  networks: { front: {}, back: {} },
  containers: {
    web: { networks: ["front"] },
    api: { networks: ["front", "back"], expose: [8000] },
  },
};

/** Interface names inside a Docker container (busybox `ip`). */
async function interfaces(id: string): Promise<string[]> {
  const r = await docker(["exec", id, "ip", "-o", "link"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).map((l) => l.split(":")[1].trim().split("@")[0]);
}

Deno.test({
  name: "a testcontainers container joins back, is resolved, reached and checked, then detached",
  ignore: skip !== null,
  async fn(t) {
    Deno.env.set("TESTCONTAINERS_RYUK_DISABLED", "true");
    const image = await buildBusyboxImage(`us-attach-${Math.random().toString(36).slice(2, 8)}`);
    let box: StartedTestContainer | null = null;
    try {
      box = await new GenericContainer(image)
        .withName(`usat-cache-${Math.random().toString(36).slice(2, 6)}`)
        .withNetworkMode("none")
        .withCommand([
          "sh",
          "-c",
          "echo served-by-box > /var/www/index.html && exec httpd -f -p 80 -h /var/www",
        ])
        .start();
      const id = box.getId();
      assert.deepEqual(await interfaces(id), ["lo"]);
      const lab = await Lab.up(TOPOLOGY, { name: "usat", uplink: false });
      try {
        const cache = await lab.attach(box, { networks: ["back"], aliases: ["kv"], name: "cache" });
        const address = cache.endpoints[0].address!;

        await t.step("lab containers resolve and reach it by name and alias", async () => {
          await lab.expect("api").resolves("kv", [address]);
          await lab.expect("api").resolves("cache", [address]);
          await lab.expect("api").reaches("cache", 80);
          await lab.expect("cache").reaches("api", 8000);
          await lab.expect("web").cannotResolve("kv");
          await lab.expect("web").cannotReach(address);
          // A real client in api's sandbox, through nslab's DNS, gets the container's own page.
          const got = await lab.exec("api", ["curl", "-s", "--max-time", "5", "http://kv/"]);
          assert.equal(got.stdout.trim(), "served-by-box", got.stderr);
          assert.deepEqual((await interfaces(id)).sort(), ["eth0", "lo"]);
        });

        await t.step("check covers it like any container", async () => {
          const report = await lab.assertChecks();
          const about = report.results.filter((r) => r.expectation.containers.includes("cache"));
          const kinds = new Set(about.map((r) => r.expectation.kind));
          for (const k of ["reach", "isolation", "dns", "iface"]) assert(kinds.has(k as never), k);
        });

        await t.step("deleting its veth turns its rows red", async () => {
          const del = await run([
            "ip",
            "-n",
            "usat-host",
            "link",
            "del",
            cache.endpoints[0].hostIfname,
          ]);
          assert.equal(del.code, 0, del.out);
          await assert.rejects(() => lab.expect("api").reaches("cache", 80), ChecksFailedError);
          const report = await lab.check({ only: ["cache"] });
          assert(report.failed.some((r) => r.expectation.id.startsWith("reach:api->cache")));
        });
      } finally {
        await lab.down();
      }

      await t.step("teardown detaches it and leaves it running", async () => {
        assert.deepEqual(listNetns().filter((n) => n.startsWith("usat-")), []);
        const state = await docker(["inspect", "--format", "{{.State.Running}}", id]);
        assert.equal(state.stdout.trim(), "true");
        // The kernel frees the lab's namespaces (and so the veths' far ends) asynchronously.
        const deadline = Date.now() + 10_000;
        while ((await interfaces(id)).length > 1 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(await interfaces(id), ["lo"]);
      });
    } finally {
      await box?.stop().catch(() => {});
      await removeImage(image);
    }
  },
});
