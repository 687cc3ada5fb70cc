import { equal, rejects } from "node:assert/strict";
import { pollUntil } from "./poll.ts";

Deno.test("returns true as soon as the condition holds, checking first without waiting", async () => {
  let calls = 0;
  equal(await pollUntil(() => ++calls === 1, { timeoutMs: 0 }), true);
  equal(calls, 1);
  let n = 0;
  equal(await pollUntil(() => ++n === 3, { timeoutMs: 10_000, firstMs: 1 }), true);
  equal(n, 3);
});

Deno.test("returns false once the deadline has passed, after a last check", async () => {
  let calls = 0;
  equal(await pollUntil(() => (calls++, false), { timeoutMs: 20, firstMs: 1, maxMs: 2 }), false);
  equal(calls > 1, true);
});

Deno.test("an error from the condition rejects at once", async () => {
  await rejects(
    pollUntil(() => {
      throw new Error("broken");
    }, { timeoutMs: 10_000 }),
    /broken/,
  );
});
