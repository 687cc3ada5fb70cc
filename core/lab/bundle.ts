/**
 * A resolved bundle: a lab's model resolved once (subnets, addresses, MACs, VNIs, names) and
 * written to a file with its digest, so that every machine applies its part of exactly the same
 * lab without resolving the topology again against its own routes.
 *
 * `nslab bundle -f lab.yaml -o lab.bundle.json` writes it; `nslab up --bundle lab.bundle.json
 * --only-host H` applies host H's part from it, on any machine.
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import { modelDigest } from "../model/digest.ts";
import { UsageError } from "../errors.ts";

/** Format tag of a bundle file; a reader refuses any other. */
export const BUNDLE_FORMAT = "nslab-bundle/1";

/** A lab resolved once, as written to a bundle file. */
export interface Bundle {
  format: typeof BUNDLE_FORMAT;
  lab: string;
  /** {@link modelDigest} of `model`: what the parts announce and compare. */
  digest: string;
  /** The topology it was resolved from: its path then, and the sha-256 of its text. */
  source: { file: string; sha256: string };
  createdAt: string;
  model: Model;
}

/**
 * The bundle of a resolved model.
 *
 * @example
 * ```ts
 * const bundle = await makeBundle(model, { file: "lab.yaml", sha256: await digest(text) });
 * Deno.writeTextFileSync("lab.bundle.json", JSON.stringify(bundle, null, 2));
 * ```
 */
export async function makeBundle(
  model: Model,
  source: { file: string; sha256: string },
  now: Date = new Date(),
): Promise<Bundle> {
  // Applied as it is wherever it goes: never chosen again against the machine applying it.
  const { chosenOnMachine: _chosen, ...fixed } = model;
  return {
    format: BUNDLE_FORMAT,
    lab: model.lab,
    digest: await modelDigest(fixed),
    source,
    createdAt: now.toISOString(),
    model: fixed,
  };
}

function refuse(path: string, what: string): never {
  throw new UsageError(
    `Cannot use bundle ${path}: ${what}; make it again with "nslab bundle -f FILE -o ${path}"`,
  );
}

/**
 * Reads a bundle's text and checks it: the format tag, the shape of its model, and that the model
 * still has the digest it was written with (an edited or truncated bundle is refused). Usage
 * errors (exit 2) name the file and how to fix it.
 *
 * @example
 * ```ts
 * const bundle = await parseBundle(Deno.readTextFileSync(path), path);
 * ```
 */
export async function parseBundle(text: string, path: string): Promise<Bundle> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    refuse(path, `it is not JSON (${(e as Error).message})`);
  }
  const b = value as Partial<Bundle> | null;
  if (b === null || typeof b !== "object" || b.format !== BUNDLE_FORMAT) {
    refuse(path, `it is not an nslab bundle (format is not "${BUNDLE_FORMAT}")`);
  }
  const m = b.model as Partial<Model> | undefined;
  if (
    !m || typeof m.lab !== "string" || !Array.isArray(m.hosts) || !Array.isArray(m.networks) ||
    !Array.isArray(m.containers) || typeof m.underlay !== "object" || m.underlay === null
  ) {
    refuse(path, "its model is incomplete");
  }
  if (b.lab !== m.lab) refuse(path, `it names lab "${b.lab}" but its model is of "${m.lab}"`);
  const actual = await modelDigest(m as Model);
  if (actual !== b.digest) {
    refuse(
      path,
      `its model does not match its digest (${short(b.digest)} recorded, ` +
        `${short(actual)} now): it was edited or damaged`,
    );
  }
  return b as Bundle;
}

/** The first 12 hex digits of a digest, for messages. */
export function short(digest: string | undefined): string {
  return String(digest ?? "").slice(0, 12);
}
