/**
 * Compose's variable interpolation and `.env` files. `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` (defaults may
 * hold further expressions), `$$` for a literal `$`. An unset variable without a default is an
 * empty string and one warning per variable, as in Compose; `?` forms are located errors.
 * Pure: the environment is passed in.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Located } from "./source.ts";
import type { SourcePos } from "./types.ts";

/** Variables visible to interpolation, by name. */
export type Environment = Readonly<Record<string, string>>;

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** Why a template cannot be expanded (text for an error). */
export class TemplateError extends Error {}

/** One expansion: its result and the variables it found unset (for warnings). */
export interface Expansion {
  value: string;
  unset: string[];
}

/** Index just after the `}` closing the `${` that starts at `open`, honouring nesting. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$") {
      i++;
      continue;
    }
    if (text[i] === "$" && text[i + 1] === "{") {
      depth++;
      i++;
    } else if (text[i] === "}" && --depth === 0) return i + 1;
  }
  throw new TemplateError(`Invalid template: "${text}" (an unclosed \${)`);
}

function braced(body: string, env: Environment, unset: string[]): string {
  const m = NAME.exec(body);
  if (!m) throw new TemplateError(`Invalid template: "\${${body}}" (not a variable name)`);
  const name = m[0];
  const rest = body.slice(name.length);
  const value = Object.hasOwn(env, name) ? env[name] : undefined;
  if (rest === "") {
    if (value === undefined) unset.push(name);
    return value ?? "";
  }
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest);
  if (!op) throw new TemplateError(`Invalid template: "\${${body}}"`);
  const arg = rest.slice(op[0].length);
  const missing = op[0].startsWith(":") ? value === undefined || value === "" : value === undefined;
  switch (op[0]) {
    case ":-":
    case "-":
      return missing ? expandInto(arg, env, unset) : value!;
    case ":+":
    case "+":
      return missing ? "" : expandInto(arg, env, unset);
    default: {
      if (!missing) return value!;
      const why = expandInto(arg, env, unset);
      throw new TemplateError(
        `required variable ${name} is missing a value` + (why === "" ? "" : `: ${why}`),
      );
    }
  }
}

function expandInto(text: string, env: Environment, unset: string[]): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== "$") {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "{") {
      const end = closingBrace(text, i);
      out += braced(text.slice(i + 2, end - 1), env, unset);
      i = end - 1;
    } else {
      const m = NAME.exec(text.slice(i + 1));
      if (!m) {
        out += "$";
        continue;
      }
      const value = Object.hasOwn(env, m[0]) ? env[m[0]] : undefined;
      if (value === undefined) unset.push(m[0]);
      out += value ?? "";
      i += m[0].length;
    }
  }
  return out;
}

/**
 * Expands one string. Throws {@link TemplateError} for `:?`/`?` on a missing variable and for
 * malformed templates.
 *
 * @example
 * ```ts
 * expand("${PORT:-8080}:80", { }).value; // "8080:80"
 * expand("$$HOME", {}).value; // "$HOME"
 * ```
 */
export function expand(text: string, env: Environment): Expansion {
  const unset: string[] = [];
  const value = expandInto(text, env, unset);
  return { value, unset };
}

/**
 * Interpolates every string value of a located tree (keys are left alone, as in Compose).
 * Interpolated scalars are marked, so the shape check may read `"3"` as a number where one is
 * expected. Unset variables give one warning each; errors are located at their value.
 */
export function interpolateTree(
  tree: Located,
  env: Environment,
  diags: Diagnostics,
  warned: Set<string> = new Set(),
): Located {
  const walk = (v: Located): Located => {
    if (v.kind === "map") {
      return { ...v, entries: v.entries.map((e) => ({ ...e, value: walk(e.value) })) };
    }
    if (v.kind === "seq") return { ...v, items: v.items.map(walk) };
    if (typeof v.value !== "string" || !v.value.includes("$")) return v;
    try {
      const r = expand(v.value, env);
      for (const name of r.unset) warnUnset(name, v.pos, diags, warned);
      return { kind: "scalar", value: r.value, pos: v.pos, interpolated: true };
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      diags.error(
        v.pos,
        e.message,
        e.message.startsWith("required")
          ? "set the variable in the environment, in .env beside the file, or with --env-file"
          : "write $$ for a literal $, and close every ${ with }",
      );
      return v;
    }
  };
  return walk(tree);
}

function warnUnset(name: string, pos: SourcePos, diags: Diagnostics, warned: Set<string>): void {
  if (warned.has(name)) return;
  warned.add(name);
  diags.warn(pos, `The "${name}" variable is not set. Defaulting to a blank string.`);
}

/**
 * Parses a `.env` file as Compose does: `KEY=VALUE` lines, optional `export `, `#` comments,
 * single quotes literal, double quotes with `\n`-style escapes and `${VAR}` expansion, unquoted
 * values trimmed with a trailing ` #comment` removed and `${VAR}` expanded; `KEY` alone takes the
 * value from `env`. Earlier keys are visible to later values.
 *
 * @example
 * ```ts
 * parseDotEnv("PORT=8080\nURL=http://web:${PORT}\n", {}); // { PORT: "8080", URL: "http://web:8080" }
 * ```
 */
export function parseDotEnv(text: string, env: Environment): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("export ")) line = line.slice(7).trim();
    const eq = line.search(/[=:]/);
    if (eq < 0) {
      if (Object.hasOwn(env, line)) out[line] = env[line];
      continue;
    }
    const key = line.slice(0, eq).trim();
    let raw = line.slice(eq + 1).trim();
    const scope = { ...env, ...out };
    const quote = raw[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may span lines until its closing quote.
      while (!closes(raw, quote) && i + 1 < lines.length) raw += "\n" + lines[++i];
      const body = raw.slice(1, raw.lastIndexOf(quote) > 0 ? raw.lastIndexOf(quote) : undefined);
      out[key] = quote === "'" ? body : safeExpand(unescape(body), scope);
      continue;
    }
    const comment = raw.search(/\s#/);
    if (comment >= 0) raw = raw.slice(0, comment).trim();
    out[key] = safeExpand(raw, scope);
  }
  return out;
}

function closes(raw: string, quote: string): boolean {
  for (let i = 1; i < raw.length; i++) {
    if (raw[i] === "\\" && quote === '"') i++;
    else if (raw[i] === quote) return true;
  }
  return false;
}

function unescape(s: string): string {
  return s.replace(
    /\\([nrt"\\$])/g,
    (_, c: string) => c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c === "$" ? "$$" : c,
  );
}

function safeExpand(text: string, env: Environment): string {
  try {
    return expand(text, env).value;
  } catch {
    return text;
  }
}
