/**
 * Re-applying a host's firewall to a running lab. `iptables-restore --noflush` flushes the user
 * chains a ruleset declares (`:DOCKER - [0:0]`) but only APPENDS to built-in chains, so loading
 * the full ruleset a second time would duplicate every `-A FORWARD`/`-A POSTROUTING` line. The
 * reload text therefore flushes, inside the same atomic table commit, each built-in chain the
 * ruleset writes to, and leaves `DOCKER-USER` alone (it is the user's chain: Docker never
 * rewrites it, and neither does a reload).
 *
 * @module
 */

import { CHAINS } from "./rules.ts";

/** Built-in chains per table. */
const BUILTIN: Record<string, string[]> = {
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  raw: ["PREROUTING", "OUTPUT"],
};

/**
 * Turns an `iptables-restore --noflush` ruleset (as `hostRuleset` makes it) into one that can be
 * loaded again over itself: per table, `-F <chain>` for every built-in chain it appends to (after
 * the chain declarations, before the first rule), and no declaration of or rule in `DOCKER-USER`
 * (so rules users put there survive).
 *
 * Equivalent to: `iptables -F FORWARD; iptables -t nat -F POSTROUTING; …` followed by the rules,
 * but committed atomically per table.
 *
 * @example
 * ```ts
 * await applyFirewall(host.netns, reloadRuleset(hostRuleset(model, host.name)));
 * ```
 */
export function reloadRuleset(rules: string): string {
  const user = CHAINS.user;
  const out: string[] = [];
  let table: string | null = null;
  let body: string[] = [];
  const flushTable = () => {
    if (table === null) return;
    const builtins = BUILTIN[table] ?? [];
    const written = new Set<string>();
    for (const line of body) {
      const m = /^-[AI] (\S+)/.exec(line);
      if (m && builtins.includes(m[1])) written.add(m[1]);
    }
    const firstRule = body.findIndex((l) => /^-[AIDRF] /.test(l));
    const at = firstRule < 0 ? body.length : firstRule;
    const flushes = builtins.filter((c) => written.has(c)).map((c) => `-F ${c}`);
    out.push(...body.slice(0, at), ...flushes, ...body.slice(at));
    body = [];
  };
  for (const line of rules.split("\n")) {
    if (line.startsWith("*")) {
      out.push(line);
      table = line.slice(1).trim();
      continue;
    }
    if (table === null) {
      out.push(line);
      continue;
    }
    if (line.trim() === "COMMIT") {
      flushTable();
      table = null;
      out.push(line);
      continue;
    }
    if (line.startsWith(`:${user} `) || line.startsWith(`-A ${user} `)) continue;
    body.push(line);
  }
  flushTable();
  return out.join("\n");
}
