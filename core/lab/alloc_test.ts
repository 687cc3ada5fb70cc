import assert from "node:assert/strict";
import { recordedUnderlays } from "./alloc.ts";
import { stateDir, UNDERLAY_FILE, writeStateFile } from "./state.ts";

/** A state directory under /run/nslab that the test removes again. */
function fakeLab(lab: string, files: Record<string, string>): Disposable {
  for (const [name, text] of Object.entries(files)) writeStateFile(lab, name, text);
  return { [Symbol.dispose]: () => Deno.removeSync(stateDir(lab), { recursive: true }) };
}

Deno.test("other labs' underlays come from their small underlay.json, not their whole state", () => {
  // state.json is not even JSON here: reading it would skip the lab.
  using _ = fakeLab("pfidx1", {
    [UNDERLAY_FILE]: JSON.stringify({ subnet: "10.77.201.0/24", uplink: true }),
    "state.json": "{ not json",
  });
  using _b = fakeLab("pfidx2", {
    [UNDERLAY_FILE]: JSON.stringify({ subnet: "10.77.202.0/24", uplink: false }),
  });
  const mine = recordedUnderlays("").filter((u) => u.lab.startsWith("pfidx"));
  assert.deepEqual(mine, [{ lab: "pfidx1", subnet: "10.77.201.0/24" }]);
  assert.deepEqual(recordedUnderlays("pfidx1").filter((u) => u.lab.startsWith("pfidx")), []);
});

Deno.test("a state written before underlay.json existed is still read for its underlay", () => {
  const underlay = { subnet: "10.77.203.0/24", uplink: { rootIfname: "nsl-pfidx3" } };
  using _ = fakeLab("pfidx3", { "state.json": JSON.stringify({ model: { underlay } }) });
  assert.deepEqual(recordedUnderlays("").filter((u) => u.lab === "pfidx3"), [
    { lab: "pfidx3", subnet: "10.77.203.0/24" },
  ]);
});
