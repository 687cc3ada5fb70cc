/**
 * Captures real kernel answers for the codec's golden-byte tests (`codec_test.ts`). Run as root:
 * `deno run -A core/kernel/netlink/_golden_capture.ts` and paste the printed hex into the test. It builds
 * a throwaway namespace pair (prefix `nlt-golden-`), dumps it, and removes it.
 *
 * @module
 */

import { createNetns, deleteNetns, netnsFd } from "../netns/netns.ts";
import { Batch, closeHandle, handleFor } from "./client.ts";
import { linkAdd, linkList, linkSet } from "./link.ts";
import { addrAdd, addrList } from "./addr.ts";
import { routeList, routeReplace } from "./route.ts";
import { fdbAppend, neighList, neighReplace } from "./neigh.ts";
import { AF_BRIDGE } from "./constants.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const suffix = crypto.randomUUID().slice(0, 6);
const [a, b] = [`nlt-golden-${suffix}a`, `nlt-golden-${suffix}b`];
createNetns(a);
createNetns(b);
try {
  const h = handleFor(a);
  const q = new Batch(h);
  linkAdd(q, { kind: "bridge", name: "br0", index: 10, mtu: 1450 });
  linkAdd(q, {
    kind: "veth",
    name: "v0",
    index: 11,
    master: 10,
    mac: "02:42:ac:14:00:01",
    peer: { name: "eth0", index: 5, netnsFd: netnsFd(b) },
  });
  linkAdd(q, { kind: "veth", name: "v1", index: 14, peer: { name: "eth1", netnsFd: netnsFd(b) } });
  linkAdd(q, {
    kind: "vxlan",
    name: "vx0",
    index: 12,
    vni: 4096,
    local: "10.77.0.11",
    dev: 14,
    port: 4789,
    learning: false,
    proxy: true,
  });
  linkAdd(q, { kind: "macvlan", name: "mv0", index: 13, parent: 14, mode: "bridge" });
  linkSet(q, "lo", { up: true, alias: "nslab:golden" });
  linkSet(q, 10, { up: true });
  addrAdd(q, { index: 10, address: "172.20.0.1", prefix: 24 });
  routeReplace(q, { dst: "10.99.0.0/16", via: "172.20.0.2", index: 10 });
  neighReplace(q, { index: 12, address: "172.20.0.9", mac: "02:42:ac:14:00:09" });
  fdbAppend(q, { index: 12, mac: "02:42:ac:14:00:09", dst: "10.77.0.12" });
  q.flush();
  const captured: Record<string, string[]> = {};
  const run = (name: string, fn: () => unknown) => {
    captured[name] = [];
    h.tap = (dir, bytes) => dir === "recv" && captured[name].push(hex(bytes));
    try {
      fn();
    } catch (e) {
      captured[name].push(`error: ${(e as Error).message}`);
    }
    h.tap = null;
  };
  run("links", () => linkList(h));
  run("addrs", () => addrList(h));
  run("routes", () => routeList(h));
  run("neighs", () => neighList(h));
  run("fdb", () => neighList(h, AF_BRIDGE));
  run("eexist", () => {
    const e = new Batch(h);
    linkAdd(e, { kind: "bridge", name: "br0" });
    e.flush();
  });
  run("unknownKind", () => {
    const e = new Batch(h);
    linkAdd(e, { kind: "vlan", name: "v.5", parent: 11, id: 5 });
    e.flush();
  });
  console.log(JSON.stringify(captured, null, 1));
} finally {
  closeHandle(a);
  closeHandle(b);
  deleteNetns(a);
  deleteNetns(b);
}
