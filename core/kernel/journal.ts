/**
 * Where a lab's state lives on the machine (`/run/nslab/<lab>/`, defined once here) and the
 * journal of the kernel objects an apply is about to create (`journal`, JSON lines), which
 * teardown reads after a `kill -9` at any point.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import { isLabName, MAX_LAB } from "../model/names.ts";
import type { NsName } from "../plan/types.ts";

/** Root of nslab's runtime state. */
export const STATE_ROOT = "/run/nslab";

/**
 * Whether `name` may be a lab name: the model's rule (a Compose project name of at most MAX_LAB
 * bytes), so every name `validate` accepts can also be brought up and torn down.
 */
export { isLabName };

/**
 * The state directory of a lab; the name is validated because it reaches the file system.
 *
 * @example
 * ```ts
 * labStateDir("shop"); // "/run/nslab/shop"
 * ```
 */
export function labStateDir(lab: string): string {
  if (!isLabName(lab)) {
    throw new NslabError(
      `Invalid lab name ${
        JSON.stringify(lab)
      }: use up to ${MAX_LAB} of a-z, 0-9, '-' and '_', starting with a letter or digit`,
      2,
    );
  }
  return `${STATE_ROOT}/${lab}`;
}

/** Creates the lab's state directory (0700, under a 0755 root) if needed and returns it. */
export function ensureLabStateDir(lab: string): string {
  const dir = labStateDir(lab);
  Deno.mkdirSync(STATE_ROOT, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(dir, 0o700);
  return dir;
}

/** One journal line: an object nslab is about to create. */
export type JournalEntry =
  | { t: "netns"; name: string }
  | { t: "link"; ns: NsName; name: string }
  | { t: "addr"; ns: NsName; dev: string; address: string }
  | { t: "route"; ns: NsName; dev: string; dst: string }
  | { t: "neigh"; ns: NsName; dev: string; address: string }
  | { t: "fdb"; ns: NsName; dev: string; mac: string };

/** Reads a journal; a torn last line (killed mid-write) is ignored. Missing journal: []. */
export function readJournal(path: string): JournalEntry[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // torn write
    }
  }
  return out;
}

/** Where an apply records what it is about to create. */
export interface JournalWriter {
  write(entries: JournalEntry[]): void;
  close(): void;
}

/** Append-only JSON-lines file, 0600; each call is one write. */
export class Journal implements JournalWriter {
  readonly path: string;
  #file: Deno.FsFile;
  constructor(path: string) {
    this.path = path;
    this.#file = Deno.openSync(path, { create: true, append: true, mode: 0o600 });
    Deno.chmodSync(path, 0o600);
  }
  write(entries: JournalEntry[]): void {
    if (entries.length === 0) return;
    const bytes = new TextEncoder().encode(entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
  }
  close(): void {
    this.#file.close();
  }
}

/** A journal that keeps nothing (a dry run, or a rollback that creates nothing new). */
export const NO_JOURNAL: JournalWriter = { write() {}, close() {} };
