/**
 * Every measured subject of the bench, as one list the rounds walk through (bench/main.ts). A
 * subject's `run` makes one sample per round (some several, e.g. a DNS run yields every server's
 * queries/s); the rows are built from all rounds' samples at the end.
 *
 * @module
 */

import { multiHost, singleBridge } from "./_topologies.ts";
import { kernelOnce, type Method } from "./kernel.ts";
import { benchDns, benchDockerDns, type BenchRow as DnsRow } from "./dns.ts";
import { mininetPingall, mininetUpDown } from "./mininet.ts";
import { type DockerRun, dockerUpDown } from "./docker.ts";
import {
  cliFirstCheck,
  cliUpDown,
  inProcessRssMB,
  ipPlanUpDown,
  libraryUp,
  libraryUpDown,
} from "./lab.ts";
import { runChecks } from "../core/checks/run.ts";
import { RELAYED, relayRound } from "./relay.ts";
import type { Sample } from "./result.ts";
export type { Sample } from "./result.ts";

/** Lab sizes of a run: SPEC's, or small ones for `--quick`. */
export interface Sizes {
  kernel: number[];
  small: number;
  big: number;
  hosts: number;
  /** The scale case: containers over hosts. */
  huge: number;
  hugeHosts: number;
  /** Probe throughput is also reported at this size. */
  probes: number;
  /** Hosts of Mininet's `pingall`, compared per probe (its n·(n−1) pings are sequential). */
  pingall: number;
  dnsSeconds: number;
}

/** The sizes of a full run, or of a quick one. */
export function sizes(quick: boolean): Sizes {
  return quick
    ? {
      kernel: [20],
      small: 20,
      big: 40,
      hosts: 4,
      huge: 200,
      hugeHosts: 8,
      probes: 30,
      pingall: 10,
      dnsSeconds: 1,
    }
    : {
      kernel: [100, 500],
      small: 100,
      big: 500,
      hosts: 4,
      huge: 4000,
      hugeHosts: 32,
      probes: 300,
      pingall: 20,
      dnsSeconds: 5,
    };
}

/** A thing measured once per round. */
export interface Subject {
  case: string;
  /** Other cases its samples also feed (the CLI up of 500 containers gives the memory row). */
  also?: string[];
  /** Row name (a subject that yields several rows names the first). */
  name: string;
  /**
   * Measured in the first round only: Mininet's `pingall` is sequential pings (~60 ms each on a
   * loaded 2-CPU VM: 100 hosts did not finish in 10 minutes), steady from run to run.
   */
  once?: boolean;
  run(): Promise<Sample[]>;
}

/** What the subjects need from outside: the Docker image (null: none) and Mininet's absence. */
export interface Environment {
  dockerRun: DockerRun;
  image: string | null;
  mininetSkip: string | null;
  /** DNS rows of every round, for results.json. */
  dnsDetail: DnsRow[];
}

const one = (c: string, subject: string, value: number, parts?: Record<string, number>) => [
  { case: c, subject, value, parts },
];

const KERNEL_SUBJECT: Record<Method, string> = {
  "nslab (netlink shim)": "nslab (netlink shim)",
  "ip per object (bash)": "ip per object script",
  "ip -batch (bash)": "ip -batch script",
};

/** One way of making bench/kernel.ts's objects (n namespaces, veths, addresses), as case `c`. */
function kernelSubject(c: string, n: number, m: Method): Subject {
  return {
    case: c,
    name: KERNEL_SUBJECT[m],
    run: async () => {
      const k = await kernelOnce(m, n);
      return one(c, KERNEL_SUBJECT[m], k.create + k.del, { create: k.create, delete: k.del });
    },
  };
}

function kernelSubjects(s: Sizes): Subject[] {
  return s.kernel.flatMap((n) =>
    (Object.keys(KERNEL_SUBJECT) as Method[]).map((m) => kernelSubject(`kernel${n}`, n, m))
  );
}

/** The CLI up+down of a lab, with the supervisor's RSS after up as a second row (`memCase`). */
function cliSubject(
  c: string,
  make: (name: string) => ReturnType<typeof singleBridge>,
  memCase?: string,
): Subject {
  return {
    case: c,
    also: memCase ? [memCase] : [],
    name: "nslab up + down (CLI)",
    run: async () => {
      const r = await cliUpDown(make);
      const out = one(c, "nslab up + down (CLI)", r.totalMs, { up: r.upMs, down: r.downMs });
      if (memCase) out.push(...one(memCase, "nslab supervisor (CLI, detached)", r.supervisorRssMB));
      return out;
    },
  };
}

type Make = (name: string) => ReturnType<typeof singleBridge>;

/** An up+down subject named `name`, timed by `measure` (library, or the ip -batch baseline). */
function upDownSubject(
  c: string,
  name: string,
  measure: (make: Make) => Promise<{ upMs: number; downMs: number; totalMs: number }>,
  make: Make,
): Subject {
  return {
    case: c,
    name,
    run: async () => {
      const r = await measure(make);
      return one(c, name, r.totalMs, { up: r.upMs, down: r.downMs });
    },
  };
}

const libSubject = (c: string, make: Make) =>
  upDownSubject(c, "nslab up+down (library)", libraryUpDown, make);
const ipSameSubject = (c: string, make: Make) =>
  upDownSubject(c, "ip -batch, same objects", ipPlanUpDown, make);

function upSubjects(s: Sizes, env: Environment): Subject[] {
  const small = (name: string) => singleBridge(s.small, name);
  const big = (name: string) => multiHost(s.big, s.hosts, name);
  const huge = (name: string) => multiHost(s.huge, s.hugeHosts, name);
  const out: Subject[] = [
    cliSubject("up100", small),
    libSubject("up100", small),
    kernelSubject("up100", s.small, "ip -batch (bash)"),
    ipSameSubject("up100", small),
    kernelSubject("up100", s.small, "ip per object (bash)"),
    cliSubject("up500", big, "memory"),
    libSubject("up500", big),
    ipSameSubject("up500", big),
    {
      case: "memory",
      name: "nslab library process (in-process)",
      run: async () =>
        one("memory", "nslab library process (in-process)", await inProcessRssMB(s.big, s.hosts)),
    },
    cliSubject("up4000", huge, "memory4000"),
    ipSameSubject("up4000", huge),
  ];
  if (!env.mininetSkip) {
    out.push({
      case: "up100",
      name: "Mininet (mn lxbr, --test none)",
      run: async () => one("up100", "Mininet (mn lxbr, --test none)", await mininetUpDown(s.small)),
    });
  }
  if (env.image) {
    const image = env.image;
    out.push({
      case: "up100",
      name: `Docker (docker run ×${s.small})`,
      run: async () =>
        one(
          "up100",
          `Docker (docker run ×${s.small})`,
          await dockerUpDown(env.dockerRun, image, s.small),
        ),
    });
  }
  return out;
}

/**
 * The implied checks through the library on one lab per round: the reach matrix cold (first run
 * after up), warm, and every implied check; probes per second in the parts.
 */
async function libraryChecks(c: string, n: number, allImplied: boolean): Promise<Sample[]> {
  const lab = await libraryUp((name) => singleBridge(n, name));
  try {
    const cold = await runChecks(lab.model, { only: ["reach"] });
    const warm = await runChecks(lab.model, { only: ["reach"] });
    const rate = (ms: number, probes: number) => Math.round(probes / (ms / 1000));
    const out: Sample[] = [
      {
        case: c,
        subject: `nslab check: reach matrix, warm (library, ${n})`,
        value: warm.elapsedMs,
        parts: {
          "probes/s": rate(warm.elapsedMs, warm.probes),
          probes: warm.probes,
          failed: warm.results.filter((r) => !r.pass).length,
          "first run ms": cold.elapsedMs,
        },
      },
    ];
    if (allImplied) {
      const all = await runChecks(lab.model, { only: [] });
      out.push({
        case: c,
        subject: "nslab check: all implied (library)",
        value: all.elapsedMs,
        parts: { probes: all.probes, failed: all.results.filter((r) => !r.pass).length },
      });
    }
    return out;
  } finally {
    await lab.down();
  }
}

function checkSubjects(s: Sizes, env: Environment): Subject[] {
  const out: Subject[] = [
    {
      case: "checks",
      name: "nslab check --only reach, first run after up (CLI)",
      run: async () => {
        const r = await cliFirstCheck((name) => singleBridge(s.small, name));
        return one("checks", "nslab check --only reach, first run after up (CLI)", r.ms, {
          probes: r.probes,
          failed: r.failed,
        });
      },
    },
    { case: "checks", name: "library", run: () => libraryChecks("checks", s.small, true) },
    {
      case: "checks",
      name: "library (probes)",
      run: () => libraryChecks("checks", s.probes, false),
    },
  ];
  if (!env.mininetSkip) {
    out.push({
      case: "checks",
      name: `Mininet pingall (${s.pingall} hosts)`,
      once: true,
      run: async () => {
        const p = await mininetPingall(s.pingall);
        return one("checks", `Mininet pingall (${s.pingall} hosts)`, p.pingallMs, {
          probes: p.probes,
          "dropped %": p.droppedPct,
        });
      },
    });
  }
  return out;
}

const DNS_NAMES: Record<string, string> = {
  nslab: "nslab embedded DNS",
  docker: "Docker embedded DNS",
  dnsmasq: "dnsmasq",
};

function dnsSubjects(s: Sizes, env: Environment): Subject[] {
  const toSamples = (got: DnsRow[]): Sample[] => {
    env.dnsDetail.push(...got);
    const out: Sample[] = [];
    for (const g of got) {
      if (g.metric !== "qps") continue;
      const p99 = got.find((x) => x.subject === g.subject && x.metric.startsWith("p99"));
      out.push({
        case: "dns",
        subject: DNS_NAMES[g.subject] ?? g.subject,
        value: g.value,
        parts: p99 ? { "p99 ms at 20k qps": p99.value } : undefined,
      });
    }
    return out;
  };
  const out: Subject[] = [
    {
      case: "dns",
      name: "nslab embedded DNS",
      run: async () => toSamples(await benchDns(s.dnsSeconds)),
    },
  ];
  if (env.image) {
    const image = env.image;
    out.push({
      case: "dns",
      name: "Docker embedded DNS",
      run: async () => toSamples(await benchDockerDns(env.dockerRun, image, s.dnsSeconds)),
    });
  }
  return out;
}

/** Every subject of the cases in `want` (all when empty), in their headline order. */
export function allSubjects(s: Sizes, env: Environment, want: (c: string) => boolean): Subject[] {
  return [
    ...upSubjects(s, env),
    ...kernelSubjects(s),
    ...checkSubjects(s, env),
    ...dnsSubjects(s, env),
    relaySubject(s.dnsSeconds < 5 ? 1 : 3),
  ].filter((x) => want(x.case) || (x.also ?? []).some(want));
}

/** The subjects of round `r`: the list rotated by `r` places, so no subject always follows the same one. */
export function rotated<T>(list: T[], r: number): T[] {
  if (list.length === 0) return list;
  const k = r % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** The relay's subject: one {@link relayRound} per round, feeding `relay` and `relaypps`. */
function relaySubject(seconds: number): Subject {
  return { case: "relay", also: ["relaypps"], name: RELAYED, run: () => relayRound(seconds) };
}
