/**
 * `nslab k8s` output, validated offline by kubectl (no cluster here): each Pod and Job document
 * is decoded by kubectl into Kubernetes' own Go types and printed back (`kubectl set env --local`
 * adding one variable), and every field nslab wrote must come back with the same value — a misspelt
 * field is dropped by the decoder, a wrong type fails it. ConfigMaps go through `kubectl label
 * --local`. (`kubectl apply --dry-run=client` needs an API server for discovery, so it is not
 * used.) A broken document is shown failing the same validation.
 */

import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { parseAllDocuments, stringify } from "yaml";
import { run } from "./_support/run.ts";
import { parseBundle } from "../core/lab/bundle.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const TOPOLOGY = `name: mmk8s
underlay: { subnet: 198.51.100.0/24 }
hosts:
  h1: { address: 198.51.100.11, node: worker-1, underlay_dev: ens4 }
  h2: { address: 198.51.100.12 }
networks:
  mesh: { driver: overlay }
containers:
  peer1: { host: h1, expose: [80], networks: [mesh] }
  peer2: { host: h2, expose: [80], networks: [mesh] }
`;

type Doc = Record<string, unknown>;

/** Paths (a.b[0].c) where `mine` has a value that `theirs` lacks or differs in. */
function missingIn(mine: unknown, theirs: unknown, path = ""): string[] {
  if (mine !== null && typeof mine === "object") {
    if (theirs === null || typeof theirs !== "object") return [path];
    return Object.entries(mine as Doc).flatMap(([k, v]) =>
      missingIn(v, (theirs as Doc)[k], Array.isArray(mine) ? `${path}[${k}]` : `${path}.${k}`)
    );
  }
  return mine === theirs ? [] : [path];
}

/** kubectl's decode of one document, printed back as JSON; the exit code and stderr too. */
async function kubectlRoundTrip(
  doc: Doc,
): Promise<{ code: number; back: Doc | null; err: string }> {
  const verb = doc.kind === "ConfigMap"
    ? ["label", "--local", "-f", "-", "nslab/decoded=yes"]
    : ["set", "env", "--local", "-f", "-", "NSLAB_DECODED=yes"];
  const r = await run(["kubectl", ...verb, "-o", "json"], { stdin: stringify(doc) });
  return { code: r.code, back: r.code === 0 ? JSON.parse(r.stdout) : null, err: r.stderr };
}

Deno.test("kubectl decodes every object nslab k8s renders without losing a field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mm-k8s-" });
  try {
    await Deno.writeTextFile(`${dir}/lab.yaml`, TOPOLOGY);
    const r = await run([
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "k8s",
      "-f",
      `${dir}/lab.yaml`,
      "--node",
      "h2=worker-2",
      "--underlay-dev",
      "h2=eth1",
      "-o",
      `${dir}/lab.k8s.yaml`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const docs = parseAllDocuments(await Deno.readTextFile(`${dir}/lab.k8s.yaml`)).map((d) =>
      d.toJS() as Doc
    );
    assertEquals(docs.map((d) => d.kind), ["ConfigMap", "Pod", "Pod", "Job", "Job"]);
    for (const doc of docs) {
      const { code, back, err } = await kubectlRoundTrip(doc);
      assertEquals(code, 0, err);
      assertEquals(missingIn(doc, back), [], `${doc.kind} ${JSON.stringify(doc.metadata)}`);
    }
    // the ConfigMap's bundle is a valid bundle; the file's and the flags' placements are used
    const data = (docs[0].data as Record<string, string>)["lab.bundle.json"];
    assertEquals((await parseBundle(data, "configmap")).lab, "mmk8s");
    const command = (d: Doc) => JSON.stringify(d.spec);
    assert(command(docs[1]).includes('"--only-host","h1","--underlay-dev","ens4"'));
    assert(command(docs[2]).includes('"--only-host","h2","--underlay-dev","eth1"'));
    assert(command(docs[2]).includes('"kubernetes.io/hostname":"worker-2"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the same validation fails a misspelt field and a wrong type", async () => {
  const pod: Doc = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "bad" },
    spec: {
      hostNetwrok: true,
      containers: [{ name: "part", image: "x", env: [{ name: "NSLAB_LAB", value: "mmk8s" }] }],
    },
  };
  const typo = await kubectlRoundTrip(pod);
  assertEquals(typo.code, 0, typo.err);
  assertEquals(missingIn(pod, typo.back), [".spec.hostNetwrok"]);
  const wrongType = structuredClone(pod);
  delete (wrongType.spec as Doc).hostNetwrok;
  (wrongType.spec as Doc).hostNetwork = "true"; // a string, not a bool
  const bad = await kubectlRoundTrip(wrongType);
  assert(bad.code !== 0);
  assert(bad.err.includes("hostNetwork"), bad.err);
});
