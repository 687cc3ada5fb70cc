/**
 * A process that visits a namespace on its main thread only, as every nslab verb does while it
 * lists namespaces: `deno run -A tests/_reliability/visitor.ts NETNS STOPFILE` prints "in" from
 * inside NETNS and stays there (its other threads at home) until STOPFILE exists.
 *
 * @module
 */
import { withNetns } from "../../core/kernel/netns/netns.ts";

const [netns, stop] = Deno.args;
const cell = new Int32Array(new SharedArrayBuffer(4));
const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};
withNetns(netns, () => {
  Deno.stdout.writeSync(new TextEncoder().encode("in\n"));
  while (!exists(stop)) Atomics.wait(cell, 0, 0, 10); // blocks the thread, not a readiness wait
});
