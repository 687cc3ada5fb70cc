/**
 * Parts of one lab on different machines share no state, so each part says what it is where the
 * others can ask: its supervisor answers on TCP {@link JOIN_PORT} of its host's underlay address
 * with one line, `nslab-part/<lab>/<host>/<model digest>`. A part coming up asks every other
 * host's address once its own answer is served, and is refused (and rolled back) when a part that
 * answers resolved a different model, or when a host's address is answered by something else.
 * Hosts that do not answer are not up yet: when they come up they ask this part in turn, so of two
 * parts that disagree, the later one is always refused — even when both start at the same time,
 * since each serves its answer before it asks.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { Observed } from "../checks/types.ts";
import { runProbes } from "../checks/probes.ts";
import { NslabError } from "../errors.ts";
import { short } from "./bundle.ts";
import { JOIN_PORT } from "./announce.ts";

export { announcement, announcePart, JOIN_PORT } from "./announce.ts";

/** How long a part waits for each other host's answer. */
const ASK_TIMEOUT_MS = 1500;

/** What one other host's address answered. */
export interface PeerAnswer {
  host: string;
  address: string;
  observed: Observed;
}

/** The outcome of asking the other hosts. */
export interface JoinVerdict {
  /** Hosts whose part answered with the same model. */
  joined: string[];
  /** Hosts whose address did not answer (not up yet), with what was seen, e.g. `h2 (refused)`. */
  absent: string[];
  /** Why this part must not join, or null. */
  refusal: string | null;
}

/**
 * Judges the answers of the other hosts for part `host` of `lab` with model digest `digest`. Pure.
 *
 * @example
 * ```ts
 * judgeJoin("demo", "h2", d, [{ host: "h1", address: "192.0.2.11",
 *   observed: { kind: "answered", by: announcement("demo", "h1", d) } }]); // joined: ["h1"]
 * ```
 */
export function judgeJoin(
  lab: string,
  host: string,
  digest: string,
  answers: PeerAnswer[],
): JoinVerdict {
  const joined: string[] = [];
  const absent: string[] = [];
  const problems: string[] = [];
  for (const a of answers) {
    if (a.observed.kind !== "answered") {
      absent.push(`${a.host} (${silence(a.observed)})`);
      continue;
    }
    const [tag, theirLab, theirHost, theirDigest] = a.observed.by.split("/");
    const where = `${a.address}:${JOIN_PORT} (host "${a.host}")`;
    if (tag !== "nslab-part" || theirDigest === undefined) {
      problems.push(`${where} answered "${a.observed.by}", which is not an nslab part`);
    } else if (theirLab !== lab || theirHost !== a.host) {
      problems.push(`${where} is host "${theirHost}" of lab "${theirLab}"`);
    } else if (theirDigest !== digest) {
      problems.push(
        `host "${a.host}" runs a different model (digest ${short(theirDigest)}, this part has ` +
          `${short(digest)})`,
      );
    } else joined.push(a.host);
  }
  const refusal = problems.length === 0 ? null : `${problems.join("; ")}. Every part must ` +
    `come from one resolved model: make a bundle once ("nslab bundle -f FILE -o B") and run ` +
    `"nslab up --bundle B --only-host ${host}" on every machine`;
  return { joined, absent, refusal };
}

/** What a host that did not answer showed, in a few words. */
function silence(o: Observed): string {
  if (o.kind === "unreachable" || o.kind === "wrong-answer") return o.detail;
  if (o.kind === "error") return o.message;
  return o.kind;
}

/** Asks every other host of `model` for its announcement, from inside `host`'s namespace. */
export async function askPeers(model: Model, host: string): Promise<PeerAnswer[]> {
  const me = model.hosts.find((h) => h.name === host)!;
  const others = model.hosts.filter((h) => h.name !== host);
  const observed = await runProbes(
    others.map((h) => ({
      kind: "tcp" as const,
      netns: me.netns,
      address: h.address,
      port: JOIN_PORT,
      responder: true,
    })),
    { timeoutMs: ASK_TIMEOUT_MS },
  );
  return others.map((h, i) => ({ host: h.name, address: h.address, observed: observed[i] }));
}

/**
 * Asks the other hosts' parts whether they resolved the same model; throws when one did not (the
 * caller rolls this part back). Returns a line for people.
 */
export async function joinPeers(model: Model, host: string, digest: string): Promise<string> {
  const verdict = judgeJoin(model.lab, host, digest, await askPeers(model, host));
  if (verdict.refusal) {
    throw new NslabError(
      `Cannot bring up host "${host}" of lab "${model.lab}": ${verdict.refusal}`,
      1,
    );
  }
  const list = (hs: string[]) => hs.length ? hs.join(", ") : "none";
  return `same model as ${list(verdict.joined)}; not up yet: ${list(verdict.absent)}`;
}
