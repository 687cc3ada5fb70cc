import assert, { deepEqual, throws } from "node:assert/strict";
import { loadTopology } from "./load.ts";
import { TopologyError } from "../errors.ts";

const load = (hosts: string) =>
  loadTopology({ file: "lab.yaml", text: `name: pl\nhosts:\n${hosts}` }, { reserved: [] }).model;

Deno.test("a host's underlay_dev and node reach the model only when the file gives them", () => {
  const model = load(
    "  h1: { address: 192.0.2.11, underlay_dev: ens4, node: worker-1 }\n  h2: {}\n",
  );
  const [h1, h2] = model.hosts;
  deepEqual([h1.underlayDev, h1.node], ["ens4", "worker-1"]);
  assert(!("underlayDev" in h2) && !("node" in h2));
});

Deno.test("an underlay_dev or node that cannot be one is refused at its position", () => {
  throws(() => load("  h1: { underlay_dev: eth0/../x, node: Worker_1 }\n"), (e: Error) => {
    assert(e instanceof TopologyError);
    assert(e.message.includes('lab.yaml:3:23: invalid underlay_dev "eth0/../x"'), e.message);
    assert(e.message.includes('invalid node "Worker_1": not a Kubernetes node name'), e.message);
    return true;
  });
});
