import { ok } from "node:assert/strict";
import { TopologyError } from "../errors.ts";
import { loadTopology, loadTopologyObject, type TopologyInput } from "./load.ts";
import { INVALID } from "./_invalid_cases.ts";

/** A small seeded PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ":{}[]-,. \n'\"&*!|>#0123456789abcxyz/\t";

function mutate(text: string, r: () => number): string {
  const pick = (n: number) => Math.floor(r() * n);
  let lines = text.split("\n");
  const n = 1 + pick(4);
  for (let i = 0; i < n; i++) {
    const op = pick(7);
    const li = pick(lines.length);
    const line = lines[li] ?? "";
    const at = pick(line.length + 1);
    if (op === 0) lines[li] = line.slice(0, at) + line.slice(at + 1);
    else if (op === 1) {
      lines[li] = line.slice(0, at) + ALPHABET[pick(ALPHABET.length)] + line.slice(at);
    } else if (op === 2) lines.splice(li, 0, line);
    else if (op === 3) lines.splice(li, 1);
    else if (op === 4) {
      const lj = pick(lines.length);
      [lines[li], lines[lj]] = [lines[lj], lines[li]];
    } else if (op === 5) lines[li] = "  " + line;
    else {
      const digits = line.replace(/\d+/, String([0, -1, 65536, 1.5, 4094, 99999999999][pick(6)]));
      lines[li] = digits;
    }
    lines = lines.filter((l) => l !== undefined);
  }
  return lines.join("\n");
}

/**
 * How many cases: `NSLAB_FUZZ_FILES` mutated files (default 4,000; 20,000 under `NSLAB_LONG=1`)
 * and half as many random objects — CI runs 6,000, `deno task test:long` 30,000.
 */
const FILES = Number(
  Deno.env.get("NSLAB_FUZZ_FILES") ??
    (Deno.env.get("NSLAB_LONG") === "1" ? 20000 : 4000),
);
const OBJECTS = Math.ceil(FILES / 2);

function mustBeCleanOutcome(load: () => unknown, what: string): void {
  try {
    load();
  } catch (e) {
    ok(e instanceof TopologyError, `${what}: threw ${e}`);
    ok(e.diagnostics.length > 0, `${what}: no diagnostics`);
    for (const d of e.diagnostics) {
      ok(!d.message.startsWith("internal error"), `${what}: ${d.message}`);
      ok(d.hint.length > 0, `${what}: no hint for ${d.message}`);
      ok(
        d.pos.file.startsWith("<object>") || (d.pos.line >= 1 && d.pos.col >= 1),
        `${what}: bad position for ${d.message}`,
      );
    }
  }
}

Deno.test(`${FILES} mutated topology files give a model or located diagnostics, never a crash`, () => {
  const dir = new URL("../../topologies/", import.meta.url);
  const corpus = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".yaml"))
    .map((e) => Deno.readTextFileSync(new URL(e.name, dir)))
    .concat(INVALID.map((c) => c.yaml));
  const r = rng(20260601);
  for (let i = 0; i < FILES; i++) {
    const text = mutate(corpus[i % corpus.length], r);
    mustBeCleanOutcome(
      () => loadTopology({ file: "f.yaml", text }, { reserved: [] }),
      `seed 20260601 iteration ${i}:\n${text}`,
    );
  }
});

const KEYS = [
  "name",
  "hosts",
  "networks",
  "containers",
  "services",
  "checks",
  "driver",
  "ipam",
  "config",
  "subnet",
  "gateway",
  "ip_range",
  "ports",
  "expose",
  "networks",
  "network_mode",
  "deploy",
  "replicas",
  "aliases",
  "ipv4_address",
  "host",
  "address",
  "internal",
  "driver_opts",
  "parent",
  "from",
  "to",
  "expect",
  "dns",
  "command",
  "environment",
  "web",
  "api",
  "front",
  "h1",
  "x-y",
];
const SCALARS: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  80,
  65536,
  "",
  "web",
  "front",
  "h1",
  "8080:80",
  "10.0.0.0/8",
  "172.17.0.5",
  "container:web",
  "overlay",
  "macvlan",
  "eth0.5",
  "open",
  "__proto__",
  "constructor",
];

function randomValue(r: () => number, depth: number): unknown {
  const pick = (n: number) => Math.floor(r() * n);
  const k = pick(depth > 4 ? 1 : 3);
  if (k === 0) return SCALARS[pick(SCALARS.length)];
  if (k === 1) return Array.from({ length: pick(4) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = pick(5); i > 0; i--) o[KEYS[pick(KEYS.length)]] = randomValue(r, depth + 1);
  return o;
}

Deno.test(`${OBJECTS} random topology objects give a model or diagnostics, never a crash`, () => {
  const r = rng(7);
  for (let i = 0; i < OBJECTS; i++) {
    const obj = randomValue(r, 0) as TopologyInput;
    mustBeCleanOutcome(
      () => loadTopologyObject(obj, { reserved: [], project: "fz" }),
      `object ${JSON.stringify(obj)}`,
    );
  }
});
