import assert, { equal } from "node:assert/strict";
import { loadTopology } from "./load.ts";
import { canonicalJson, modelDigest } from "./digest.ts";

const TEXT = `name: dg
hosts: { h1: { address: 192.0.2.11 }, h2: { address: 192.0.2.12 } }
networks: { mesh: { driver: overlay }, side: { driver: bridge } }
containers:
  a: { host: h1, networks: [mesh] }
  b: { host: h2, networks: [mesh, side] }
`;
const load = (file: string, reserved: string[], uplink = true) =>
  loadTopology({ file, text: TEXT }, { reserved, uplink }).model;

Deno.test("the digest ignores where the file lay and the uplink, which are no network facts", async () => {
  const a = await modelDigest(load("/etc/nslab/lab.yaml", []));
  equal(a, await modelDigest(load("/home/me/other/lab.yaml", [])));
  equal(a, await modelDigest(load("/etc/nslab/lab.yaml", [], false)));
  assert(/^[0-9a-f]{64}$/.test(a));
});

Deno.test("a machine whose routes shift an automatic subnet resolves another digest", async () => {
  const here = load("lab.yaml", []);
  const there = load("lab.yaml", ["10.0.0.0/24"]);
  assert(
    here.networks.find((n) => n.name === "mesh")!.subnet !==
      there.networks.find((n) => n.name === "mesh")!.subnet,
  );
  assert((await modelDigest(here)) !== (await modelDigest(there)));
});

Deno.test("canonical JSON sorts keys at every depth and drops source positions", () => {
  equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  equal(canonicalJson({ a: 1, pos: { line: 3 } }), '{"a":1}');
});
