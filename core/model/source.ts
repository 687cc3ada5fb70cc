/**
 * The topology as a located tree: every map, list and scalar knows where it came from. Built from
 * YAML text (line and column through the `yaml` package's LineCounter) or from a TypeScript object
 * (positions name the key path, `<object>:services.web.ports[0]`).
 *
 * @module
 */

import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
  type YAMLMap,
} from "yaml";
import type { SourcePos } from "./types.ts";
import type { Diagnostics } from "./diagnostics.ts";

/** One entry of a located map. */
export interface Entry {
  key: string;
  keyPos: SourcePos;
  value: Located;
}

/** A located value. */
export type Located =
  | { kind: "map"; entries: Entry[]; pos: SourcePos }
  | { kind: "seq"; items: Located[]; pos: SourcePos }
  | {
    kind: "scalar";
    value: string | number | boolean | null;
    pos: SourcePos;
    /** Set when the value came out of `${…}` interpolation (a string where Compose casts). */
    interpolated?: true;
  };

/** Largest number of nodes a topology may expand to (stops alias bombs). */
const MAX_NODES = 200_000;

/** Formats a key path for people: `services.web.ports[0]`. */
export function pathText(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

function cleanYamlMessage(message: string): string {
  const first = message.split("\n")[0];
  return first.replace(/ at line \d+, column \d+:?\s*$/, "").replace(/:\s*$/, "");
}

/**
 * Parses YAML text into a located tree. Syntax errors and duplicate keys become diagnostics;
 * returns null when the text is not usable.
 *
 * @example
 * ```ts
 * const tree = parseYaml("compose.yaml", "services: {web: {}}\n", diags);
 * ```
 */
export function parseYaml(file: string, text: string, diags: Diagnostics): Located | null {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, merge: false });
  const at = (offset: number | undefined): SourcePos => {
    const { line, col } = lc.linePos(offset ?? 0);
    return { file, line, col };
  };
  if (doc.errors.length > 0) {
    reportYamlErrors(doc.errors, at, diags);
    return null;
  }
  const tree = new LocatedTree(doc, at);
  const root = doc.contents === null
    ? { kind: "scalar" as const, value: null, pos: at(0) }
    : tree.convert(doc.contents, 0);
  if (tree.overflow) {
    diags.error(
      at(0),
      `the document expands to more than ${MAX_NODES} values (or nests deeper than 64 levels)`,
      "remove recursive or repeated YAML aliases",
    );
    return null;
  }
  return root;
}

/** Duplicate keys and the first syntax error, each where the parser found it. */
function reportYamlErrors(
  errors: YAMLError[],
  at: (offset: number | undefined) => SourcePos,
  diags: Diagnostics,
): void {
  // After the first syntax error the parser's further complaints are mostly echoes of it.
  const firstSyntax = errors.find((e) => e.code !== "DUPLICATE_KEY");
  for (const e of errors.filter((e) => e.code === "DUPLICATE_KEY" || e === firstSyntax)) {
    const what = e.code === "DUPLICATE_KEY"
      ? "duplicate key: this key is already set earlier in the same map"
      : `YAML syntax error: ${cleanYamlMessage(e.message)}`;
    const hint = e.code === "DUPLICATE_KEY"
      ? "remove one of the two entries or merge them"
      : "fix the YAML syntax (indentation, quotes, brackets) at this position";
    diags.error(at(e.pos?.[0]), what, hint);
  }
}

/**
 * Converts the `yaml` package's nodes into a located tree: aliases resolved, `<<` merge keys
 * applied (the map's own keys win), at most {@link MAX_NODES} values and 64 levels.
 */
class LocatedTree {
  /** Set when the budget of values or the depth ran out: the tree is not usable. */
  overflow = false;
  #budget = MAX_NODES;
  readonly #doc: Document;
  readonly #at: (offset: number | undefined) => SourcePos;

  constructor(doc: Document, at: (offset: number | undefined) => SourcePos) {
    this.#doc = doc;
    this.#at = at;
  }

  /** The located value of `node`, `depth` levels below the document. */
  convert(node: unknown, depth: number): Located {
    if (--this.#budget < 0 || depth > 64) {
      this.overflow = true;
      return { kind: "scalar", value: null, pos: this.#at(0) };
    }
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (!target) return { kind: "scalar", value: null, pos: this.#at(node.range?.[0]) };
      return this.convert(target, depth + 1);
    }
    const pos = this.#at((node as Node | null)?.range?.[0]);
    if (isMap(node)) return { kind: "map", entries: this.#entries(node, depth), pos };
    if (isSeq(node)) {
      return { kind: "seq", items: node.items.map((i) => this.convert(i, depth + 1)), pos };
    }
    if (isScalar(node)) return { kind: "scalar", value: scalarValue(node.value), pos };
    return { kind: "scalar", value: null, pos };
  }

  /** A map's entries in order; keys merged in with `<<` come after, unless the map sets them. */
  #entries(node: YAMLMap, depth: number): Entry[] {
    const entries: Entry[] = [];
    const seen = new Set<string>();
    const merges: Located[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = pair.key;
      const keyPos = this.#at((k as Node | null)?.range?.[0] ?? node.range?.[0]);
      if (isScalar(k) && k.value === "<<" && (isAlias(pair.value) || isSeq(pair.value))) {
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const s of sources) merges.push(this.convert(s, depth + 1));
        continue;
      }
      const key = isScalar(k) ? String(k.value) : isAlias(k) ? String(k.source) : "";
      if (!isScalar(k) || k.value === null || typeof k.value === "object") {
        entries.push({ key: "", keyPos, value: this.convert(pair.value, depth + 1) });
        continue;
      }
      seen.add(key);
      entries.push({ key, keyPos, value: this.convert(pair.value, depth + 1) });
    }
    for (const m of merges) {
      if (m.kind !== "map") continue;
      for (const e of m.entries) {
        if (seen.has(e.key)) continue;
        seen.add(e.key);
        entries.push(e);
      }
    }
    return entries;
  }
}

/** A YAML scalar as a located value: strings, numbers and booleans kept, the rest as text. */
function scalarValue(v: unknown): string | number | boolean | null {
  return v === null || v === undefined
    ? null
    : typeof v === "string" || typeof v === "number" || typeof v === "boolean"
    ? v
    : typeof v === "bigint"
    ? Number(v)
    : String(v);
}

/**
 * Builds a located tree from a plain object; positions are `<object>:<key path>` (line and column 0).
 *
 * @example
 * ```ts
 * const tree = fromObject({ services: { web: {} } });
 * ```
 */
export function fromObject(value: unknown, diags: Diagnostics): Located | null {
  const seen = new Set<unknown>();
  let budget = MAX_NODES;
  const posOf = (path: (string | number)[]): SourcePos => ({
    file: path.length === 0 ? "<object>" : `<object>:${pathText(path)}`,
    line: 0,
    col: 0,
  });
  const convert = (v: unknown, path: (string | number)[]): Located => {
    const pos = posOf(path);
    if (--budget < 0) return { kind: "scalar", value: null, pos };
    if (Array.isArray(v)) {
      if (seen.has(v)) return { kind: "scalar", value: null, pos };
      seen.add(v);
      const items = v.map((x, i) => convert(x, [...path, i]));
      seen.delete(v);
      return { kind: "seq", items, pos };
    }
    if (v !== null && typeof v === "object") {
      if (seen.has(v)) return { kind: "scalar", value: null, pos };
      seen.add(v);
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .map(([key, x]) => ({
          key,
          keyPos: posOf([...path, key]),
          value: convert(x, [...path, key]),
        }));
      seen.delete(v);
      return { kind: "map", entries, pos };
    }
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null) {
      return { kind: "scalar", value: v, pos };
    }
    if (typeof v === "bigint") return { kind: "scalar", value: Number(v), pos };
    return { kind: "scalar", value: String(v), pos };
  };
  const root = convert(value, []);
  if (budget < 0) {
    diags.error(
      posOf([]),
      `the topology object has more than ${MAX_NODES} values`,
      "pass a smaller topology",
    );
    return null;
  }
  return root;
}
