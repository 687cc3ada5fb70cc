/**
 * Collects every problem and warning found while loading a topology, so one run reports them all.
 *
 * @module
 */

import { type Diagnostic, TopologyError } from "../errors.ts";
import type { SourcePos, Warning } from "./types.ts";

/** Errors and warnings of one load, in the order they were found. */
export class Diagnostics {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Warning[] = [];
  readonly #warned = new Set<string>();

  /** Records an error: what is wrong, and how to fix it. */
  error(pos: SourcePos, message: string, hint: string): void {
    this.errors.push({ pos, message, hint });
  }

  /** Records a warning; a warning with the same `once` key is recorded only the first time. */
  warn(pos: SourcePos, message: string, once?: string): void {
    if (once !== undefined) {
      if (this.#warned.has(once)) return;
      this.#warned.add(once);
    }
    this.warnings.push({ pos, message });
  }

  /** Throws a {@link TopologyError} with every error, sorted by position, when there is any. */
  throwIfAny(): void {
    if (this.errors.length === 0) return;
    const sorted = this.errors
      .map((d, i) => ({ d, i }))
      .sort((a, b) =>
        a.d.pos.file.localeCompare(b.d.pos.file) || a.d.pos.line - b.d.pos.line ||
        a.d.pos.col - b.d.pos.col || a.i - b.i
      )
      .map(({ d }) => d);
    throw new TopologyError(sorted);
  }
}
