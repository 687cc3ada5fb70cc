/**
 * Waiting on a condition with a deadline, in one place: check at once, then after pauses that
 * double from `firstMs` up to `maxMs`, until the condition holds or `timeoutMs` have passed.
 * (Never a fixed sleep: the wait ends as soon as the condition holds.)
 *
 * @module
 */

/** Pauses of {@link pollUntil}. */
export interface PollOptions {
  timeoutMs: number;
  /** First pause (default 5 ms). */
  firstMs?: number;
  /** Longest pause (default 100 ms). */
  maxMs?: number;
}

/**
 * Resolves true as soon as `done()` returns true, false once the deadline has passed (after one
 * last check). An error thrown by `done` rejects at once.
 *
 * @example
 * ```ts
 * if (!await pollUntil(() => fileExists(ready), { timeoutMs: 30_000 })) throw new Error("late");
 * ```
 */
export async function pollUntil(done: () => boolean, opts: PollOptions): Promise<boolean> {
  const deadline = performance.now() + opts.timeoutMs;
  const max = opts.maxMs ?? 100;
  for (let delay = opts.firstMs ?? 5;; delay = Math.min(delay * 2, max)) {
    if (done()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
}
