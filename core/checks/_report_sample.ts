/**
 * A small check report for the report-format unit tests: one pass, one timeout, one refused port.
 *
 * @module
 */

import { judge } from "./judge.ts";
import type { CheckReport, Expectation, Observed } from "./types.ts";

/** An expectation of `web` reaching `api`, with `over` replacing fields. */
export function exp(id: string, over: Partial<Expectation> = {}): Expectation {
  return {
    id,
    kind: "reach",
    source: "web",
    target: "api 172.20.0.3:80 (front)",
    protocol: "tcp",
    probe: { kind: "tcp", netns: "t-web", address: "172.20.0.3", port: 80, responder: true },
    expect: { kind: "answeredBy", container: "api" },
    description: "web reaches api",
    containers: ["web", "api"],
    explicit: false,
    ...over,
  };
}

export function report(): CheckReport {
  const cases: [Expectation, Observed][] = [
    [exp("reach:web->api"), { kind: "answered", by: "api" }],
    [exp("reach:web->db", { target: `db <&> "x"` }), { kind: "timeout" }],
    [
      exp("port:outside->h1:8080", { kind: "port", source: "outside(h2)" }),
      { kind: "refused" },
    ],
  ];
  return {
    lab: "shop",
    results: cases.map(([e, o]) => ({ expectation: e, observed: o, ...judge(e, o) })),
    probes: 3,
    elapsedMs: 12.4,
    notes: ["something was not checked"],
    causes: [],
  };
}
