/**
 * Entry point of a lab's detached supervisor: `deno run -A cli/supervisor.ts <lab>`.
 * Started by `nslab up`; stopped by `nslab down` (SIGTERM). SIGHUP reloads the lab's state
 * (after `nslab network connect|disconnect`).
 *
 * @module
 */

import {
  type LabState,
  markReady,
  readPartState,
  readState,
  stateDir,
  writeStateFile,
} from "../core/lab/state.ts";
import { Supervisor } from "../core/runtime/supervisor.ts";
import { waitForGo } from "../core/lab/supervise.ts";
import { announcePart } from "../core/lab/announce.ts";
import { sharedGuests } from "../core/lab/shared.ts";

const loaded = performance.now();
const lab = Deno.args[0] ?? "";
// Recorded so that teardown can kill this process even when nslab itself crashed.
Deno.writeTextFileSync(`${stateDir(lab)}/pids`, `${Deno.pid}\n`, { append: true, mode: 0o600 });
// A whole lab's state is written before the apply starts: it is read now, beside the apply (25 MB
// of JSON at 4,000 containers), and again after "go" only if it was rewritten meanwhile (each
// write is a rename: another inode and modification time).
const stateFile = `${stateDir(lab)}/state.json`;
const stamp = () => {
  try {
    const s = Deno.statSync(stateFile);
    return `${s.ino} ${s.mtime?.getTime()}`;
  } catch {
    return null;
  }
};
const early = { stamp: stamp(), state: readState(lab) };
// `up` starts this process while it applies the kernel, and says "go" once the lab's state is
// final; end of input instead: that `up` failed or died, and there is nothing to serve.
if (!(await waitForGo(Deno.stdin))) Deno.exit(0);
const go = performance.now();
const state = early.stamp !== null && early.stamp === stamp() ? early.state : readState(lab);
if (!state) {
  console.error(`nslab supervisor: lab "${lab}" has no state in ${stateDir(lab)}`);
  Deno.exit(1);
}
// With a host (`up --only-host HOST`): serve only that host's part of the lab.
const host = Deno.args[1];
const part = host === undefined ? null : readPartState(lab, host);
if (host !== undefined && !part) {
  console.error(`nslab supervisor: lab "${lab}" has no part for host "${host}"`);
  Deno.exit(1);
}
const supervisor = new Supervisor(state.model);
supervisor.setGuests(sharedGuests(state.model)); // other labs' containers on shared networks
await supervisor.start(part ? part.plan : state.plan);
if (Deno.env.get("NSLAB_TIMINGS")) {
  const ms = (a: number, b: number) => `${(b - a).toFixed(0)} ms`;
  console.error(
    `timing  supervisor: start-up ${ms(0, loaded)} (beside the apply), waited ${
      ms(loaded, go)
    } for go, then served in ${ms(go, performance.now())}`,
  );
}
// A host's part tells the other parts of the lab which model it runs (core/lab/join.ts).
if (part) await announcePart(supervisor, state.model, part.host, part.modelDigest);
markReady(lab, host);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await supervisor.stopBeforeExit();
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
// Reloads run one after another; each then records the state generation it serves, which is what
// `nslab network …` waits for.
let reloading: Promise<void> = Promise.resolve();
Deno.addSignalListener("SIGHUP", () => {
  reloading = reloading.then(async () => {
    const next = readState(lab) as (LabState & { generation?: number }) | null;
    if (!next) return;
    const generation = next.generation ?? 0;
    try {
      await supervisor.reload(next.model, next.plan);
      supervisor.setGuests(sharedGuests(next.model));
      writeStateFile(lab, "reloaded", `${generation}\n`);
    } catch (e) {
      console.error(`nslab supervisor: reload failed: ${(e as Error).message}`);
      writeStateFile(lab, "reloaded", `${generation} error: ${(e as Error).message}\n`);
    }
  });
});
// Keep the event loop alive even for a lab with no listeners.
setInterval(() => {}, 1 << 30);
