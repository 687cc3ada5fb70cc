import {
  deepEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { garpPayload, sendGarp } from "./garp.ts";
import { createNetns, deleteNetns } from "./netns/netns.ts";

Deno.test("garpPayload: an ARP request whose sender and target address are the announcer's", () => {
  assertEquals([...garpPayload("02:42:ac:12:00:02", "172.18.0.2")], [
    ...[0, 1, 8, 0, 6, 4, 0, 1], // Ethernet, IPv4, lengths 6 and 4, request
    ...[0x02, 0x42, 0xac, 0x12, 0x00, 0x02, 172, 18, 0, 2], // sender MAC and address
    ...[0, 0, 0, 0, 0, 0, 172, 18, 0, 2], // target MAC unknown, target address = sender's
  ]);
});

Deno.test("garpPayload: a malformed MAC or address is refused", () => {
  assertThrows(() => garpPayload("02:42:ac:12:00", "172.18.0.2"), /Invalid MAC/);
  assertThrows(() => garpPayload("02:42:ac:12:00:zz", "172.18.0.2"), /Invalid MAC/);
  assertThrows(() => garpPayload("02:42:ac:12:00:02", "172.18.0.256"), /Invalid IPv4/);
});

Deno.test("sendGarp: a frame the kernel drops for lack of buffers (ENOBUFS) is lost, not an error", async () => {
  // A tbf qdisc whose bucket is smaller than any frame drops every frame, and a packet socket's
  // sendto then fails with ENOBUFS, as it does when a 4,000-container lab announces itself at once.
  const ns = `garp-${crypto.randomUUID().slice(0, 6)}`;
  createNetns(ns);
  try {
    const ip = (...args: string[]) => {
      const r = new Deno.Command("ip", { args: ["-n", ns, ...args] }).outputSync();
      assert(r.success, new TextDecoder().decode(r.stderr));
    };
    ip("link", "add", "name", "ga", "type", "veth", "peer", "name", "gb");
    ip("link", "set", "ga", "up");
    ip("link", "set", "gb", "up");
    const tbf = "qdisc add dev ga root tbf rate 8bit burst 1 limit 1".split(" ");
    const tc = new Deno.Command("tc", { args: ["-n", ns, ...tbf] }).outputSync();
    assert(tc.success, new TextDecoder().decode(tc.stderr));
    await sendGarp(ns, "ga", "02:42:ac:12:00:02", "172.18.0.2");
    const stats = new TextDecoder().decode(
      new Deno.Command("tc", { args: ["-n", ns, "-s", "qdisc", "show", "dev", "ga"] }).outputSync()
        .stdout,
    );
    assert(/dropped [1-9]/.test(stats), `the frame was not dropped by the qdisc: ${stats}`);
  } finally {
    deleteNetns(ns);
  }
});
