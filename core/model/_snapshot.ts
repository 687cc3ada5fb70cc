/**
 * Test helper: compares text with a committed golden file (`NSLAB_UPDATE_SNAPSHOTS=1` rewrites
 * it). A determinism test compares with what was committed, not `f(x)` with `f(x)`: output that
 * changes between runs, or between machines, fails here.
 *
 * @module
 */

import { equal } from "node:assert/strict";

/**
 * Asserts that `actual` equals the committed file `snap` (created or rewritten when
 * `NSLAB_UPDATE_SNAPSHOTS=1`).
 *
 * @example
 * ```ts
 * assertSnapshot(new URL("testdata/sample.dot", import.meta.url), toDot(sampleModel()));
 * ```
 */
export function assertSnapshot(snap: URL, actual: string): void {
  if (Deno.env.get("NSLAB_UPDATE_SNAPSHOTS") === "1") {
    Deno.mkdirSync(new URL(".", snap), { recursive: true });
    Deno.writeTextFileSync(snap, actual);
  }
  equal(
    actual,
    Deno.readTextFileSync(snap),
    `${snap.pathname} changed: if that is intended, rerun with NSLAB_UPDATE_SNAPSHOTS=1 and commit`,
  );
}
