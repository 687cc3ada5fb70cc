/**
 * `runtime: docker`: real Docker containers wired into a lab beside sandboxes. Needs root and a
 * Docker engine (scripts/docker.sh starts one); skipped with a printed reason when none answers.
 *
 * Each behaviour is shown with real clients (ping, wget, nslookup inside the Docker container via
 * `docker exec`; ping, wget from the sandbox via `ip netns exec`), then broken on purpose
 * (`docker stop`) to show the checks see it.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { Lab } from "../mod.ts";
import type { TopologyInput } from "../core/model/input.ts";
import { docker, LAB_LABEL } from "../core/runtime/docker.ts";
import { listNetns } from "../core/kernel/netns/netns.ts";
import {
  buildBusyboxImage,
  dockerOut,
  dockerSkipReason,
  parseNslookup,
  removeImage,
  SERVE_HOSTNAME,
} from "./_docker/image.ts";

const skip = await dockerSkipReason();
if (skip) console.error(`docker_runtime_test: skipped: ${skip}`);

const suffix = () => Math.random().toString(36).slice(2, 8);

/** Names of the Docker containers (running or not) labelled with `lab`. */
async function labelled(lab: string): Promise<string[]> {
  const out = await dockerOut([
    "ps",
    "--all",
    "--filter",
    `label=${LAB_LABEL}=${lab}`,
    "--format",
    "{{.Names}}",
  ]);
  return out.split("\n").filter((l) => l !== "").sort();
}

/** `docker exec NAME cmd…`: exit code and output. */
async function dexec(name: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await docker(["exec", name, ...cmd]);
  return { code: r.code, out: r.stdout + r.stderr };
}

function leftovers(lab: string): string[] {
  return listNetns().filter((n) => n.startsWith(`${lab}-`));
}

function mixed(image: string): TopologyInput {
  return {
    networks: { one: {}, two: {} },
    services: {
      // A sandbox: nslab's responder answers on port 80 with its name.
      sand: { networks: ["one"], expose: [80] },
      // A Docker container on the same network, serving its hostname with busybox httpd.
      box: {
        runtime: "docker",
        image,
        command: SERVE_HOSTNAME,
        expose: [80],
        networks: ["one"],
      },
      // A Docker container on another network: isolated from both.
      far: {
        runtime: "docker",
        image,
        command: SERVE_HOSTNAME,
        expose: [80],
        networks: ["two"],
      },
    },
  };
}

Deno.test({
  name:
    "a mixed lab: a sandbox and Docker containers reach each other by name, stay isolated across networks, and down removes the containers",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const lab = `dk${suffix()}`;
    const image = await buildBusyboxImage(lab);
    try {
      await using l = await Lab.up(mixed(image), { name: lab, uplink: false });
      const box = `${lab}-box`;
      const far = `${lab}-far`;
      const addr = (c: string) => l.container(c).endpoints[0].address!;

      await t.step(
        "the Docker containers exist, labelled, with Docker's networking off",
        async () => {
          assertEquals(await labelled(lab), [box, far].sort());
          const mode = await dockerOut(["inspect", "--format", "{{.HostConfig.NetworkMode}}", box]);
          assertEquals(mode.trim(), "none");
        },
      );

      await t.step("nslab pinned the Docker container's own network namespace", async () => {
        const pid = (await dockerOut(["inspect", "--format", "{{.State.Pid}}", box])).trim();
        const theirs = Deno.readLinkSync(`/proc/${pid}/ns/net`);
        const pinned = Deno.statSync(`/run/netns/${box}`).ino;
        assertEquals(theirs, `net:[${pinned}]`);
        const ip = await dexec(box, ["ip", "-4", "addr", "show", "eth0"]);
        assertMatch(ip.out, new RegExp(`inet ${addr("box").replaceAll(".", "\\.")}/`));
      });

      await t.step("resolv.conf inside the Docker container points at nslab's DNS", async () => {
        const r = await dexec(box, ["cat", "/etc/resolv.conf"]);
        assertMatch(r.out, /^nameserver 127\.0\.0\.11$/m);
        assertMatch(r.out, /ndots:0/);
      });

      await t.step("sandbox → Docker container: ping and wget by name", async () => {
        assertEquals((await l.exec("sand", ["ping", "-c1", "-W2", "box"])).code, 0);
        const w = await l.exec("sand", ["wget", "-qO-", "-T", "3", "http://box/"]);
        assertEquals(w.stdout, "box\n", w.stderr);
      });

      await t.step("Docker container → sandbox: ping, wget and nslookup by name", async () => {
        assertEquals((await dexec(box, ["ping", "-c1", "-W2", "sand"])).code, 0);
        const w = await dexec(box, ["wget", "-qO-", "http://sand/"]);
        assertEquals(w.out, "sand\n");
        const ns = parseNslookup((await dexec(box, ["nslookup", "sand"])).out);
        assertEquals(ns.addresses, [addr("sand")]);
      });

      await t.step(
        "isolation: the other network's container is neither reached nor named",
        async () => {
          assert((await dexec(box, ["ping", "-c1", "-W1", addr("far")])).code !== 0);
          assert((await l.exec("sand", ["ping", "-c1", "-W1", addr("far")])).code !== 0);
          assertEquals(
            parseNslookup((await dexec(box, ["nslookup", "far"])).out).rcode,
            "NXDOMAIN",
          );
          assertEquals(
            parseNslookup((await dexec(far, ["nslookup", "box"])).out).rcode,
            "NXDOMAIN",
          );
        },
      );

      await t.step("nslab check passes", async () => {
        const report = await l.check();
        const failed = report.results.filter((r) => !r.pass);
        assertEquals(failed.map((r) => r.expectation.id), []);
        assert(report.results.some((r) => r.expectation.containers.includes("box")));
      });

      await t.step("broken on purpose: docker stop box → its port checks fail", async () => {
        await dockerOut(["stop", "--time", "1", box]);
        const report = await l.check();
        const failed = report.results.filter((r) => !r.pass);
        assert(failed.length > 0, "checks still pass with box stopped");
        assert(
          failed.every((r) => r.expectation.containers.includes("box")),
          `unexpected failures: ${failed.map((r) => r.expectation.id).join(", ")}`,
        );
        assert(failed.some((r) => r.observed.kind === "refused"));
        const w = await l.exec("sand", ["wget", "-qO-", "-T", "2", "http://box/"]);
        assert(w.code !== 0);
      });

      await t.step("down removes the Docker containers and every namespace", async () => {
        const report = await l.down();
        assertEquals(report?.dockerContainers?.sort(), [box, far].sort());
        assertEquals(await labelled(lab), []);
        assertEquals(leftovers(lab), []);
      });
    } finally {
      await removeImage(image);
      assertEquals(await labelled(lab), []);
      assertEquals(leftovers(lab), []);
    }
  },
});

Deno.test({
  name:
    "a Docker container whose command exits at once fails up, and the rollback removes it and every namespace",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = `dk${suffix()}`;
    const image = await buildBusyboxImage(lab);
    try {
      const topo: TopologyInput = {
        services: {
          sand: {},
          quick: { runtime: "docker", image, command: ["true"] },
        },
      };
      let error: Error | null = null;
      try {
        await using _l = await Lab.up(topo, { name: lab, uplink: false });
      } catch (e) {
        error = e as Error;
      }
      assert(error !== null, "up succeeded with a container that exits at once");
      assertMatch(error.message, /is not running right after "docker start"/);
      assertEquals(await labelled(lab), []);
      assertEquals(leftovers(lab), []);
    } finally {
      await removeImage(image);
    }
  },
});

Deno.test({
  name: "validate reports each runtime docker container when no Docker engine is reachable",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nslab-dk-" });
    try {
      const file = `${dir}/compose.yaml`;
      await Deno.writeTextFile(
        file,
        "services:\n  web: {}\n  box:\n    runtime: docker\n    image: busybox\n",
      );
      const main = new URL("../cli/main.ts", import.meta.url).pathname;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "validate", "-f", file, "-p", "dkval"],
        // An engine address where nothing listens: the CLI must say so, located.
        env: { DOCKER_HOST: `unix://${dir}/no-engine.sock` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 2, stderr);
      assertMatch(
        stderr,
        new RegExp(
          `${file}:3:3: container "box" has runtime docker, but no Docker engine is reachable`,
        ),
      );
      assertMatch(stderr, /scripts\/docker\.sh/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
