/**
 * Expectation + observation → pass/fail and, for failures, the likely cause. Pure.
 *
 * @module
 */

import type { Expectation, Expected, Observed } from "./types.ts";

/** The verdict on one expectation. */
export interface Verdict {
  pass: boolean;
  /** The likely cause of a failure, for people; "" when passing. */
  hint: string;
}

const firstLabel = (name: string) => name.replace(/\.$/, "").split(".")[0].toLowerCase();

/**
 * Whether a PTR answer names one of `names`: as a whole (implied rows expect the full name, e.g.
 * `shop-web-1.shop_front`) or by its first label (an explicit check names a container).
 */
function ptrMatches(answers: string[], names: string[]): boolean {
  const wanted = names.map((n) => n.toLowerCase());
  const whole = (a: string) => a.replace(/\.$/, "").toLowerCase();
  return answers.some((a) => wanted.includes(whole(a)) || wanted.includes(firstLabel(a)));
}

function sameSet(a: string[], b: string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Why a probe that should have landed did not. */
function missHint(e: Expectation, o: Observed): string {
  const port = e.kind === "port";
  switch (o.kind) {
    case "refused":
      if (e.probe.kind === "dns") {
        return `refused: nothing listens on ${
          e.probe.server ?? "127.0.0.11:53"
        } (DNS listener down?)`;
      }
      return port
        ? "refused: nothing listens behind the port (DNAT rule missing? responder down?)"
        : "the address answers but nothing listens on the port (responder down?)";
    case "timeout":
      return port
        ? "no answer: DNAT rule missing, or FORWARD drops it?"
        : e.probe.kind === "dns"
        ? "no DNS answer: DNS listener down?"
        : "no answer: link down, firewall drop, or no ARP reply?";
    case "unreachable":
      return `no route: ${o.detail}`;
    case "wrong-answer":
      return `something else answers there: ${o.detail}`;
    case "answered":
      return `answered by "${o.by}" instead${port ? ": DNAT to the wrong container?" : ""}`;
    case "error":
      return `probe failed: ${o.message}`;
    default:
      return "unexpected observation";
  }
}

/**
 * Judges an observation against an expectation.
 *
 * @example
 * ```ts
 * judge(exp, { kind: "answered", by: "web" }); // { pass: true, hint: "" }
 * ```
 */
export function judge(e: Expectation, o: Observed): Verdict {
  const ok = { pass: true, hint: "" };
  const fail = (hint: string) => ({ pass: false, hint });
  if (o.kind === "error") return fail(`probe failed: ${o.message}`);
  const x: Expected = e.expect;
  switch (x.kind) {
    case "answeredBy":
      if (o.kind === "answered" && o.by === x.container) return ok;
      return fail(missHint(e, o));
    case "open":
      if (o.kind === "answered" || o.kind === "open") return ok;
      return fail(missHint(e, o));
    case "closed":
      if (o.kind === "refused" || o.kind === "timeout" || o.kind === "unreachable") return ok;
      return fail(
        e.kind === "port"
          ? "reachable although it must not be: a DNAT rule without the address binding?"
          : "reachable although it must be closed",
      );
    case "unreachable":
      if (o.kind === "timeout" || o.kind === "unreachable") return ok;
      if (o.kind === "refused") {
        return fail(
          "a host answered with a reset: the address is reachable (isolation rule missing?)",
        );
      }
      return fail(
        e.probe.kind === "icmp" && e.id.includes("underlay")
          ? "the internal network reaches the underlay (a route or MASQUERADE it must not have?)"
          : "isolation broken: reached (isolation rule missing, or networks connected?)",
      );
    case "addresses":
    case "nxdomain":
    case "ptr":
    case "srv": {
      if (o.kind !== "dns") return fail(missHint(e, o));
      if (x.kind === "nxdomain") {
        if (o.rcode === "NXDOMAIN") return ok;
        return fail(
          o.answers.length
            ? `resolves to ${o.answers.join(", ")}: the name leaks across networks (DNS scoping)`
            : `got ${o.rcode} instead of NXDOMAIN`,
        );
      }
      if (o.rcode !== "NOERROR") {
        return fail(`got ${o.rcode}: the name is missing from the records (scoping, alias?)`);
      }
      if (x.kind === "addresses") {
        if (sameSet(o.answers, x.addresses)) return ok;
        return fail(`wrong addresses: got [${o.answers.join(", ")}]`);
      }
      if (x.kind === "ptr") {
        if (ptrMatches(o.answers, x.names)) return ok;
        return fail(`PTR names [${o.answers.join(", ")}], not ${x.names.join(", ")}`);
      }
      const targets = o.answers.map((a) => firstLabel(a.slice(0, a.lastIndexOf(":"))));
      const ports = o.answers.map((a) => Number(a.slice(a.lastIndexOf(":") + 1)));
      if (o.answers.length && sameSet(targets, x.targets) && ports.every((p) => p === x.port)) {
        return ok;
      }
      return fail(`SRV answers [${o.answers.join(", ")}]`);
    }
    case "interfaces": {
      if (o.kind !== "interfaces") return fail(missHint(e, o));
      const missing = x.names.filter((n) => !o.names.includes(n));
      const extra = x.exact ? o.names.filter((n) => !x.names.includes(n)) : [];
      if (!missing.length && !extra.length) return ok;
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.join(", ")}`);
      if (extra.length) parts.push(`unexpected ${extra.join(", ")}`);
      return fail(parts.join("; "));
    }
    case "measure":
      if (o.kind === "measured" && o.value >= x.min && o.value <= x.max) return ok;
      return fail(
        o.kind === "measured" ? `measured ${o.value}, outside ${x.text}` : missHint(e, o),
      );
  }
}
