/**
 * The JSON Schema (draft-07) of the topology format that `nslab schema` prints for editors,
 * generated from the validator's own table ({@link TOPOLOGY}), so the two cannot drift.
 *
 * @module
 */

import { TOPOLOGY, type Type } from "./schema.ts";

/** The JSON Schema of one type of the table, with the key's doc as its description. */
function jsonSchemaOf(t: Type, doc?: string): Record<string, unknown> {
  const d = doc ? { description: doc } : {};
  switch (t.t) {
    case "string":
      return {
        type: "string",
        ...(t.enum ? { enum: [...t.enum] } : {}),
        ...(t.pattern ? { pattern: t.pattern } : {}),
        ...d,
      };
    case "scalar":
      return { type: ["string", "number", "boolean"], ...d };
    case "int":
      return {
        type: "integer",
        ...(t.min !== undefined ? { minimum: t.min } : {}),
        ...(t.max !== undefined ? { maximum: t.max } : {}),
        ...d,
      };
    case "bool":
      return { type: "boolean", ...d };
    case "list":
      return { type: "array", items: jsonSchemaOf(t.items), ...d };
    case "oneOf":
      return { oneOf: t.of.map((x) => jsonSchemaOf(x)), ...d };
    case "any":
      return { ...d };
    case "map":
      return {
        type: t.nullable ? ["object", "null"] : "object",
        additionalProperties: jsonSchemaOf(t.values),
        ...d,
      };
    case "object": {
      const properties: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(t.fields)) properties[k] = jsonSchemaOf(f.type, f.doc);
      return {
        type: t.nullable ? ["object", "null"] : "object",
        properties,
        patternProperties: { "^x-": {} },
        additionalProperties: false,
        ...d,
      };
    }
  }
}

/**
 * A JSON Schema (draft-07) of the topology format, generated from the validator's own table.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(topologySchema(), null, 2)); // what `nslab schema` prints
 * ```
 */
export function topologySchema(): Record<string, unknown> {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://nslab.dev/schema/topology.json",
    title: "nslab topology",
    ...jsonSchemaOf(TOPOLOGY, "A Compose-like lab: hosts, networks, containers and checks."),
  };
}
