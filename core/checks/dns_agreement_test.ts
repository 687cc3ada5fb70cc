/**
 * The DNS expectations agree with the embedded DNS's own record table: every implied DNS check of
 * a model passes against `lookup()` of that model, and fails against a table built from a
 * different model (so the checks can fail at all).
 */
import { ok as assert } from "node:assert/strict";
import { lookup } from "../dns/lookup.ts";
import { labRecords } from "../runtime/supervisor.ts";
import { deriveExpectations } from "./expectations.ts";
import { judge } from "./judge.ts";
import { buildModel, type LabSpec } from "./_model_testkit.ts";
import type { Model } from "../model/types.ts";
import type { Expectation, Observed } from "./types.ts";

function observe(model: Model, e: Expectation): Observed {
  if (e.probe.kind !== "dns") throw new Error("not a dns probe");
  // The table the supervisor really serves.
  const r = lookup(labRecords(model), e.source, e.probe.name, e.probe.type);
  return {
    kind: "dns",
    rcode: r.rcode,
    answers: r.answers.map((a) =>
      a.type === "A" || a.type === "AAAA"
        ? a.address
        : a.type === "PTR"
        ? a.target
        : `${a.srv.target}:${a.srv.port}`
    ),
  };
}

const lab: LabSpec = {
  hosts: ["h1", "h2"],
  networks: [
    { name: "front", subnet: "172.20.0.0/24" },
    { name: "back", subnet: "172.21.0.0/24", internal: true },
    { name: "mesh", driver: "overlay", subnet: "10.10.0.0/24" },
    { name: "lonely", subnet: "172.23.0.0/24" },
  ],
  containers: [
    {
      name: "web",
      host: "h1",
      nets: [["front", "172.20.0.2", ["www"]], ["back", "172.21.0.2"]],
      hostname: "webhost",
      ports: [{ containerPort: 80, hostPort: 8080, name: "www" }],
    },
    {
      name: "api-1",
      service: "api",
      replica: 1,
      host: "h1",
      nets: [["back", "172.21.0.3", ["svc"]], ["mesh", "10.10.0.2"]],
      ports: [{ containerPort: 8000, hostPort: 8000, name: "http" }],
    },
    {
      name: "api-2",
      service: "api",
      replica: 2,
      host: "h2",
      nets: [["mesh", "10.10.0.3"]],
      ports: [{ containerPort: 8000, hostPort: 8000, name: "http" }],
    },
    { name: "solo", host: "h2", nets: [["lonely", "172.23.0.2"]] },
    { name: "vault", host: "h1", mode: { kind: "none" } },
    { name: "tool", host: "h1", mode: { kind: "host" } },
  ],
};

Deno.test("every implied DNS expectation passes against the DNS record table", () => {
  const model = buildModel(lab);
  const dns = deriveExpectations(model).filter((e) => e.kind === "dns");
  assert(dns.length > 20, `only ${dns.length} dns expectations`);
  const kinds = new Set(dns.map((e) => e.expect.kind));
  for (const k of ["addresses", "nxdomain", "ptr", "srv"]) assert(kinds.has(k as never), k);
  const failures = dns.map((e) => ({ e, o: observe(model, e) }))
    .map(({ e, o }) => ({ e, o, v: judge(e, o) }))
    .filter((x) => !x.v.pass)
    .map((x) => `${x.e.id}: ${x.v.hint} (${JSON.stringify(x.o)})`);
  assert(failures.length === 0, failures.join("\n"));
});

Deno.test("DNS expectations fail against a table where a container moved network", () => {
  const model = buildModel(lab);
  const moved = buildModel({
    ...lab,
    containers: lab.containers.map((c) =>
      // Onto web's host too: a bridge network is one L2 domain (and one set of names) per host.
      c.name === "solo"
        ? { ...c, host: "h1", nets: [["front", "172.20.0.9"]] as [string, string][] }
        : c
    ),
  });
  const dns = deriveExpectations(model).filter((e) => e.kind === "dns");
  const failed = dns.filter((e) => !judge(e, observe(moved, e)).pass).map((e) => e.id);
  assert(failed.includes("dns:web:A:solo"), failed.join(", "));
  assert(failed.includes("dns:solo:A:web"), failed.join(", "));
});

Deno.test("<name>.<network> expects every holder of the name there, aliases included", () => {
  // app-canary extends app in Compose and so carries app's alias "app" on front.
  const model = buildModel({
    hosts: ["h1"],
    networks: [{ name: "front", subnet: "172.20.0.0/24" }],
    containers: [
      { name: "app", host: "h1", nets: [["front", "172.20.0.2", ["app"]]] },
      { name: "app-canary", host: "h1", nets: [["front", "172.20.0.3", ["app"]]] },
    ],
  });
  const dns = deriveExpectations(model).filter((e) => e.kind === "dns");
  const qualified = dns.filter((e) => e.probe.kind === "dns" && e.probe.name === "app.front");
  assert(qualified.length > 0, "no app.front expectation");
  const failures = qualified.filter((e) => !judge(e, observe(model, e)).pass).map((e) => e.id);
  assert(failures.length === 0, failures.join(", "));
});
