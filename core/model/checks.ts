/**
 * Explicit checks (`checks:`): reachability `{from, to, expect}` and DNS `{dns, from, expect, type}`,
 * with every name they mention checked against the lab.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./schema.ts";
import type { CheckExpect, CheckSpec, Protocol } from "./types.ts";
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
  const targets = [...names.containers, ...names.services, ...names.hosts, ...names.aliases];
  (raw ?? []).forEach((c, i) => {
    if (c === undefined || isMeasureExpect(c.expect)) return; // measured: core/model/measure.ts
    const path = ["checks", i];
    const pos = positions.of(path);
    let ok = true;
    const bad = (key: string, message: string, hint: string) => {
      diags.error(positions.of([...path, key]), message, hint);
      ok = false;
    };
    if (c.dns === undefined && c.to === undefined) {
      diags.error(
        pos,
        "a check needs `to` (reachability) or `dns` (name resolution)",
        'e.g. { from: web, to: "api:8000", expect: open } or { dns: api, from: web, expect: nxdomain }',
      );
      return;
    }
    if (c.dns !== undefined && c.to !== undefined) {
      diags.error(pos, "a check cannot have both `to` and `dns`", "split it into two checks");
      return;
    }
    if (c.from === undefined) {
      diags.error(pos, "the check has no `from`", "add from: <container>, a host name or outside");
      return;
    }
    if (c.expect === undefined) {
      diags.error(pos, "the check has no `expect`", "add expect: open | closed | unreachable | …");
      return;
    }
    const isDns = c.dns !== undefined;
    const fromOk = names.containers.includes(c.from) ||
      (!isDns && (names.hosts.includes(c.from) || c.from === "outside"));
    if (!fromOk) {
      const cands = isDns ? names.containers : [...names.containers, ...names.hosts, "outside"];
      const svc = names.services.includes(c.from)
        ? ` ("${c.from}" is a replicated service: name one replica, e.g. ${c.from}-1)`
        : suggestion(c.from, cands);
      bad(
        "from",
        `check source "${c.from}" is not a container${isDns ? "" : ", host or outside"}${svc}`,
        isDns
          ? "DNS checks run inside a container: use a container name"
          : "use a container name, a host name, or outside",
      );
    }
    let expect: CheckExpect | null = null;
    if (Array.isArray(c.expect)) {
      const addrs = c.expect.filter((x): x is string => x !== undefined);
      if (!isDns || (c.type ?? "A") === "A") {
        const wrong = addrs.find((a) => parseIp(a) === null);
        if (wrong !== undefined) {
          bad("expect", `expected address "${wrong}" is not an IPv4 address`, "e.g. [172.20.0.10]");
        }
      }
      if (!isDns) {
        bad(
          "expect",
          "a list of addresses can only be expected from a dns check",
          "use open, closed, unreachable or the name of the container that answers",
        );
      }
      expect = { kind: "addresses", addresses: addrs };
    } else if (KEYWORDS.includes(c.expect)) {
      if (c.expect === "nxdomain" && !isDns) {
        bad(
          "expect",
          "nxdomain can only be expected from a dns check",
          "use open, closed or unreachable",
        );
      }
      if (isDns && c.expect !== "nxdomain") {
        bad(
          "expect",
          `a dns check cannot expect ${c.expect}`,
          "expect nxdomain or a list of addresses",
        );
      }
      expect = { kind: c.expect as "open" | "closed" | "unreachable" | "nxdomain" };
    } else if (isDns && parseIp(c.expect) !== null) {
      expect = { kind: "addresses", addresses: [c.expect] };
    } else if (names.containers.includes(c.expect)) {
      expect = { kind: "answeredBy", container: c.expect };
    } else {
      bad(
        "expect",
        `unknown expectation "${c.expect}": not a keyword or a container` +
          suggestion(c.expect, [...KEYWORDS, ...names.containers]),
        isDns
          ? "expect nxdomain, an address or a list of addresses"
          : "expect open, closed, unreachable, or the container that should answer",
      );
    }
    if (isDns) {
      const name = c.dns!;
      if (name.trim() === "") bad("dns", "the dns check has an empty name", "e.g. dns: web");
      if (!ok || !expect) return;
      out.push({
        kind: "dns",
        from: c.from,
        name,
        type: c.type ?? "A",
        expect,
        pos,
      });
      return;
    }
    const to = String(c.to);
    let target = to;
    let protocol: Protocol | "icmp" = "icmp";
    const m = /^(.+):(\d+)(?:\/([a-z]+))?$/.exec(to);
    if (m) {
      target = m[1];
      const port = Number(m[2]);
      if (port < 1 || port > 65535) {
        bad("to", `check target "${to}": port ${port} is outside 1-65535`, "use a port 1-65535");
      }
      const proto = m[3] ?? "tcp";
      if (!["tcp", "udp", "sctp"].includes(proto)) {
        bad("to", `check target "${to}": invalid proto: ${proto}`, "use tcp, udp or sctp");
      }
      protocol = proto as Protocol;
    } else if (to.includes("/") || to.includes(":")) {
      bad(
        "to",
        `check target "${to}" is not name:port[/proto], ip:port or a bare name`,
        'e.g. "web:80"',
      );
    }
    if (c.type !== undefined) {
      bad("type", "`type` belongs to dns checks", "remove type, or make it a dns check");
    }
    if (parseIp(target) === null && ok && !targets.includes(target)) {
      bad(
        "to",
        `check target "${target}" is not a container, service, host or alias of this lab` +
          suggestion(target, targets),
        "use a name defined in this file, or an IPv4 address",
      );
    }
    if (!ok || !expect) return;
    out.push({ kind: "reach", from: c.from, to, protocol, expect, pos });
  });
  return out;
}
