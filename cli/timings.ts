/**
 * `--timings`: where a verb's time goes, one line per step on stderr, from the process's start
 * (the first line is deno's start-up and the loading of nslab's modules).
 *
 * @module
 */

import type { Progress } from "../core/lab/progress.ts";

/** Prints the time since the previous line, per step; silent when off. */
export class Timings {
  readonly on: boolean;
  #last = 0;

  constructor(on: boolean) {
    this.on = on;
    this.lap("start-up (deno, nslab's modules)");
  }

  /** Prints `what` with the milliseconds since the previous lap. */
  lap(what: string): void {
    if (!this.on) return;
    const now = performance.now();
    console.error(`timing  ${what.padEnd(56)} ${(now - this.#last).toFixed(0).padStart(6)} ms`);
    this.#last = now;
  }

  /** A progress sink that laps each step, and the work between steps ("before: …"). */
  progress(): Progress {
    return { step: (what) => this.lap(`before: ${what}`), done: (what) => this.lap(what) };
  }
}
