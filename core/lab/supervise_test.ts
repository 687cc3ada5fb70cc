import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { waitForGo } from "./supervise.ts";

/** A reader over chunks, as the supervisor's stdin delivers them. */
function chunks(...parts: string[]) {
  const queue = parts.map((p) => new TextEncoder().encode(p));
  return {
    read(p: Uint8Array): Promise<number | null> {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      p.set(next);
      return Promise.resolve(next.length);
    },
  };
}

Deno.test("the supervisor starts serving on a go line, also one split over reads", async () => {
  assertEquals(await waitForGo(chunks("go\n")), true);
  assertEquals(await waitForGo(chunks("g", "o", "\n")), true);
});

Deno.test("end of input before a go line (up failed or died) means: serve nothing", async () => {
  assertEquals(await waitForGo(chunks()), false);
  assertEquals(await waitForGo(chunks("go")), false);
  assertEquals(await waitForGo(chunks("stop\n")), false);
});
