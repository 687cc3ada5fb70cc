import { deepEqual as assertEquals, match as assertMatch, throws } from "node:assert/strict";
import { loadTopologyObject } from "../model/load.ts";
import type { TopologyInput } from "../model/input.ts";
import type { Model } from "../model/types.ts";
import { demuxLogs, dockerContainers, dockerCreateSpec, dockerName, LAB_LABEL } from "./docker.ts";

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

Deno.test("create spec: networking off, label, hostname, DNS at 127.0.0.11, own addresses, env sorted, image and command", () => {
  const m = model(LAB);
  const box = m.containers.find((c) => c.name === "box")!;
  const [front, back] = box.endpoints.map((e) => e.address);
  assertEquals(dockerCreateSpec("t1", box), {
    name: "t1-box",
    Hostname: "box",
    Labels: { [LAB_LABEL]: "t1" },
    Image: "busybox:1",
    HostConfig: {
      NetworkMode: "none",
      Dns: ["127.0.0.11"],
      DnsOptions: ["ndots:0"],
      ExtraHosts: [`box:${front}`, `box:${back}`],
    },
    Env: ["A=1", "B=2"],
    Cmd: ["httpd", "-f", "-p", "80"],
  });
});

Deno.test("create spec: a none-mode container gets no DNS and no hosts entries, and the image's own command", () => {
  const m = model(LAB);
  const lone = m.containers.find((c) => c.name === "lone")!;
  assertEquals(dockerCreateSpec("t1", lone), {
    name: "t1-lone",
    Hostname: "lone",
    Labels: { [LAB_LABEL]: "t1" },
    Image: "busybox:1",
    HostConfig: { NetworkMode: "none" },
  });
});

Deno.test("create spec: each replica is its own container with its own name", () => {
  const m = model(LAB);
  const names = m.containers.filter((c) => c.service === "api").map((c) =>
    dockerCreateSpec("t1", c).name
  );
  assertEquals(names, ["t1-api-1", "t1-api-2"]);
});

Deno.test("create spec refuses a sandbox, and host/container network modes", () => {
  const m = model(LAB);
  const sand = m.containers.find((c) => c.name === "sand")!;
  throws(() => dockerCreateSpec("t1", sand), /it is not runtime docker/);
  const box = m.containers.find((c) => c.name === "box")!;
  for (const mode of [{ kind: "host" as const }, { kind: "container" as const, of: "sand" }]) {
    throws(() => dockerCreateSpec("t1", { ...box, mode }), /is not supported with runtime docker/);
  }
});

Deno.test("demuxLogs joins the payloads of the Engine API's framed log stream", () => {
  const frame = (stream: number, text: string) => {
    const body = new TextEncoder().encode(text);
    const head = new Uint8Array(8);
    head[0] = stream;
    new DataView(head.buffer).setUint32(4, body.length);
    return [...head, ...body];
  };
  assertEquals(
    demuxLogs(new Uint8Array([...frame(1, "out\n"), ...frame(2, "err\n")])),
    "out\nerr\n",
  );
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
