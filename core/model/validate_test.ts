import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { TopologyError } from "../errors.ts";
import { loadTopology, loadTopologyObject } from "./load.ts";
import { INVALID } from "./_invalid_cases.ts";

function diagnosticsOf(yaml: string): TopologyError {
  try {
    loadTopology({ file: "t.yaml", text: yaml }, { reserved: [] });
  } catch (e) {
    ok(e instanceof TopologyError, `expected a TopologyError, got ${e}`);
    return e;
  }
  throw new Error("the topology was accepted");
}

function warningsOf(yaml: string): string[] {
  const { model } = loadTopology({ file: "t.yaml", text: yaml }, { reserved: [] });
  return model.warnings.map((w) => `${w.pos.line}:${w.pos.col}: ${w.message}`);
}

Deno.test("at least 40 distinct invalid topologies are covered", () => {
  ok(INVALID.length >= 40, `${INVALID.length} cases`);
  equal(new Set(INVALID.map((c) => c.yaml)).size, INVALID.length);
});

for (const c of INVALID) {
  Deno.test(`rejects: ${c.name}`, () => {
    const e = diagnosticsOf(c.yaml);
    deepStrictEqual(
      e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`),
      c.errors,
    );
    equal(e.exitCode, 2);
    for (const d of e.diagnostics) {
      ok(d.hint.length > 0, `no fix given for "${d.message}"`);
      ok(e.message.includes(`t.yaml:${d.pos.line}:${d.pos.col}: ${d.message} — ${d.hint}`));
    }
  });
}

Deno.test("ports with network_mode host are discarded with Docker's warning", () => {
  const w = warningsOf(
    'name: t\ncontainers:\n  tool:\n    network_mode: host\n    ports: ["80:80"]\n',
  );
  deepStrictEqual(w, ["5:5: tool: Published ports are discarded when using host network mode"]);
  const { model } = loadTopology({
    file: "t.yaml",
    text: 'name: t\ncontainers:\n  tool:\n    network_mode: host\n    ports: ["80:80"]\n',
  }, { reserved: [] });
  deepStrictEqual(model.containers[0].ports, []);
});

Deno.test("an overlay used on one host only is allowed with a warning", () => {
  const w = warningsOf(
    "name: t\nhosts: {h1: {}, h2: {}}\nnetworks:\n  m: {driver: overlay}\ncontainers:\n  a: {host: h1, networks: [m]}\n",
  );
  deepStrictEqual(w, [
    '4:3: overlay network "m" has containers on one host only (h1); a bridge network would do, ' +
    "or place a container on another host",
  ]);
});

Deno.test("Compose keys nslab does not use are listed once, on one line, not rejected", () => {
  const w = warningsOf(
    "name: t\nversion: '3'\nx-common: &c {}\nservices:\n  a: {image: x, build: ., volumes: [v:/v], labels: {k: v}}\n" +
      "  b: {image: y, volumes: [w:/w], depends_on: [a], container_name: bb}\nvolumes: {v: {}}\n",
  );
  deepStrictEqual(w, [
    '2:1: "version" ignored: the Compose file version is obsolete',
    '5:7: "image" and "build" ignored: nslab builds only the network (runtime netns; set runtime: docker to use it) (2 places)',
    "5:27: ignored (nslab builds only the network): labels, volumes (3 places)",
  ]);
});

Deno.test("network attachable and labels are ignored with a warning", () => {
  const w = warningsOf(
    "name: t\nnetworks:\n  a: {attachable: true, labels: [x]}\ncontainers:\n  c: {networks: [a]}\n",
  );
  deepStrictEqual(w, ["3:7: ignored (nslab builds only the network): attachable, labels"]);
});

Deno.test("a declared network nobody uses is reported as a warning", () => {
  deepStrictEqual(warningsOf("name: t\nnetworks:\n  spare: {}\n"), [
    '3:3: network "spare" is not used by any container',
  ]);
});

Deno.test("errors in a topology object point at the key path", () => {
  try {
    loadTopologyObject({ name: "t", containers: { web: { ports: ["80/tcpp"], netwroks: [] } } }, {
      reserved: [],
    });
    throw new Error("accepted");
  } catch (e) {
    ok(e instanceof TopologyError);
    deepStrictEqual(e.diagnostics.map((d) => `${d.pos.file}: ${d.message}`), [
      '<object>:containers.web.netwroks: unknown key "netwroks" in containers.web (did you mean "networks"?)',
      "<object>:containers.web.ports[0]: invalid proto: tcpp",
    ]);
  }
});

Deno.test("a topology object without a name is refused with the fix", () => {
  try {
    loadTopologyObject({ containers: { web: {} } }, { reserved: [] });
    throw new Error("accepted");
  } catch (e) {
    ok(e instanceof TopologyError);
    equal(e.diagnostics[0].message, "the lab has no name");
    ok(e.diagnostics[0].hint.includes("Lab.up(topology, { name })"));
  }
});

Deno.test("-p wins over name: and is validated like it", () => {
  const text = "name: shop\ncontainers:\n  web: {}\n";
  equal(loadTopology({ file: "t.yaml", text }, { reserved: [], project: "t2" }).model.lab, "t2");
  try {
    loadTopology({ file: "t.yaml", text }, { reserved: [], project: "Shop" });
    throw new Error("accepted");
  } catch (e) {
    ok(e instanceof TopologyError);
    equal(
      e.diagnostics[0].message,
      'the project name (-p) "Shop" must contain only lowercase letters, digits, dashes and ' +
        "underscores and start with a letter or digit",
    );
  }
});
