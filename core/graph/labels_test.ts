import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  drawnHosts,
  endpointLabel,
  hostContainers,
  hostNetworks,
  isLoopbackPort,
  modeLabel,
  networkDetails,
  portLabel,
  tunnelLabel,
  vtepLabel,
} from "./labels.ts";
import { sampleModel } from "./_sample.ts";
import { testEndpoint, testNetwork } from "../model/_testkit.ts";
import type { PublishedPort } from "../model/types.ts";

const port = (over: Partial<PublishedPort>): PublishedPort => ({
  hostIp: "0.0.0.0",
  hostPort: 8080,
  containerPort: 80,
  protocol: "tcp",
  name: null,
  random: false,
  ...over,
});

Deno.test("an unbound published port is shown on the host's underlay address", () => {
  assertEquals(portLabel(port({}), "10.77.0.11"), "10.77.0.11:8080→80/tcp");
});

Deno.test("a loopback-bound port keeps its address and is marked local", () => {
  const p = port({ hostIp: "127.0.0.1", hostPort: 9090, containerPort: 90, protocol: "udp" });
  assert(isLoopbackPort(p));
  assertEquals(portLabel(p, "10.77.0.11"), "127.0.0.1:9090→90/udp (local)");
});

Deno.test("a randomly chosen host port is marked random", () => {
  assertEquals(
    portLabel(port({ random: true, hostPort: 32768 }), "10.0.0.1"),
    "10.0.0.1:32768→80/tcp (random)",
  );
});

Deno.test("an IPv6 host address is bracketed and a host without address shows *", () => {
  assertEquals(portLabel(port({ hostIp: "fd00::1" }), ""), "[fd00::1]:8080→80/tcp");
  assertEquals(portLabel(port({}), ""), "*:8080→80/tcp");
  assert(!isLoopbackPort(port({ hostIp: "10.0.0.1" })));
});

Deno.test("network details name the driver, device, subnet and gateway", () => {
  const m = sampleModel();
  const get = (n: string) => networkDetails(m.networks.find((x) => x.name === n)!);
  assertEquals(get("front"), ["bridge · br-front", "172.20.0.0/24", "gw 172.20.0.1"]);
  assertEquals(get("default"), ["bridge (default) · docker0", "172.17.0.0/16", "gw 172.17.0.1"]);
  assertEquals(get("back"), ["bridge · br-back", "172.21.0.0/24", "gw 172.21.0.1, no route out"]);
  assertEquals(get("mesh"), ["overlay · ov-mesh", "10.10.0.0/24"]);
  assertEquals(get("lan"), [
    "macvlan · bridge mode",
    "parent eth0.50 (vlan 50)",
    "10.77.0.0/24",
    "range 10.77.0.128/25",
  ]);
  assertEquals(get("host"), ["host"]);
});

Deno.test("tunnels name the VNI, UDP port and both VTEPs", () => {
  const m = sampleModel();
  assertEquals(
    tunnelLabel(m.networks.find((n) => n.name === "mesh")!),
    "VXLAN VNI 4096 · UDP 4789",
  );
  assertEquals(tunnelLabel(m.networks.find((n) => n.name === "front")!), null);
  assertEquals(vtepLabel(m.hosts[0], m.hosts[1]), "10.77.0.11 ↔ 10.77.0.12");
});

Deno.test("container modes are spelled out; ordinary containers have none", () => {
  const m = sampleModel();
  const mode = (n: string) => modeLabel(m.containers.find((c) => c.name === n)!);
  assertEquals(mode("web"), null);
  assertEquals(mode("tool"), "network_mode: host");
  assertEquals(mode("vault"), "network_mode: none (lo only)");
  assertEquals(mode("sidecar"), "shares netns of web");
});

Deno.test("a container:X container is drawn right after X, the rest in model order", () => {
  const m = sampleModel();
  // Move sidecar to the end of the model: it must still follow web.
  const i = m.containers.findIndex((c) => c.name === "sidecar");
  m.containers.push(...m.containers.splice(i, 1));
  assertEquals(hostContainers(m, "h1").map((c) => c.name), [
    "web",
    "sidecar",
    "cache",
    "probe",
    "printer",
    "tool",
    "vault",
  ]);
  assertEquals(hostContainers(m, "h2").map((c) => c.name), ["api-1", "api-2", "db", "scanner"]);
});

Deno.test("a container sharing the stack of a container on another host is still drawn", () => {
  const m = sampleModel();
  m.containers.find((c) => c.name === "sidecar")!.mode = { kind: "container", of: "db" };
  assert(hostContainers(m, "h1").some((c) => c.name === "sidecar"));
});

Deno.test("host segments are the networks the host joins or its containers use, minus host/none", () => {
  const m = sampleModel();
  assertEquals(hostNetworks(m, "h1").map((n) => n.name), [
    "default",
    "front",
    "back",
    "mesh",
    "lan",
  ]);
  m.networks.find((n) => n.name === "front")!.hosts = [];
  assertEquals(hostNetworks(m, "h1").map((n) => n.name), [
    "default",
    "front",
    "back",
    "mesh",
    "lan",
  ]);
  assertEquals(hostNetworks(m, "h2").map((n) => n.name), ["default", "back", "mesh", "lan"]);
});

Deno.test("a host named by a container but missing from the model gets a stand-in", () => {
  const m = sampleModel();
  m.containers[0].host = "ghost";
  assertEquals(drawnHosts(m).map((h) => h.name), ["h1", "h2", "ghost"]);
  assertEquals(drawnHosts(sampleModel()).map((h) => h.name), ["h1", "h2"]);
});

Deno.test("a dual-stack endpoint and network show their IPv6 address and subnet", () => {
  const ep = testEndpoint("front", "172.20.0.10", {
    ipv6: { address: "fd00:1::2", prefix: 64, gateway: "fd00:1::1" },
  });
  assertEquals(endpointLabel(ep), "eth0 172.20.0.10 fd00:1::2");
  const n = testNetwork("front", "bridge", {
    subnet: "172.20.0.0/24",
    bridge: "br-front",
    ipv6: {
      subnet: "fd00:1::/64",
      prefix: 64,
      gateway: "fd00:1::1",
      ipRange: "fd00:1::/64",
      fromUla: false,
    },
  });
  assertEquals(networkDetails(n), ["bridge · br-front", "172.20.0.0/24", "fd00:1::/64"]);
});
