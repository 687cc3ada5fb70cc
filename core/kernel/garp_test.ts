import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { garpPayload } from "./garp.ts";

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
