import assert from "node:assert/strict";
import { readSharedNetworks } from "./shared.ts";
import { SHARED_FILE, stateDir, writeStateFile } from "./state.ts";
import type { SharedNetwork } from "../model/types.ts";

/** A state directory under /run/nslab that the test removes again. */
function fakeLab(lab: string, files: Record<string, string>): Disposable {
  for (const [name, text] of Object.entries(files)) {
    if (!name.includes("/")) writeStateFile(lab, name, text);
    else {
      Deno.mkdirSync(`${stateDir(lab)}/${name.split("/")[0]}`, { recursive: true });
      Deno.writeTextFileSync(`${stateDir(lab)}/${name}`, text);
    }
  }
  return { [Symbol.dispose]: () => Deno.removeSync(stateDir(lab), { recursive: true }) };
}

const SHARED: SharedNetwork = {
  name: "cpunitshared",
  lab: "cpunit1",
  network: "shared",
  netns: "cpunit1-host",
  bridge: "br-shared",
  subnet: "172.18.0.0/16",
  gateway: "172.18.0.1",
  internal: false,
  mtu: 1500,
  taken: ["172.18.0.2"],
};

Deno.test("shared networks come from each lab's networks.json, with its live guests' addresses taken", () => {
  using _owner = fakeLab("cpunit1", {
    [SHARED_FILE]: JSON.stringify([SHARED]),
    "state.json": "{ not json", // never read: the small file is enough
    "guests/cpunit2.json": JSON.stringify([
      { endpoints: [{ network: "shared", address: "172.18.0.3" }] },
    ]),
    "guests/cpunit3.json": JSON.stringify([ // cpunit3 has no state: a stale record, ignored
      { endpoints: [{ network: "shared", address: "172.18.0.9" }] },
    ]),
  });
  using _guest = fakeLab("cpunit2", { "state.json": "{}" });
  const mine = readSharedNetworks().filter((n) => n.lab.startsWith("cpunit"));
  assert.deepEqual(mine, [{ ...SHARED, taken: ["172.18.0.2", "172.18.0.3"] }]);
});
