import assert, { deepEqual, equal, throws } from "node:assert/strict";
import type { V1Job, V1Pod } from "./k8s_types.ts";
import { loadTopologyObject, type TopologyInput } from "../model/load.ts";
import { makeBundle } from "./bundle.ts";
import { UsageError } from "../errors.ts";
import { k8sName, k8sObjects, type K8sOptions } from "./k8s.ts";

const { model } = loadTopologyObject({
  name: "kx_lab",
  hosts: { h1: { address: "192.0.2.11" }, h2: { address: "192.0.2.12" } },
  networks: { mesh: { driver: "overlay" } },
  containers: { a: { host: "h1", networks: ["mesh"] }, b: { host: "h2", networks: ["mesh"] } },
} as TopologyInput, { reserved: [] });
const bundle = await makeBundle(model, { file: "lab.yaml", sha256: "00" }, new Date(0));
const opts: K8sOptions = {
  namespace: "labs",
  image: "example/nslab:1",
  nodes: { h1: "worker-1", h2: "worker-2" },
  underlayDevs: { h1: "ens4", h2: "ens5" },
};

Deno.test("one ConfigMap with the bundle, a Pod per host part, a check Job per host", () => {
  const objects = k8sObjects(bundle, opts);
  deepEqual(objects.map((o) => `${o.kind}/${o.metadata!.name}`), [
    "ConfigMap/kx-lab-bundle",
    "Pod/kx-lab-h1",
    "Pod/kx-lab-h2",
    "Job/kx-lab-check-h1",
    "Job/kx-lab-check-h2",
  ]);
  const data = (objects[0] as { data: Record<string, string> }).data["lab.bundle.json"];
  equal(JSON.parse(data).digest, bundle.digest);
});

Deno.test("a part's Pod runs its host from the bundle on its node and NIC, and downs on exit", () => {
  const pod = k8sObjects(bundle, opts)[2] as V1Pod;
  const spec = pod.spec!;
  equal(spec.hostNetwork, true);
  deepEqual(spec.nodeSelector, { "kubernetes.io/hostname": "worker-2" });
  const part = spec.containers[0];
  equal(part.securityContext?.privileged, true);
  deepEqual(part.command, [
    "nslab",
    "up",
    "--bundle",
    "/etc/nslab/lab.bundle.json",
    "--only-host",
    "h2",
    "--underlay-dev",
    "ens5",
    "--attach",
    "--progress",
    "plain",
  ]);
  deepEqual(part.lifecycle?.preStop?.exec?.command, ["nslab", "down", "-p", "kx_lab"]);
  deepEqual(spec.initContainers![0].command, ["nslab", "down", "-p", "kx_lab"]);
  const netns = part.volumeMounts!.find((m) => m.mountPath === "/run/netns")!;
  equal(netns.mountPropagation, "Bidirectional");
});

Deno.test("a check Job probes from its host's part on the same node", () => {
  const job = k8sObjects(bundle, opts)[3] as V1Job;
  const spec = job.spec!.template.spec!;
  deepEqual(spec.nodeSelector, { "kubernetes.io/hostname": "worker-1" });
  deepEqual(spec.containers[0].command, ["nslab", "check", "-p", "kx_lab", "--only-host", "h1"]);
  equal(spec.restartPolicy, "Never");
});

Deno.test("a host without a node or an interface is refused with the flag that fixes it", () => {
  throws(
    () => k8sObjects(bundle, { ...opts, nodes: { h1: "worker-1" }, underlayDevs: {} }),
    (e: Error) => {
      assert(e instanceof UsageError);
      assert(e.message.includes('host "h2" has no node: give --node h2=NODE'), e.message);
      assert(e.message.includes('host "h1" has no underlay interface'), e.message);
      return true;
    },
  );
});

Deno.test("two hosts on one node are refused: one Pod's down would end both parts", () => {
  throws(() => k8sObjects(bundle, { ...opts, nodes: { h1: "w", h2: "w" } }), (e: Error) => {
    assert(e.message.includes('host "h2" shares node "w" with another host'), e.message);
    return true;
  });
});

Deno.test("Kubernetes names turn '_' and '.' into '-' and stay a DNS label", () => {
  equal(k8sName("a_b", "h.1"), "a-b-h-1");
  throws(() => k8sName("x".repeat(64)), UsageError);
});

Deno.test("the models are typed: a misspelt field does not compile", () => {
  // @ts-expect-error hostNetwrok is not a field of V1PodSpec
  const pod: V1Pod = { spec: { containers: [], hostNetwrok: true } };
  assert(pod.spec);
});
