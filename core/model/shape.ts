/**
 * The shape check: a located YAML tree checked against the topology table ({@link TOPOLOGY}) —
 * wrong types and unknown keys become errors with did-you-mean, ignored Compose keys one warning
 * each — leaving a tree without the invalid parts and the position of every value.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Located } from "./source.ts";
import { pathText } from "./source.ts";
import { suggestion } from "./names.ts";
import type { SourcePos } from "./types.ts";
import { type Field, IGNORED_TEXT, TOPOLOGY, type Type } from "./schema.ts";
import { Positions } from "./positions.ts";

function kindName(v: Located): string {
  if (v.kind === "map") return "a map";
  if (v.kind === "seq") return "a list";
  if (v.value === null) return "empty";
  if (typeof v.value === "number") return Number.isInteger(v.value) ? "an integer" : "a number";
  if (typeof v.value === "boolean") return "a boolean";
  return "a string";
}

function typeName(t: Type): string {
  switch (t.t) {
    case "string":
      return t.enum ? `one of ${t.enum.join(", ")}` : "a string";
    case "scalar":
      return "a string";
    case "int":
      return "an integer";
    case "bool":
      return "true or false";
    case "object":
    case "map":
      return "a map";
    case "list":
      return "a list";
    case "oneOf":
      return [...new Set(t.of.map(typeName))].join(" or ");
    case "any":
      return "anything";
  }
}

/** An interpolated `"42"` where Compose expects a number: 42 (Compose casts after interpolation). */
function castInt(v: Located): number | null {
  if (v.kind !== "scalar" || !v.interpolated || typeof v.value !== "string") return null;
  return /^-?\d+$/.test(v.value.trim()) ? Number(v.value) : null;
}

/** An interpolated `"true"`/`"false"` where Compose expects a boolean. */
function castBool(v: Located): boolean | null {
  if (v.kind !== "scalar" || !v.interpolated || typeof v.value !== "string") return null;
  const t = v.value.trim().toLowerCase();
  return t === "true" ? true : t === "false" ? false : null;
}

function accepts(t: Type, v: Located): boolean {
  switch (t.t) {
    case "string":
      return v.kind === "scalar" && typeof v.value === "string";
    case "scalar":
      return v.kind === "scalar" && v.value !== null;
    case "int":
      return v.kind === "scalar" &&
        (typeof v.value === "number" || castInt(v) !== null);
    case "bool":
      return v.kind === "scalar" && (typeof v.value === "boolean" || castBool(v) !== null);
    case "object":
    case "map":
      return v.kind === "map" || (t.nullable === true && v.kind === "scalar" && v.value === null);
    case "list":
      return v.kind === "seq";
    case "oneOf":
      return t.of.some((x) => accepts(x, v));
    case "any":
      return true;
  }
}

/** Context of one structural check. */
interface Walk {
  diags: Diagnostics;
  positions: Positions;
  /** Ignored Compose keys seen, by `section:key`, for one warning each. */
  ignoredSeen: Map<string, { pos: SourcePos; count: number; message: string }>;
}

function quoteIfNeeded(v: Located): string {
  return v.kind === "scalar" && typeof v.value === "string" ? ` "${v.value}"` : "";
}

type ObjectType = Extract<Type, { t: "object" }>;
type MapType = Extract<Type, { t: "map" }>;
type MapEntry = Extract<Located, { kind: "map" }>["entries"][number];

/**
 * Checks value `v` at `path` against type `t`, recording where it came from. Returns the value
 * with every invalid part left out (undefined when the value itself is invalid).
 */
function walk(t: Type, v: Located, path: (string | number)[], w: Walk, example?: string): unknown {
  w.positions.set(path, v.pos);
  const where = pathText(path) || "the topology";
  if (!accepts(t, v)) {
    reportWrongKind(t, v, where, w, example);
    return undefined;
  }
  switch (t.t) {
    case "oneOf":
      return walk(t.of.find((x) => accepts(x, v))!, v, path, w, example);
    case "string":
      return checkString(t, (v as { value: string }).value, v.pos, where, w, example);
    case "scalar":
      return String((v as { value: unknown }).value);
    case "int":
      return checkInt(t, castInt(v) ?? (v as { value: number }).value, v.pos, where, w);
    case "bool":
      return castBool(v) ?? (v as { value: boolean }).value;
    case "any":
      return undefined;
    case "list":
      return (v as { items: Located[] }).items.map((item, i) =>
        walk(t.items, item, [...path, i], w)
      );
    case "map":
      return v.kind === "map" ? walkMap(t, v.entries, path, where, w) : {};
    case "object":
      return v.kind === "map" ? walkObject(t, v.entries, path, where, w) : {};
  }
}

/** A value of the wrong YAML kind: says what was expected, and shows an example if known. */
function reportWrongKind(t: Type, v: Located, where: string, w: Walk, example?: string): void {
  const hint = example
    ? `write it as ${typeName(t)}, e.g. ${example}`
    : `write it as ${typeName(t)}`;
  w.diags.error(
    v.pos,
    `${where} must be ${typeName(t)}, not ${kindName(v)}${quoteIfNeeded(v)}`,
    hint,
  );
}

/** A string, which must be one of the type's `enum` and match its `pattern` when it has them. */
function checkString(
  t: Extract<Type, { t: "string" }>,
  s: string,
  pos: SourcePos,
  where: string,
  w: Walk,
  example?: string,
): string | undefined {
  if (t.enum && !t.enum.includes(s)) {
    w.diags.error(
      pos,
      `${where} must be one of ${t.enum.join(", ")}, not "${s}"${suggestion(s, t.enum)}`,
      `use one of ${t.enum.join(", ")}`,
    );
    return undefined;
  }
  if (t.pattern && !new RegExp(t.pattern).test(s)) {
    w.diags.error(
      pos,
      `${where} "${s}" is not valid`,
      example ? `e.g. ${example}` : "see `nslab schema` for the accepted forms",
    );
    return undefined;
  }
  return s;
}

/** A number, which must be whole and inside the type's range. */
function checkInt(
  t: Extract<Type, { t: "int" }>,
  n: number,
  pos: SourcePos,
  where: string,
  w: Walk,
): number | undefined {
  if (!Number.isInteger(n)) {
    w.diags.error(pos, `${where} must be an integer, not ${n}`, "write a whole number");
    return undefined;
  }
  if ((t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max)) {
    const range = t.max === undefined ? `≥ ${t.min}` : `between ${t.min} and ${t.max}`;
    w.diags.error(pos, `${where} must be ${range}, not ${n}`, `use a number ${range}`);
    return undefined;
  }
  return n;
}

/** A map of user-chosen keys (networks, services, …), each value checked against one type. */
function walkMap(
  t: MapType,
  entries: MapEntry[],
  path: (string | number)[],
  where: string,
  w: Walk,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of entries) {
    const p = [...path, e.key];
    w.positions.set(p, e.value.pos, e.keyPos);
    if (e.key === "") {
      w.diags.error(e.keyPos, `${where}: a key must be a plain name`, "write a plain word");
      continue;
    }
    // Extension fields are the user's own (Compose ignores them without a word).
    if (e.key.startsWith("x-")) continue;
    if (e.value.kind === "scalar" && e.value.value === null) {
      // `front:` with no body is `front: {}`; `VAR:` with no value is unset, as in Compose.
      if (t.values.t === "object") out[e.key] = {};
      if (t.values.t === "object" || t.values.t === "scalar") continue;
    }
    out[e.key] = walk(t.values, e.value, p, w);
  }
  return out;
}

/** An object of known keys: unknown keys are errors, ignored Compose keys are tallied. */
function walkObject(
  t: ObjectType,
  entries: MapEntry[],
  path: (string | number)[],
  where: string,
  w: Walk,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = Object.keys(t.fields).filter((k) => !t.fields[k].ignored);
  for (const e of entries) {
    const p = [...path, e.key];
    w.positions.set(p, e.value.pos, e.keyPos);
    const field = Object.hasOwn(t.fields, e.key) ? t.fields[e.key] : undefined;
    // Extension fields are the user's own (Compose ignores them without a word).
    if (e.key.startsWith("x-")) continue;
    if (!field) {
      const label = e.key === "" ? "a key that is not a plain name" : `unknown key "${e.key}"`;
      w.diags.error(
        e.keyPos,
        `${label} in ${where}${e.key === "" ? "" : suggestion(e.key, names)}`,
        `valid keys here: ${names.join(", ")}`,
      );
      continue;
    }
    if (field.ignored) {
      tallyIgnoredKey(field, e, path, w);
      continue;
    }
    const r = walk(field.type, e.value, p, w, field.example);
    if (r !== undefined) out[e.key] = r;
  }
  return out;
}

/** Counts an ignored key: keys ignored for the usual reason share one line, others their own. */
function tallyIgnoredKey(field: Field, e: MapEntry, path: (string | number)[], w: Walk): void {
  const section = path.filter((s) => typeof s === "string").length > 0
    ? genericSection(path)
    : "top";
  if (field.doc === IGNORED_TEXT) recordIgnored(w, `generic:${e.key}`, e.keyPos, e.key);
  else recordIgnored(w, `${section}:${e.key}`, e.keyPos, `"${e.key}" ${field.doc}`);
}

/** `services.*.deploy` for `services.web.deploy`: ignored keys are reported once per section. */
function genericSection(path: (string | number)[]): string {
  const out: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (typeof seg === "number") continue;
    const isMapKey = i > 0 &&
      ["hosts", "networks", "containers", "services"].includes(String(path[i - 1]));
    out.push(isMapKey ? "*" : seg);
  }
  return out.join(".");
}

function recordIgnored(w: Walk, key: string, pos: SourcePos, message: string): void {
  const seen = w.ignoredSeen.get(key);
  if (seen) seen.count++;
  else w.ignoredSeen.set(key, { pos, count: 1, message });
}

/**
 * Checks the located tree against {@link TOPOLOGY}: wrong types and unknown keys become errors,
 * ignored Compose keys one warning each. Returns the tree with every invalid part left out, and
 * where each value came from.
 */
export function checkShape(
  root: Located,
  diags: Diagnostics,
  file: string,
): { value: Record<string, unknown>; positions: Positions } {
  const positions = new Positions(file);
  const w: Walk = { diags, positions, ignoredSeen: new Map() };
  if (root.kind !== "map") {
    const empty = root.kind === "scalar" && root.value === null;
    diags.error(
      root.pos,
      empty ? "the topology is empty" : `the topology must be a map of keys, not ${kindName(root)}`,
      "start with `containers:` (or `services:`), e.g. containers: { web: {} }",
    );
    return { value: {}, positions };
  }
  const value = walk(TOPOLOGY, root, [], w) as Record<string, unknown>;
  const generic: { pos: SourcePos; text: string }[] = [];
  for (const [key, { pos, count, message }] of w.ignoredSeen) {
    const text = count > 1 ? `${message} (${count} places)` : message;
    if (key.startsWith("generic:")) generic.push({ pos, text });
    else diags.warn(pos, text);
  }
  if (generic.length > 0) {
    const keys = generic.map((g) => g.text).sort().join(", ");
    diags.warn(generic[0].pos, `${IGNORED_TEXT.replace(/^ignored: /, "ignored (")}): ${keys}`);
  }
  return { value: value ?? {}, positions };
}
