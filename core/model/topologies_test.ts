import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { loadTopology } from "./load.ts";

const dir = new URL("../../topologies/", import.meta.url);
const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".yaml")).map((e) => e.name)
  .sort();

Deno.test("the focused topologies and the seed are all there", () => {
  for (const f of ["seed", "bridge", "host-none", "overlay", "macvlan", "ports", "compose"]) {
    ok(files.includes(`${f}.yaml`), f);
  }
});

for (const name of files) {
  Deno.test(`topologies/${name} loads without errors`, () => {
    const text = Deno.readTextFileSync(new URL(name, dir));
    const { model } = loadTopology({ file: `topologies/${name}`, text }, { reserved: [] });
    ok(model.containers.length > 0);
    if (name !== "compose.yaml") deepStrictEqual(model.warnings, [], `${name} has warnings`);
  });
}

Deno.test("seed.yaml resolves to the committed model snapshot", () => {
  const text = Deno.readTextFileSync(new URL("seed.yaml", dir));
  const model = loadTopology({ file: "topologies/seed.yaml", text }, { reserved: [] }).model;
  const actual = JSON.stringify(model, null, 2) + "\n";
  const snap = new URL("testdata/seed.model.json", import.meta.url);
  if (Deno.env.get("NSLAB_UPDATE_SNAPSHOTS") === "1") Deno.writeTextFileSync(snap, actual);
  equal(
    actual,
    Deno.readTextFileSync(snap),
    "the seed model changed: if that is intended, rerun with NSLAB_UPDATE_SNAPSHOTS=1 and commit",
  );
});

Deno.test("seed.yaml covers every concept of the seed document", () => {
  const text = Deno.readTextFileSync(new URL("seed.yaml", dir));
  const m = loadTopology({ file: "topologies/seed.yaml", text }, { reserved: [] }).model;
  const drivers = new Set(m.networks.map((n) => n.driver));
  for (const d of ["bridge", "overlay", "macvlan"]) ok(drivers.has(d as never), d);
  const modes = new Set(m.containers.map((c) => c.mode.kind));
  for (const k of ["own", "host", "none"]) ok(modes.has(k as never), k);
  equal(m.hosts.length, 2);
  // docker0 (network_mode: bridge), besides the user networks.
  ok(m.containers.some((c) => c.endpoints.some((e) => e.network === "bridge")));
  ok(
    m.containers.some((c) =>
      c.endpoints.filter((e) => e.network !== "docker_gwbridge").length >= 2
    ),
  );
  const ports = m.containers.flatMap((c) => c.ports);
  ok(ports.some((p) => p.hostIp === "127.0.0.1"));
  ok(ports.some((p) => p.protocol === "udp"));
  ok(ports.filter((p) => p.hostPort === 7000 || p.hostPort === 7001).length === 2);
  ok(m.containers.some((c) => c.replica === 2 && c.endpoints[0].aliases.length > 0));
  const overlay = m.networks.find((n) => n.driver === "overlay")!;
  deepStrictEqual(overlay.hosts, ["h1", "h2"]);
  ok(m.checks.length >= 5);
});
