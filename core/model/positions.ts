/**
 * Positions: where each value of a checked topology came from (file, line, column of the value
 * and of its key), so every later check can point its message at the text the user wrote.
 *
 * @module
 */

import type { SourcePos } from "./types.ts";

/** Where each value of the cleaned tree came from. */
export class Positions {
  readonly #map = new Map<string, { key?: SourcePos; value: SourcePos }>();
  constructor(readonly file: string) {}

  /** Records the position of the value (and key) at `path`. */
  set(path: readonly (string | number)[], value: SourcePos, key?: SourcePos): void {
    const id = JSON.stringify(path);
    this.#map.set(id, { key: key ?? this.#map.get(id)?.key, value });
  }

  /** Position of the value at `path` (or of its nearest recorded ancestor). */
  of(path: readonly (string | number)[]): SourcePos {
    for (let n = path.length; n >= 0; n--) {
      const hit = this.#map.get(JSON.stringify(path.slice(0, n)));
      if (hit) return hit.value;
    }
    return { file: this.file, line: 1, col: 1 };
  }

  /** Position of the key at `path` (falls back to the value). */
  keyOf(path: readonly (string | number)[]): SourcePos {
    const hit = this.#map.get(JSON.stringify(path));
    return hit?.key ?? this.of(path);
  }
}
