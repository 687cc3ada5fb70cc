import { deepEqual, throws } from "node:assert/strict";
import { loadTopologyObject, type TopologyInput } from "../../core/model/load.ts";
import { UsageError } from "../../core/errors.ts";
import { perHost } from "./k8s.ts";

const { model } = loadTopologyObject({
  name: "ph",
  hosts: { h1: { node: "w1" }, h2: {}, h3: {} },
  containers: { a: { host: "h1" } },
} as TopologyInput, { reserved: [] });

Deno.test("placement: the file, then a value for every host, then HOST=VALUE; the most specific wins", () => {
  deepEqual(perHost(model, "--node", [], (h) => h.node), { h1: "w1" });
  deepEqual(perHost(model, "--node", ["h2=w2"], (h) => h.node), { h1: "w1", h2: "w2" });
  deepEqual(perHost(model, "--underlay-dev", ["h3=eth1", "ens4"], () => undefined), {
    h1: "ens4",
    h2: "ens4",
    h3: "eth1",
  });
});

Deno.test("placement of a host the lab does not have is a usage error naming the hosts", () => {
  throws(
    () => perHost(model, "--node", ["h9=w9"], () => undefined),
    (e: Error) => e instanceof UsageError && e.message.includes('"h1", "h2", "h3"'),
  );
});
