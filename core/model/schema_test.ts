import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { parse } from "yaml";
import { type Field, TOPOLOGY, type Type } from "./schema.ts";
import { topologySchema } from "./json_schema.ts";

type Schema = Record<string, unknown>;

/** A validator for the JSON Schema subset the generator emits, to prove the schema is usable. */
function validate(schema: Schema, value: unknown, path = "$"): string[] {
  const errors: string[] = [];
  if (schema.oneOf) {
    const matches = (schema.oneOf as Schema[]).filter((s) => validate(s, value, path).length === 0);
    return matches.length === 1 ? [] : [`${path}: matches ${matches.length} alternatives`];
  }
  const kind = value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : Number.isInteger(value)
    ? "integer"
    : typeof value;
  if (schema.type) {
    const types = ([] as string[]).concat(schema.type as string[]);
    const okType = types.includes(kind) || (kind === "integer" && types.includes("number"));
    if (!okType) return [`${path}: ${kind} is not ${types.join("|")}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) {
    errors.push(`${path}: not in enum`);
  }
  if (schema.pattern && !new RegExp(schema.pattern as string).test(value as string)) {
    errors.push(`${path}: does not match pattern`);
  }
  if (typeof schema.minimum === "number" && (value as number) < schema.minimum) {
    errors.push(`${path}: below minimum`);
  }
  if (typeof schema.maximum === "number" && (value as number) > schema.maximum) {
    errors.push(`${path}: above maximum`);
  }
  if (kind === "array" && schema.items) {
    (value as unknown[]).forEach((v, i) =>
      errors.push(...validate(schema.items as Schema, v, `${path}[${i}]`))
    );
  }
  if (kind === "object") {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (Object.hasOwn(props, k)) errors.push(...validate(props[k], v, `${path}.${k}`));
      else if (schema.patternProperties && k.startsWith("x-")) continue;
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown key ${k}`);
      else if (typeof schema.additionalProperties === "object") {
        errors.push(...validate(schema.additionalProperties as Schema, v, `${path}.${k}`));
      }
    }
  }
  return errors;
}

Deno.test("every topology in topologies/ validates against the generated JSON Schema", () => {
  const schema = topologySchema();
  const dir = new URL("../../topologies/", import.meta.url);
  for (const e of Deno.readDirSync(dir)) {
    if (!e.name.endsWith(".yaml")) continue;
    const value = parse(Deno.readTextFileSync(new URL(e.name, dir)));
    deepStrictEqual(validate(schema, value), [], e.name);
  }
});

Deno.test("the JSON Schema rejects what the validator rejects structurally", () => {
  const schema = topologySchema();
  ok(validate(schema, { netwroks: {} }).length > 0);
  ok(validate(schema, { containers: { web: { ports: "8080:80" } } }).length > 0);
  ok(
    validate(schema, { networks: { a: { driver_opts: { parent: "eth0" }, internal: "yes" } } })
      .length > 0,
  );
  ok(validate(schema, { containers: { web: { deploy: { replicas: -1 } } } }).length > 0);
  // runtime takes any string (Compose's OCI runtime); a wrong type is still refused.
  ok(validate(schema, { containers: { web: { runtime: 3 } } }).length > 0);
});

function collect(t: Type, path: string, out: string[]): void {
  if (t.t === "object") {
    for (const [k, f] of Object.entries(t.fields) as [string, Field][]) {
      out.push(`${path}.${k}`);
      collect(f.type, `${path}.${k}`, out);
    }
  } else if (t.t === "map") collect(t.values, `${path}.*`, out);
  else if (t.t === "list") collect(t.items, `${path}[]`, out);
  else if (t.t === "oneOf") t.of.forEach((x) => collect(x, path, out));
}

function schemaKeys(s: Schema, path: string, out: string[]): void {
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    out.push(`${path}.${k}`);
    schemaKeys(v, `${path}.${k}`, out);
  }
  if (typeof s.additionalProperties === "object") {
    schemaKeys(s.additionalProperties as Schema, `${path}.*`, out);
  }
  if (s.items) schemaKeys(s.items as Schema, `${path}[]`, out);
  for (const alt of (s.oneOf ?? []) as Schema[]) schemaKeys(alt, path, out);
}

Deno.test("the schema has exactly the keys of the validator's table, with descriptions", () => {
  const fromTable: string[] = [];
  collect(TOPOLOGY, "$", fromTable);
  const fromSchema: string[] = [];
  const schema = topologySchema();
  schemaKeys(schema, "$", fromSchema);
  deepStrictEqual(fromSchema.sort(), fromTable.sort());
  equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  const props = schema.properties as Record<string, Schema>;
  ok(String(props.containers.description).includes("services"));
});
