/**
 * One-line assertions on a running lab that run a single probe now: `lab.expect("web")
 * .reaches("api", 8000)`. Each is built like a `checks:` entry of the file, probed from inside the
 * source's namespace and judged by the same rules as `nslab check`; a failure throws a
 * {@link ChecksFailedError} whose message is the row (expected, observed, hint).
 *
 * @module
 */

import type { CheckExpect, CheckSpec, Model } from "../model/types.ts";
import { expectationsFor, hasResponder } from "../checks/expectations.ts";
import { judge } from "../checks/judge.ts";
import { runProbes } from "../checks/probes.ts";
import { isSilence } from "../checks/run.ts";
import type { CheckResult } from "../checks/types.ts";
import { ChecksFailedError } from "../checks/verdict.ts";

const HERE = { file: "lab.expect", line: 0, col: 0 };

/** Assertions from one source (a container, a host, or `outside`) of a running lab. */
export class LabExpect {
  readonly #model: () => Model;
  readonly #from: string;

  /** `model` is read at each assertion, so changes made through `lab.network` are seen. */
  constructor(model: () => Model, from: string) {
    this.#model = model;
    this.#from = from;
  }

  /**
   * The source reaches `to` (a container, host or address): TCP to `port` when given, else an
   * ICMP echo. A container answered by nslab's responder must answer with its own name.
   */
  async reaches(to: string, port?: number): Promise<CheckResult> {
    // nslab's responder names the container that answered: ask for that name, not just a reply.
    const target = this.#model().containers.find((c) => c.name === to);
    const named = port !== undefined && target !== undefined && hasResponder(target);
    return await this.#reach(
      to,
      port,
      named ? { kind: "answeredBy", container: to } : { kind: "open" },
    );
  }

  /**
   * The source does not reach `to`: without a port, nothing answers (timeout or no route); with a
   * port, the port is not open (a refusal also counts).
   */
  async cannotReach(to: string, port?: number): Promise<CheckResult> {
    return await this.#reach(to, port, { kind: port === undefined ? "unreachable" : "closed" });
  }

  /**
   * The source resolves `name` through the embedded DNS at 127.0.0.11: to exactly `addresses`
   * when given (any order), else to at least one address.
   */
  async resolves(name: string, addresses?: string[]): Promise<CheckResult> {
    const spec: CheckSpec = {
      kind: "dns",
      from: this.#from,
      name,
      type: "A",
      expect: { kind: "addresses", addresses: addresses ?? [] },
      pos: HERE,
    };
    return await this.#run(spec, (r) => {
      if (addresses !== undefined) return r;
      // No addresses asked: any non-empty answer passes.
      const o = r.observed;
      const pass = o.kind === "dns" && o.rcode === "NOERROR" && o.answers.length > 0;
      const expectation = {
        ...r.expectation,
        expect: { kind: "addresses" as const, addresses: ["any address"] },
      };
      return { ...r, expectation, pass, hint: pass ? "" : r.hint };
    });
  }

  /** The source gets NXDOMAIN for `name` (it shares no network with it). */
  async cannotResolve(name: string): Promise<CheckResult> {
    return await this.#run({
      kind: "dns",
      from: this.#from,
      name,
      type: "A",
      expect: { kind: "nxdomain" },
      pos: HERE,
    });
  }

  async #reach(to: string, port: number | undefined, expect: CheckExpect): Promise<CheckResult> {
    return await this.#run({
      kind: "reach",
      from: this.#from,
      to: port === undefined ? to : `${to}:${port}`,
      protocol: port === undefined ? "icmp" : "tcp",
      expect,
      pos: HERE,
    });
  }

  async #run(
    spec: CheckSpec,
    adjust: (r: CheckResult) => CheckResult = (r) => r,
  ): Promise<CheckResult> {
    const start = performance.now();
    const model = this.#model();
    const [e] = expectationsFor(model, [spec]);
    const probe = async () => {
      const [observed] = await runProbes([e.probe]);
      return adjust({ expectation: e, observed, ...judge(e, observed) });
    };
    let result = await probe();
    // As `nslab check` does: silence where an answer was due is asked once more (a path that was
    // cold, e.g. right after `up`); a real fault answers the same way twice.
    if (!result.pass && isSilence(result.observed)) result = await probe();
    if (!result.pass) {
      throw new ChecksFailedError({
        lab: model.lab,
        results: [result],
        probes: 1,
        elapsedMs: performance.now() - start,
        notes: [],
        causes: [],
      });
    }
    return result;
  }
}
