import { deepEqual as assertEquals } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { announcers } from "./warm_neighbours.ts";

const { model } = loadTopologyObject({
  name: "wn",
  hosts: { h1: {}, h2: {} },
  networks: {
    front: { driver: "bridge" },
    mesh: { driver: "overlay" },
    lan: { driver: "macvlan", driver_opts: { parent: "eth0" } },
  },
  containers: {
    a: { host: "h1", networks: ["front", "mesh"] },
    b: { host: "h2", networks: ["front"] },
    c: { host: "h1", networks: ["lan"] },
    d: { host: "h1", network_mode: "service:a" },
  },
} as TopologyInput, { reserved: [] });

Deno.test("announcers: bridge endpoints of own-namespace containers only, per host", () => {
  const names = (host: string | null) =>
    announcers(model, host).map((a) => `${a.netns}/${a.ifname}`);
  // eth1 is on the overlay, eth2 on docker_gwbridge (a bridge); c is on macvlan, d shares a's.
  assertEquals(names(null), ["wn-a/eth0", "wn-a/eth2", "wn-b/eth0"]);
  assertEquals(names("h2"), ["wn-b/eth0"]);
  const a = announcers(model, "h1")[0];
  const ep = model.containers.find((c) => c.name === "a")!.endpoints[0];
  assertEquals(a, { netns: "wn-a", ifname: "eth0", mac: ep.mac, address: ep.address });
});
