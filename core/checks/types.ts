/**
 * The check engine's data: what must be true (expectations), how it is tested (probes), what was
 * seen (observations) and the report.
 *
 * All of it is plain JSON-serialisable data, so `--format json` prints it as is.
 *
 * @module
 */

/** Families of checks; `--only` selects by these (and by container names). */
export type CheckKind = "reach" | "isolation" | "dns" | "port" | "iface";

/** DNS record types the checks query. */
export type DnsType = "A" | "AAAA" | "PTR" | "SRV";

/**
 * One measurement, run inside `netns` (`""`: the machine's root namespace, used only to reach a
 * lab through its uplink).
 */
export type Probe =
  | {
    /** TCP connect; with `responder`, send a line and read the name that answers. */
    kind: "tcp";
    netns: string;
    address: string;
    port: number;
    responder: boolean;
  }
  | {
    /** One UDP datagram; the reply is the responder's name. */
    kind: "udp";
    netns: string;
    address: string;
    port: number;
  }
  | {
    /** ICMP echo request (raw socket inside the namespace). */
    kind: "icmp";
    netns: string;
    address: string;
  }
  | {
    /** A query to the embedded DNS at `server` (127.0.0.11:53 by default). */
    kind: "dns";
    netns: string;
    name: string;
    type: DnsType;
    server?: string;
  }
  | {
    /** The namespace's interface names. */
    kind: "iface";
    netns: string;
  }
  | {
    /** An explicit check that names nothing in the lab: it fails with `reason`, never skipped. */
    kind: "invalid";
    netns: string;
    reason: string;
  };

/** What an expectation requires of the observation. */
export type Expected =
  /** A responder answered with this container name (TCP/UDP). */
  | { kind: "answeredBy"; container: string }
  /** TCP connected / ICMP echo answered / UDP answered by anything. */
  | { kind: "open" }
  /** Not open: refused, timed out or unreachable. */
  | { kind: "closed" }
  /** No answer at all: timed out or unreachable (a refusal means something is there). */
  | { kind: "unreachable" }
  /** DNS: NOERROR with exactly these addresses (any order). */
  | { kind: "addresses"; addresses: string[] }
  /** DNS: NXDOMAIN. */
  | { kind: "nxdomain" }
  /** DNS PTR: one answer whose first label is one of `names`. */
  | { kind: "ptr"; names: string[] }
  /** DNS SRV: answers targeting exactly `targets` (first labels), all with `port`. */
  | { kind: "srv"; targets: string[]; port: number }
  /** Interfaces: exactly `names` (when `exact`) or at least `names`. */
  | { kind: "interfaces"; names: string[]; exact: boolean }
  /** A measured value in `[min, max]` (ms, percent, bit/s): core/checks/measure.ts. */
  | { kind: "measure"; metric: "rtt" | "loss" | "rate"; min: number; max: number; text: string };

/** One thing that must be true of the running lab. */
export interface Expectation {
  /** Stable id, e.g. `reach:web->api-1@back:tcp/8000`. */
  id: string;
  kind: CheckKind;
  /** Who probes: a container, a host, or `outside`. */
  source: string;
  /** What is probed, for people: `api-1 (172.20.0.3:8000/tcp)`, `dns api A`, `interfaces`. */
  target: string;
  /** `tcp`, `udp`, `icmp`, `dns` or `iface`. */
  protocol: "tcp" | "udp" | "icmp" | "dns" | "iface";
  probe: Probe;
  expect: Expected;
  /** One sentence for people. */
  description: string;
  /** Containers this expectation concerns (for `--only <container>`). */
  containers: string[];
  /** true when it comes from the file's `checks:`. */
  explicit: boolean;
}

/** What a probe saw. */
export type Observed =
  /** TCP/UDP: a responder answered with `by`. */
  | { kind: "answered"; by: string }
  /** TCP connected (no answer read) / ICMP echo reply / UDP reply. */
  | { kind: "open"; from?: string }
  /** TCP RST (connection refused). */
  | { kind: "refused" }
  /** Nothing came back before the deadline. */
  | { kind: "timeout" }
  /** ENETUNREACH, EHOSTUNREACH, a rejecting route or an ICMP unreachable. */
  | { kind: "unreachable"; detail: string }
  /** Something answered, but not in the expected protocol (closed without a name, garbage). */
  | { kind: "wrong-answer"; detail: string }
  /** A DNS response. `answers`: addresses (A), names (PTR) or `target:port` (SRV). */
  | { kind: "dns"; rcode: string; answers: string[] }
  /** Interface names in the namespace. */
  | { kind: "interfaces"; names: string[] }
  /** A measured value (ms, percent, bit/s): core/checks/measure.ts. */
  | { kind: "measured"; metric: "rtt" | "loss" | "rate"; value: number; detail: string }
  /** The probe could not be run at all (namespace missing, …). */
  | { kind: "error"; message: string };

/** One checked expectation. */
export interface CheckResult {
  expectation: Expectation;
  observed: Observed;
  pass: boolean;
  /** For failures: the likely cause ("no route", "DNAT rule missing?", …); "" when passing. */
  hint: string;
  /**
   * A negative result (unreachable, closed, NXDOMAIN) whose positive control failed or could not
   * be made: it proves nothing, so it fails (core/checks/controls.ts).
   */
  inconclusive?: boolean;
}

/** The outcome of `nslab check`. */
export interface CheckReport {
  lab: string;
  results: CheckResult[];
  /** Number of probes sent. */
  probes: number;
  elapsedMs: number;
  /** Things that were not checked, and why. */
  notes: string[];
  /** What the run saw that explains failures (neighbour overflow, a namespace gone, …). */
  causes: string[];
}
