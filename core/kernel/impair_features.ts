/**
 * What the kernel offers for impairments, probed once in a throwaway namespace: tbf (rate) is
 * required where a rate is set; netem is only reported (nslab delays with its own relay, so a
 * kernel without netem still delays — and `link ls` says which mechanism is used).
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { UnsupportedError } from "../errors.ts";
import { probeInThrowawayNetns } from "./features.ts";

/**
 * Whether `tc qdisc add dev lo root KIND ARGS…` works here (probed once per kind).
 * Equivalent to: `ip netns add T; tc -n T qdisc add dev lo root netem delay 1ms; ip netns del T`.
 */
export function hasQdisc(kind: "netem" | "tbf", args: string[]): boolean {
  return probeInThrowawayNetns(`qdisc-${kind}`, [[
    "qdisc",
    "add",
    "dev",
    "lo",
    "root",
    kind,
    ...args,
  ]], "tc");
}

/** netem (the kernel's delay queue): reported, not used. */
export function hasNetem(): boolean {
  return hasQdisc("netem", ["delay", "1ms"]);
}

/** tbf (token bucket): how nslab limits rates. */
export function hasTbf(): boolean {
  return hasQdisc("tbf", ["rate", "1mbit", "burst", "4096", "latency", "50ms"]);
}

/** How delay is made on this machine, for people (`nslab link ls`, docs). */
export function delayMechanism(): string {
  return hasNetem()
    ? "userspace relay (AF_PACKET; netem exists here but nslab uses one mechanism everywhere)"
    : "userspace relay (AF_PACKET; this kernel has no netem)";
}

/** Refuses impairments this kernel cannot build, naming what is missing. */
export function checkImpairFeatures(model: Model): void {
  const rated = [
    ...model.hosts.filter((h) => h.impair?.rateBit !== undefined).map((h) => h.name),
    ...model.containers.flatMap((c) =>
      c.endpoints.filter((e) => e.impair?.rateBit !== undefined).map((e) =>
        `${c.name}:${e.network}`
      )
    ),
  ];
  if (rated.length > 0 && !hasTbf()) {
    throw new UnsupportedError(
      `Cannot limit the rate of ${rated.map((n) => `"${n}"`).join(", ")}: this kernel has ` +
        `no tbf qdisc (sch_tbf), and nslab will not pretend to shape; remove rate, or load ` +
        `sch_tbf ("modprobe sch_tbf")`,
    );
  }
}
