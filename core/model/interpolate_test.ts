import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { expand, parseDotEnv, TemplateError } from "./interpolate.ts";
import { loadTopology } from "./load.ts";
import { TopologyError } from "../errors.ts";

const ENV = { SET: "v", EMPTY: "", PORT: "8080" };

Deno.test("every Compose form of ${…} expands as Compose does", () => {
  const cases: [string, string][] = [
    ["$SET", "v"],
    ["${SET}", "v"],
    ["a${SET}b$SET.c", "avbv.c"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${UNSET-d}", "d"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET+alt}", ""],
    ["${UNSET:-${PORT}}", "8080"],
    ["${UNSET:-${ALSO_UNSET:-127.0.0.1}}:${PORT}:80", "127.0.0.1:8080:80"],
    ["$$SET", "$SET"],
    ["$${SET}", "${SET}"],
    ["cost: 5$", "cost: 5$"],
  ];
  for (const [text, want] of cases) equal(expand(text, ENV).value, want, text);
});

Deno.test("an unset variable is an empty string, reported by name", () => {
  deepStrictEqual(expand("${NOPE}:$ALSO", ENV), { value: ":", unset: ["NOPE", "ALSO"] });
  deepStrictEqual(expand("${NOPE:-x}", ENV).unset, []);
});

Deno.test("?-forms fail with Compose's text; malformed templates fail", () => {
  throws(
    () => expand("${UNSET:?give it}", ENV),
    /required variable UNSET is missing a value: give it/,
  );
  throws(() => expand("${EMPTY:?}", ENV), /required variable EMPTY is missing a value$/);
  equal(expand("${EMPTY?err}", ENV).value, "");
  throws(() => expand("${UNSET?err}", ENV), TemplateError);
  throws(() => expand("${SET", ENV), /Invalid template/);
  throws(() => expand("${1X}", ENV), /Invalid template/);
});

Deno.test(".env files: comments, quotes, export, expansion of earlier keys", () => {
  const text = [
    "# comment",
    "export A=1",
    "B = two words # trailing comment",
    "C='${A} literal'",
    'D="line\\nnext ${A}"',
    "E=${A}-${OUTER}",
    "F",
    'G="multi',
    'line"',
    "",
  ].join("\n");
  deepStrictEqual(parseDotEnv(text, { OUTER: "o", F: "from-env" }), {
    A: "1",
    B: "two words",
    C: "${A} literal",
    D: "line\nnext 1",
    E: "1-o",
    F: "from-env",
    G: "multi\nline",
  });
});

Deno.test("interpolation reaches the model; numbers from variables are numbers; warnings once per variable", () => {
  const text = 'name: t\nservices:\n  web:\n    ports: ["${P:-8080}-8081:80"]\n' +
    '    deploy:\n      replicas: ${N}\n    environment: ["X=${Q}", "Y=${Q}"]\n';
  const m = loadTopology({ file: "t.yaml", text }, { reserved: [], env: { N: "2" } }).model;
  deepStrictEqual(m.containers.map((c) => c.name), ["web-1", "web-2"]);
  deepStrictEqual(m.containers.map((c) => c.ports[0].hostPort), [8080, 8081]);
  deepStrictEqual(m.containers[0].environment, { X: "", Y: "" });
  deepStrictEqual(m.warnings.map((w) => `${w.pos.line}:${w.pos.col}: ${w.message}`), [
    '7:19: The "Q" variable is not set. Defaulting to a blank string.',
  ]);
});

Deno.test("a :? error in the file is located at its value, and nothing is built", () => {
  try {
    loadTopology({
      file: "t.yaml",
      text: "name: t\nservices:\n  web:\n    hostname: ${H:?name it}\n",
    }, {
      reserved: [],
      env: {},
    });
    throw new Error("accepted");
  } catch (e) {
    if (!(e instanceof TopologyError)) throw e;
    deepStrictEqual(e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`), [
      "4:15: required variable H is missing a value: name it",
    ]);
  }
});

Deno.test("COMPOSE_PROJECT_NAME names the project over name:, -p over both", () => {
  const text = "name: fromfile\nservices: {web: {}}\n";
  const load = (env: Record<string, string>, project?: string) =>
    loadTopology({ file: "t.yaml", text }, { reserved: [], env, project }).model.lab;
  equal(load({}), "fromfile");
  equal(load({ COMPOSE_PROJECT_NAME: "fromenv" }), "fromenv");
  equal(load({ COMPOSE_PROJECT_NAME: "fromenv" }, "fromflag"), "fromflag");
});

Deno.test(".env beside the file sets COMPOSE_PROJECT_NAME and COMPOSE_PROFILES too, as in Compose", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nslab-dotenv-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/.env`,
      "COMPOSE_PROJECT_NAME=fromdotenv\nCOMPOSE_PROFILES=tools\n",
    );
    const text = "name: fromfile\nservices:\n  web: {}\n  dbg: {profiles: [tools]}\n";
    const m = loadTopology({ file: `${dir}/compose.yaml`, text }, { reserved: [], env: {} }).model;
    equal(m.lab, "fromdotenv");
    deepStrictEqual(m.containers.map((c) => c.name), ["web", "dbg"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
