import assert, { equal, rejects } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { UsageError } from "../errors.ts";
import { makeBundle, parseBundle } from "./bundle.ts";

const { model } = loadTopologyObject({
  name: "bd",
  hosts: { h1: {}, h2: {} },
  networks: { mesh: { driver: "overlay" } },
  containers: { a: { host: "h1", networks: ["mesh"] }, b: { host: "h2", networks: ["mesh"] } },
} as TopologyInput, { reserved: [] });

const refused = (text: string, what: RegExp) =>
  rejects(parseBundle(text, "lab.bundle.json"), (e: Error) => {
    assert(e instanceof UsageError, String(e));
    assert(what.test(e.message), e.message);
    assert(e.message.includes('"nslab bundle -f FILE -o lab.bundle.json"'), e.message);
    return true;
  });

Deno.test("a bundle reads back as the model it was made of", async () => {
  const bundle = await makeBundle(model, { file: "lab.yaml", sha256: "ab" });
  const back = await parseBundle(JSON.stringify(bundle), "lab.bundle.json");
  assert.deepEqual(back.model, model);
  equal(back.digest, bundle.digest);
  equal(back.lab, "bd");
});

Deno.test("an edited bundle is refused: its model no longer has its digest", async () => {
  const bundle = await makeBundle(model, { file: "lab.yaml", sha256: "ab" });
  bundle.model.networks.find((n) => n.name === "mesh")!.subnet = "10.9.9.0/24";
  await refused(JSON.stringify(bundle), /does not match its digest .* edited or damaged/);
});

Deno.test("text that is no bundle is refused with the fix", async () => {
  await refused("{", /not JSON/);
  await refused('{"format":"other"}', /not an nslab bundle/);
  await refused('{"format":"nslab-bundle/1","lab":"x","model":{}}', /model is incomplete/);
});
