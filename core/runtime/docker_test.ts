import { deepEqual as assertEquals, match as assertMatch, throws } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { TopologyInput } from "../model/input.ts";
import type { Model } from "../model/types.ts";
import { dockerContainers, dockerCreateArgs, dockerName, LAB_LABEL } from "./docker.ts";

function model(t: TopologyInput): Model {
  return loadTopologyObject(t, { project: "t1", reserved: [], uplink: false }).model;
}

const LAB: TopologyInput = {
  networks: { front: {}, back: {} },
  services: {
    sand: { networks: ["front"] },
    box: {
      runtime: "docker",
      image: "busybox:1",
      command: ["httpd", "-f", "-p", "80"],
      environment: { B: "2", A: "1" },
      networks: ["front", "back"],
    },
    lone: { runtime: "docker", image: "busybox:1", network_mode: "none" },
    api: { runtime: "docker", image: "busybox:1", deploy: { replicas: 2 }, networks: ["back"] },
  },
};

Deno.test("dockerContainers lists only runtime docker containers, replicas included", () => {
  const m = model(LAB);
  assertEquals(dockerContainers(m).map((c) => c.name).sort(), ["api-1", "api-2", "box", "lone"]);
});

Deno.test("a Docker container is named like its namespace, <lab>-<container>", () => {
  const m = model(LAB);
  const box = m.containers.find((c) => c.name === "box")!;
  assertEquals(dockerName(box), "t1-box");
  assertEquals(dockerName(box), box.netns);
});

Deno.test("docker create args: networking off, label, hostname, DNS at 127.0.0.11, own addresses, env sorted, image then command", () => {
  const m = model(LAB);
  const box = m.containers.find((c) => c.name === "box")!;
  const [front, back] = box.endpoints.map((e) => e.address);
  assertEquals(dockerCreateArgs("t1", box), [
    "create",
    "--name",
    "t1-box",
    "--label",
    `${LAB_LABEL}=t1`,
    "--network",
    "none",
    "--hostname",
    "box",
    "--dns",
    "127.0.0.11",
    "--dns-option",
    "ndots:0",
    "--add-host",
    `box:${front}`,
    "--add-host",
    `box:${back}`,
    "--env",
    "A=1",
    "--env",
    "B=2",
    "busybox:1",
    "httpd",
    "-f",
    "-p",
    "80",
  ]);
});

Deno.test("docker create args: a none-mode container gets no DNS and no hosts entries, and the image's own command", () => {
  const m = model(LAB);
  const lone = m.containers.find((c) => c.name === "lone")!;
  assertEquals(dockerCreateArgs("t1", lone), [
    "create",
    "--name",
    "t1-lone",
    "--label",
    `${LAB_LABEL}=t1`,
    "--network",
    "none",
    "--hostname",
    "lone",
    "busybox:1",
  ]);
});

Deno.test("docker create args: each replica is its own container with its own name", () => {
  const m = model(LAB);
  const names = m.containers.filter((c) => c.service === "api").map((c) =>
    dockerCreateArgs("t1", c)[2]
  );
  assertEquals(names, ["t1-api-1", "t1-api-2"]);
});

Deno.test("docker create args refuse a sandbox, and host/container network modes", () => {
  const m = model(LAB);
  const sand = m.containers.find((c) => c.name === "sand")!;
  throws(() => dockerCreateArgs("t1", sand), /it is not runtime docker/);
  const box = m.containers.find((c) => c.name === "box")!;
  for (const mode of [{ kind: "host" as const }, { kind: "container" as const, of: "sand" }]) {
    throws(() => dockerCreateArgs("t1", { ...box, mode }), /is not supported with runtime docker/);
  }
});

Deno.test("the loader refuses runtime docker with network_mode host or service:X, located", () => {
  for (const nm of ["host", "service:base", "container:base"]) {
    throws(
      () =>
        model({
          services: { base: {}, side: { runtime: "docker", image: "b", network_mode: nm } },
        }),
      (e: Error) => {
        assertMatch(e.message, new RegExp(`runtime docker cannot use network_mode "${nm}"`));
        assertMatch(e.message, /give it networks:/);
        return true;
      },
    );
  }
});
