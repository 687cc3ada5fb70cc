/**
 * Applies a host's firewall: one `iptables-restore --noflush` per host namespace, the whole
 * ruleset on stdin (each table is committed atomically by the kernel).
 *
 * @module
 */

import { NslabError, UnsupportedError } from "../errors.ts";
import { assertNetnsName, NETNS_RUN_DIR } from "./netns/netns.ts";
import type { Family } from "../plan/firewall/family.ts";

/** Applying a firewall failed; names the namespace and, when iptables says which, the rule. */
export class FirewallError extends NslabError {
  /** Namespace the rules were meant for. */
  readonly netns: string;
  /** 1-based line of the ruleset iptables-restore rejected, or null when it did not say. */
  readonly line: number | null;
  /** The text of that line, or null. */
  readonly rule: string | null;
  constructor(message: string, netns: string, line: number | null, rule: string | null) {
    super(message, 1);
    this.name = "FirewallError";
    this.netns = netns;
    this.line = line;
    this.rule = rule;
  }
}

/** The restore tool of a family: `iptables-restore` or `ip6tables-restore`. */
export function restoreTool(family: Family): string {
  return family === "ipv6" ? "ip6tables-restore" : "iptables-restore";
}

/** The argv that applies a ruleset inside `netns` (stdin carries the rules). */
export function restoreArgs(netns: string, family: Family = "ipv4"): string[] {
  assertNetnsName(netns);
  return ["nsenter", `--net=${NETNS_RUN_DIR}/${netns}`, restoreTool(family), "--noflush", "-w"];
}

/**
 * The line iptables-restore complains about (`line 15 failed`, `Error occurred at line: 15`,
 * `line 15: RULE_APPEND failed`), or null.
 */
export function failedLine(stderr: string): number | null {
  const m = /line:? (\d+)/.exec(stderr);
  return m ? Number(m[1]) : null;
}

/**
 * Maps iptables-restore's complaint back to the ruleset: the rejected line, or — when the kernel
 * only refused the table at `COMMIT` — the first rule of that table that names the missing chain.
 */
export function culprit(
  rules: string,
  stderr: string,
): { line: number; text: string; table: string | null } | null {
  const reported = failedLine(stderr);
  const lines = rules.split("\n");
  if (reported === null || reported < 1 || reported > lines.length) return null;
  let table: string | null = null;
  let start = 0;
  for (let i = reported - 1; i >= 0; i--) {
    if (lines[i].startsWith("*")) {
      table = lines[i].slice(1).trim();
      start = i;
      break;
    }
  }
  const text = lines[reported - 1];
  if (text.trim() !== "COMMIT") return { line: reported, text, table };
  const chain = /Chain '([^']+)' does not exist/.exec(stderr)?.[1];
  if (chain) {
    for (let i = start; i < reported - 1; i++) {
      const words = lines[i].split(/\s+/);
      if (words[0] !== "-A") continue;
      const j = words.indexOf("-j");
      if (words[1] === chain || (j >= 0 && words[j + 1] === chain)) {
        return { line: i + 1, text: lines[i], table };
      }
    }
  }
  return { line: reported, text, table };
}

/**
 * Loads `rules` (iptables-restore input) into namespace `netns` without flushing what is there.
 * Equivalent to: `ip netns exec NS iptables-restore --noflush -w < rules`.
 *
 * @throws {FirewallError} with the namespace, iptables' message and the rejected rule's text.
 * @example
 * ```ts
 * await applyFirewall("shop-h1", hostRuleset(model, "h1"));
 * ```
 */
export async function applyFirewall(
  netns: string,
  rules: string,
  family: Family = "ipv4",
): Promise<void> {
  const [bin, ...args] = restoreArgs(netns, family);
  const tool = restoreTool(family);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(bin, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UnsupportedError(
        `Cannot apply the firewall of namespace "${netns}": "${bin}" is not installed; ` +
          `install it with "apt-get install util-linux"`,
      );
    }
    throw e;
  }
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(rules));
    await writer.close();
  } catch {
    // iptables-restore exited early (e.g. missing); its status and stderr say why.
  }
  const out = await child.output();
  if (out.success) return;
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (out.code === 127 || /failed to execute/.test(stderr)) {
    throw new UnsupportedError(
      `Cannot apply the firewall of namespace "${netns}": ${tool} is not installed ` +
        `(${stderr}); install it with "apt-get install iptables"`,
    );
  }
  const found = culprit(rules, stderr);
  const line = found?.line ?? null;
  const text = found?.text ?? null;
  const where = found === null
    ? ""
    : `\n  line ${found.line}${found.table ? ` (table ${found.table})` : ""}: ${found.text}`;
  throw new FirewallError(
    `Cannot apply the firewall of namespace "${netns}": ${tool} failed (exit ${out.code}): ` +
      `${stderr || "no message"}${where}\n` +
      `Tables committed before the failing one stay in place; "nslab down" removes the namespace ` +
      `and its rules. Check the rule above with "nslab plan".`,
    netns,
    line,
    text,
  );
}

/**
 * Throws a clear {@link UnsupportedError} unless `iptables-restore` and `nsenter` can run.
 * Equivalent to: `iptables-restore --version && nsenter --version`.
 */
export async function checkFirewallAvailable(): Promise<void> {
  const tools: [string, string][] = [["iptables-restore", "iptables"], ["nsenter", "util-linux"]];
  for (const [tool, pkg] of tools) {
    try {
      const out = await new Deno.Command(tool, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (!out.success) throw new Deno.errors.NotFound(tool);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      throw new UnsupportedError(
        `Cannot program published ports and isolation: "${tool}" is not installed on this ` +
          `machine; install it with "apt-get install ${pkg}"`,
      );
    }
  }
}
