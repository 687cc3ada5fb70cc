import assert, { deepEqual, equal } from "node:assert/strict";
import { announcement, judgeJoin, type PeerAnswer } from "./join.ts";

const D = "a".repeat(64);
const E = "b".repeat(64);
const said = (host: string, by: string): PeerAnswer => ({
  host,
  address: `192.0.2.1${host.slice(1)}`,
  observed: { kind: "answered", by },
});

Deno.test("parts that announce the same model join; silent hosts are not up yet", () => {
  const v = judgeJoin("lab", "h2", D, [
    said("h1", announcement("lab", "h1", D)),
    { host: "h3", address: "192.0.2.13", observed: { kind: "refused" } },
  ]);
  deepEqual(v, { joined: ["h1"], absent: ["h3 (refused)"], refusal: null });
});

Deno.test("a part that resolved another model is refused, with the way out", () => {
  const v = judgeJoin("lab", "h2", D, [said("h1", announcement("lab", "h1", E))]);
  assert(v.refusal?.includes(`host "h1" runs a different model (digest bbbbbbbbbbbb`), v.refusal!);
  assert(v.refusal?.includes('"nslab up --bundle B --only-host h2"'), v.refusal!);
});

Deno.test("a host address answered by another host, lab or program is refused", () => {
  const wrongHost = judgeJoin("lab", "h2", D, [said("h1", announcement("lab", "h3", D))]);
  assert(wrongHost.refusal?.includes('is host "h3" of lab "lab"'), wrongHost.refusal!);
  const wrongLab = judgeJoin("lab", "h2", D, [said("h1", announcement("other", "h1", D))]);
  assert(wrongLab.refusal?.includes('of lab "other"'), wrongLab.refusal!);
  const stranger = judgeJoin("lab", "h2", D, [said("h1", "SSH-2.0-OpenSSH_9.2")]);
  assert(stranger.refusal?.includes("not an nslab part"), stranger.refusal!);
  equal(stranger.joined.length, 0);
});
