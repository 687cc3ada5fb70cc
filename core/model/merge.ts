/**
 * Compose's merge rules on located trees, for `extends` (a service over its base): mappings merge
 * key by key with the overriding side winning, sequences that Compose treats as sets (ports,
 * expose, dns, extra_hosts, links …) are unions, other sequences and scalars are replaced.
 * `networks` and `environment` in list form are read as mappings first, as Compose does.
 *
 * @module
 */

import type { Entry, Located } from "./source.ts";

/** Service keys whose lists Compose merges as unions (compose-spec "merge" §sequences). */
const UNION_KEYS = new Set([
  "ports",
  "expose",
  "dns",
  "dns_search",
  "dns_opt",
  "extra_hosts",
  "links",
  "external_links",
  "cap_add",
  "cap_drop",
  "devices",
  "security_opt",
  "volumes",
  "secrets",
  "configs",
  "env_file",
  "tmpfs",
  "profiles",
  "aliases",
]);

/** Keys whose list form (`[a, b]`, `["K=V"]`) is a mapping to merge. */
const LIST_AS_MAP = new Set(["networks", "environment", "labels", "sysctls", "extra_hosts"]);

/** Value of `key` in a located map, or undefined. */
export function field(map: Located | undefined, key: string): Located | undefined {
  if (map?.kind !== "map") return undefined;
  return map.entries.find((e) => e.key === key)?.value;
}

/** The map without `keys`. */
export function without(map: Located, ...keys: string[]): Located {
  if (map.kind !== "map") return map;
  return { ...map, entries: map.entries.filter((e) => !keys.includes(e.key)) };
}

/** The map with `key` set to `value` (replacing, or appended). */
export function withField(map: Located, key: string, value: Located): Located {
  if (map.kind !== "map") return map;
  const i = map.entries.findIndex((e) => e.key === key);
  if (i < 0) return { ...map, entries: [...map.entries, { key, keyPos: value.pos, value }] };
  const entries = [...map.entries];
  entries[i] = { ...entries[i], value };
  return { ...map, entries };
}

/** A list given as a mapping: `[a, b]` → `{a: null, b: null}`, `["K=V"]` → `{K: "V"}`. */
function listToMap(v: Located, key: string): Located {
  if (v.kind !== "seq") return v;
  const entries: Entry[] = [];
  for (const item of v.items) {
    if (item.kind !== "scalar" || item.value === null) continue;
    const text = String(item.value);
    const sep = key === "networks"
      ? -1
      : key === "extra_hosts"
      ? text.search(/[=:]/)
      : text.indexOf("=");
    const k = sep < 0 ? text : text.slice(0, sep);
    const value: Located = {
      kind: "scalar",
      value: sep < 0 ? null : text.slice(sep + 1),
      pos: item.pos,
    };
    entries.push({ key: k, keyPos: item.pos, value });
  }
  return { kind: "map", entries, pos: v.pos };
}

function sameScalar(a: Located, b: Located): boolean {
  return a.kind === "scalar" && b.kind === "scalar" && a.value === b.value;
}

/**
 * `override` merged over `base` (both located), as Compose merges an extending service over the
 * service it extends. `key` is the name of the field holding them (it selects the list rule).
 *
 * @example
 * ```ts
 * merge(baseService, localService, ""); // ports united, environment merged, command replaced
 * ```
 */
export function merge(base: Located, override: Located, key: string): Located {
  if (LIST_AS_MAP.has(key) && (base.kind === "seq" || override.kind === "seq")) {
    if (base.kind !== override.kind || key !== "extra_hosts") {
      return merge(listToMap(base, key), listToMap(override, key), `${key}:map`);
    }
  }
  if (base.kind === "map" && override.kind === "map") {
    const entries: Entry[] = base.entries.map((e) => ({ ...e }));
    for (const e of override.entries) {
      const i = entries.findIndex((x) => x.key === e.key);
      if (i < 0) entries.push(e);
      else if (e.value.kind === "scalar" && e.value.value === null && key.startsWith("networks")) {
        continue; // `front:` with no body keeps the base's settings for front
      } else entries[i] = { ...e, value: merge(entries[i].value, e.value, e.key) };
    }
    return { ...override, entries };
  }
  if (base.kind === "seq" && override.kind === "seq" && UNION_KEYS.has(key)) {
    const items = [...base.items];
    for (const item of override.items) {
      if (!items.some((x) => sameScalar(x, item))) items.push(item);
    }
    return { ...override, items };
  }
  return override;
}
