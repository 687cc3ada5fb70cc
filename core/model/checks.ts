/**
 * Explicit checks (`checks:`): reachability `{from, to, expect}` and DNS `{dns, from, expect, type}`,
 * with every name they mention checked against the lab.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { CheckExpect, CheckSpec, Protocol, SourcePos } from "./types.ts";
import { parseIp } from "./ip.ts";
import { suggestion } from "./names.ts";
import { isMeasureExpect } from "./measure.ts";

/** A check entry as left by the shape check. */
export interface RawCheck {
  from?: string;
  to?: string;
  dns?: string;
  type?: "A" | "AAAA" | "PTR" | "SRV";
  expect?: string | (string | undefined)[] | Record<string, unknown>;
}

/** Names a check may mention. */
export interface CheckNames {
  containers: string[];
  /** Service names of replicated services (resolve to every replica). */
  services: string[];
  hosts: string[];
  /** Network aliases and `<name>.<network>` forms. */
  aliases: string[];
}

const KEYWORDS = ["open", "closed", "unreachable", "nxdomain"];

/** Reads `checks:`, reporting unknown names, bad targets and expectations. */
export function readChecks(
  raw: (RawCheck | undefined)[] | undefined,
  names: CheckNames,
  diags: Diagnostics,
  positions: Positions,
): CheckSpec[] {
  const out: CheckSpec[] = [];
  (raw ?? []).forEach((c, i) => {
    if (c === undefined || isMeasureExpect(c.expect)) return; // measured: core/model/measure.ts
    const problems = new CheckProblems(["checks", i], diags, positions);
    const check = readCheck({ ...c, expect: c.expect }, problems, names);
    if (check) out.push(check);
  });
  return out;
}

/** A reachability or DNS check entry: its `expect` is not a measurement's. */
type PlainCheck = Omit<RawCheck, "expect"> & { expect?: string | (string | undefined)[] };

/** A check entry that has every key it needs. */
type CompleteCheck = PlainCheck & { from: string; expect: string | (string | undefined)[] };

/** Reports the problems of one check entry; a check with any problem is not kept. */
class CheckProblems {
  /** Whether no problem was found so far. */
  ok = true;
  readonly path: (string | number)[];
  readonly #diags: Diagnostics;
  readonly #positions: Positions;

  constructor(path: (string | number)[], diags: Diagnostics, positions: Positions) {
    this.path = path;
    this.#diags = diags;
    this.#positions = positions;
  }

  /** Where the whole entry is. */
  get pos(): SourcePos {
    return this.#positions.of(this.path);
  }

  /** A problem with the entry as a whole. */
  entry(message: string, hint: string): void {
    this.#diags.error(this.pos, message, hint);
    this.ok = false;
  }

  /** A problem with one key of the entry. */
  bad(key: string, message: string, hint: string): void {
    this.#diags.error(this.#positions.of([...this.path, key]), message, hint);
    this.ok = false;
  }
}

/** One check entry read, or null when it has a problem (reported). */
function readCheck(c: PlainCheck, problems: CheckProblems, names: CheckNames): CheckSpec | null {
  if (!hasRequiredKeys(c, problems)) return null;
  const isDns = c.dns !== undefined;
  checkSource(c, isDns, names, problems);
  const expect = readExpect(c, isDns, names, problems);
  if (isDns) {
    const name = c.dns!;
    if (name.trim() === "") problems.bad("dns", "the dns check has an empty name", "e.g. dns: web");
    if (!problems.ok || !expect) return null;
    return { kind: "dns", from: c.from, name, type: c.type ?? "A", expect, pos: problems.pos };
  }
  const to = String(c.to);
  const { target, protocol } = readTarget(to, problems);
  if (c.type !== undefined) {
    problems.bad("type", "`type` belongs to dns checks", "remove type, or make it a dns check");
  }
  const targets = [...names.containers, ...names.services, ...names.hosts, ...names.aliases];
  if (parseIp(target) === null && problems.ok && !targets.includes(target)) {
    problems.bad(
      "to",
      `check target "${target}" is not a container, service, host or alias of this lab` +
        suggestion(target, targets),
      "use a name defined in this file, or an IPv4 address",
    );
  }
  if (!problems.ok || !expect) return null;
  return { kind: "reach", from: c.from, to, protocol, expect, pos: problems.pos };
}

/** Whether the entry has exactly one of `to`/`dns`, a `from` and an `expect` (reported if not). */
function hasRequiredKeys(c: PlainCheck, problems: CheckProblems): c is CompleteCheck {
  if (c.dns === undefined && c.to === undefined) {
    problems.entry(
      "a check needs `to` (reachability) or `dns` (name resolution)",
      'e.g. { from: web, to: "api:8000", expect: open } or { dns: api, from: web, expect: nxdomain }',
    );
  } else if (c.dns !== undefined && c.to !== undefined) {
    problems.entry("a check cannot have both `to` and `dns`", "split it into two checks");
  } else if (c.from === undefined) {
    problems.entry("the check has no `from`", "add from: <container>, a host name or outside");
  } else if (c.expect === undefined) {
    problems.entry("the check has no `expect`", "add expect: open | closed | unreachable | …");
  } else return true;
  return false;
}

/** `from` must be a container (or, for reachability, a host or `outside`). */
function checkSource(
  c: CompleteCheck,
  isDns: boolean,
  names: CheckNames,
  problems: CheckProblems,
): void {
  const fromOk = names.containers.includes(c.from) ||
    (!isDns && (names.hosts.includes(c.from) || c.from === "outside"));
  if (fromOk) return;
  const cands = isDns ? names.containers : [...names.containers, ...names.hosts, "outside"];
  const svc = names.services.includes(c.from)
    ? ` ("${c.from}" is a replicated service: name one replica, e.g. ${c.from}-1)`
    : suggestion(c.from, cands);
  problems.bad(
    "from",
    `check source "${c.from}" is not a container${isDns ? "" : ", host or outside"}${svc}`,
    isDns
      ? "DNS checks run inside a container: use a container name"
      : "use a container name, a host name, or outside",
  );
}

/**
 * `expect`: a keyword, a list of addresses (dns checks), one address (dns checks) or the
 * container that should answer; null when it is none of these.
 */
function readExpect(
  c: CompleteCheck,
  isDns: boolean,
  names: CheckNames,
  problems: CheckProblems,
): CheckExpect | null {
  if (Array.isArray(c.expect)) return readExpectedAddresses(c.expect, isDns, c.type, problems);
  if (KEYWORDS.includes(c.expect)) return readExpectKeyword(c.expect, isDns, problems);
  if (isDns && parseIp(c.expect) !== null) return { kind: "addresses", addresses: [c.expect] };
  if (names.containers.includes(c.expect)) return { kind: "answeredBy", container: c.expect };
  problems.bad(
    "expect",
    `unknown expectation "${c.expect}": not a keyword or a container` +
      suggestion(c.expect, [...KEYWORDS, ...names.containers]),
    isDns
      ? "expect nxdomain, an address or a list of addresses"
      : "expect open, closed, unreachable, or the container that should answer",
  );
  return null;
}

/** A list of expected addresses: only a dns check has one; for A records they are IPv4. */
function readExpectedAddresses(
  list: (string | undefined)[],
  isDns: boolean,
  type: RawCheck["type"],
  problems: CheckProblems,
): CheckExpect {
  const addrs = list.filter((x): x is string => x !== undefined);
  if (!isDns || (type ?? "A") === "A") {
    const wrong = addrs.find((a) => parseIp(a) === null);
    if (wrong !== undefined) {
      problems.bad(
        "expect",
        `expected address "${wrong}" is not an IPv4 address`,
        "e.g. [172.20.0.10]",
      );
    }
  }
  if (!isDns) {
    problems.bad(
      "expect",
      "a list of addresses can only be expected from a dns check",
      "use open, closed, unreachable or the name of the container that answers",
    );
  }
  return { kind: "addresses", addresses: addrs };
}

/** A keyword: `nxdomain` belongs to dns checks, the others to reachability checks. */
function readExpectKeyword(keyword: string, isDns: boolean, problems: CheckProblems): CheckExpect {
  if (keyword === "nxdomain" && !isDns) {
    problems.bad(
      "expect",
      "nxdomain can only be expected from a dns check",
      "use open, closed or unreachable",
    );
  }
  if (isDns && keyword !== "nxdomain") {
    problems.bad(
      "expect",
      `a dns check cannot expect ${keyword}`,
      "expect nxdomain or a list of addresses",
    );
  }
  return { kind: keyword as "open" | "closed" | "unreachable" | "nxdomain" };
}

/** `to` as `name:port[/proto]`, `ip:port` or a bare name (ICMP). */
function readTarget(
  to: string,
  problems: CheckProblems,
): { target: string; protocol: Protocol | "icmp" } {
  const m = /^(.+):(\d+)(?:\/([a-z]+))?$/.exec(to);
  if (!m) {
    if (to.includes("/") || to.includes(":")) {
      problems.bad(
        "to",
        `check target "${to}" is not name:port[/proto], ip:port or a bare name`,
        'e.g. "web:80"',
      );
    }
    return { target: to, protocol: "icmp" };
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) {
    problems.bad(
      "to",
      `check target "${to}": port ${port} is outside 1-65535`,
      "use a port 1-65535",
    );
  }
  const proto = m[3] ?? "tcp";
  if (!["tcp", "udp", "sctp"].includes(proto)) {
    problems.bad("to", `check target "${to}": invalid proto: ${proto}`, "use tcp, udp or sctp");
  }
  return { target: m[1], protocol: proto as Protocol };
}
