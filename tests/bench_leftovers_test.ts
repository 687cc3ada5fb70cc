/**
 * The bench's start-of-run sweep (bench/docker.ts `removeLeftovers`): a killed run leaves Docker
 * containers and networks labelled `nslab.bench`; a leftover network keeps its subnet and shifts
 * the subnets of every later network and lab. Needs root and a Docker engine; skipped with a
 * printed reason when none answers.
 *
 * The test labels its objects with a key of its own (never `nslab.bench`, so a bench running on
 * the same machine keeps its objects) and keeps one unlabelled network and container that must
 * survive the sweep.
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { removeLeftovers } from "../bench/docker.ts";
import { docker } from "../core/runtime/docker.ts";
import { buildBusyboxImage, dockerOut, dockerSkipReason, removeImage } from "./_docker/image.ts";

const skip = await dockerSkipReason();
if (skip) console.error(`bench_leftovers_test: skipped: ${skip}`);

/** Names of the containers and networks that exist among `names`. */
async function existing(names: string[]): Promise<string[]> {
  const ps = await dockerOut(["ps", "-a", "--format", "{{.Names}}"]);
  const nets = await dockerOut(["network", "ls", "--format", "{{.Name}}"]);
  const all = new Set([...ps.split("\n"), ...nets.split("\n")]);
  return names.filter((n) => all.has(n)).sort();
}

Deno.test({
  name: "bench sweep: labelled containers, then their network, go; unlabelled ones stay",
  ignore: skip !== null,
  async fn() {
    const id = `pgleft${Math.random().toString(36).slice(2, 7)}`;
    const key = `nslab.test.${id}`;
    const image = await buildBusyboxImage(id);
    const [net, box, keepNet, keepBox] = [`${id}-net`, `${id}-box`, `${id}-keepnet`, `${id}-keep`];
    try {
      await dockerOut(["network", "create", "--internal", "--label", `${key}=run1`, net]);
      await dockerOut([
        "run",
        "-d",
        "--network",
        net,
        "--name",
        box,
        "--label",
        `${key}=run1`,
        image,
      ]);
      await dockerOut(["network", "create", "--internal", keepNet]);
      await dockerOut(["run", "-d", "--network", keepNet, "--name", keepBox, image]);

      // A network with a container on it cannot be removed: the containers must go first.
      assertEquals(await removeLeftovers(key), { containers: 1, networks: 1 });
      assertEquals(await existing([net, box, keepNet, keepBox]), [keepBox, keepNet].sort());
      assertEquals(await removeLeftovers(key), { containers: 0, networks: 0 });
    } finally {
      await docker(["rm", "-f", box, keepBox]).catch(() => {});
      for (const n of [net, keepNet]) await docker(["network", "rm", n]).catch(() => {});
      await removeImage(image);
    }
  },
});
