/**
 * SPEC §9 / issue 9 "kill anywhere": the real CLI `nslab up` of a mid-size multi-host lab (3 hosts,
 * overlay, NAT, container commands) is SIGKILLed at ≥ 50 points over the whole run — after delays
 * spread from 0 to 110 % of a measured full `up`, when the k-th `iptables-restore` child appears
 * (with and without killing it too), at delays after the detached supervisor appears, when the
 * first container command starts, and by killing only the supervisor while it starts. After
 * each kill `nslab down -p LAB` must exit 0 and nothing may be left: namespaces, mounts under
 * /run/netns, root links, `/run/nslab/LAB`, `/etc/netns` entries, processes (checked by reading
 * the machine directly, see `_reliability/support.ts`).
 *
 * Counts: `NSLAB_KILL_POINTS` time points (CI 36, `NSLAB_LONG=1` 150) + 18 targeted points.
 */
import assert from "node:assert/strict";
import {
  alive,
  CLI,
  cli,
  count,
  labNamespaces,
  labProcesses,
  leftovers,
  MID,
  rlName,
  ROOT,
  type Seen,
  TreeWatcher,
  until,
} from "./_reliability/support.ts";

/** When to SIGKILL. */
type Trigger =
  /** The CLI, `ms` after it was spawned. */
  | { kind: "time"; ms: number }
  /** The CLI when its `nth` iptables-restore appears; `also`: that child too. */
  | { kind: "iptables"; nth: number; also: boolean }
  /** The CLI `ms` after the detached supervisor appears; `also`: the supervisor too. */
  | { kind: "supervisor"; ms: number; also: boolean }
  /** The CLI when the first container command appears (the supervisor is mid-start). */
  | { kind: "command"; also: boolean }
  /** Only the supervisor, `ms` after it appears: `up` itself must fail and roll back. */
  | { kind: "supervisor-only"; ms: number };

/** What a run saw before `down`. */
interface Outcome {
  lab: string;
  trigger: Trigger;
  /** ms from spawn to the kill (null: the trigger never fired). */
  killedAtMs: number | null;
  cli: Deno.CommandStatus;
  /** ms from spawn to the CLI's exit. */
  exitMs: number;
  stderr: string;
  namespaces: number;
  stateDir: boolean;
  ready: boolean;
  sawIptables: boolean;
  sawSupervisor: boolean;
  watched: Seen[];
  /** Leftovers before down (the control: the check does see a killed `up`'s objects). */
  before: string[];
}

const isIptables = (s: Seen) => s.argv.includes("iptables-restore");
const isSupervisor = (s: Seen) => s.argv.some((a) => a.endsWith("cli/supervisor.ts"));
const isCommand = (s: Seen) => s.argv.includes("3600");

function kill(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* already gone */ }
}

async function upAndKill(trigger: Trigger | null): Promise<Outcome> {
  const lab = rlName("k");
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "up", "-f", MID, "-p", lab, "--progress", "quiet"],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let killedAtMs: number | null = null;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const fire = (...pids: number[]) => {
    if (killedAtMs !== null) return;
    killedAtMs = performance.now() - started;
    for (const p of pids) kill(p);
  };
  if (trigger?.kind === "time") timers.push(setTimeout(() => fire(child.pid), trigger.ms));
  const iptables = new Set<number>();
  let supervisorSeen = false;
  const watcher = new TreeWatcher(child.pid, (s) => {
    if (!trigger || killedAtMs !== null) return;
    if (trigger.kind === "iptables" && isIptables(s) && !iptables.has(s.pid)) {
      iptables.add(s.pid);
      if (iptables.size === trigger.nth) {
        fire(...(trigger.also ? [child.pid, s.pid] : [child.pid]));
      }
    } else if (
      (trigger.kind === "supervisor" || trigger.kind === "supervisor-only") && isSupervisor(s) &&
      !supervisorSeen
    ) {
      supervisorSeen = true;
      const victims = trigger.kind === "supervisor-only"
        ? [s.pid]
        : trigger.also
        ? [child.pid, s.pid]
        : [child.pid];
      if (trigger.ms === 0) fire(...victims);
      else timers.push(setTimeout(() => fire(...victims), trigger.ms));
    } else if (trigger.kind === "command" && isCommand(s)) {
      const sup = [...watcher.seen.values()].find(isSupervisor);
      fire(...(trigger.also && sup ? [child.pid, sup.pid] : [child.pid]));
    }
  });
  const [status, stderrBytes] = await Promise.all([
    child.status,
    new Response(child.stderr).arrayBuffer(),
  ]);
  const exitMs = performance.now() - started;
  for (const t of timers) clearTimeout(t);
  // Let an orphaned supervisor go on for a moment, as it would after a real crash.
  await until(() => false, 20);
  await watcher.stop();
  const watched = [...watcher.seen.values()];
  let stateDir = false;
  let ready = false;
  try {
    stateDir = Deno.statSync(`/run/nslab/${lab}`).isDirectory;
    ready = Deno.statSync(`/run/nslab/${lab}/ready`).isFile;
  } catch { /* not there */ }
  return {
    lab,
    trigger: trigger ?? { kind: "time", ms: Infinity },
    killedAtMs,
    cli: status,
    exitMs,
    stderr: new TextDecoder().decode(stderrBytes),
    namespaces: labNamespaces(lab).length,
    stateDir,
    ready,
    sawIptables: watched.some(isIptables),
    sawSupervisor: watched.some(isSupervisor),
    watched,
    before: await leftovers(lab, watched),
  };
}

/**
 * Where in `up` the kill landed, from what was on the machine. The detached supervisor is started
 * before the network (it loads beside the apply and waits to be told to go): seen alone, the kill
 * landed while it waited; it starts the container commands once told to go.
 */
function phase(o: Outcome): string {
  if (o.cli.success) return "after up";
  if (o.ready) return "supervisor ready";
  if (o.watched.some(isCommand)) return "supervisor start";
  if (o.sawIptables) return "firewall";
  if (o.namespaces > 0) return "network";
  if (o.sawSupervisor) return "supervisor spawned";
  if (o.stateDir) return "state written";
  return "before any object";
}

/** `down` after the outcome: exit 0, and nothing left. */
async function downAndAssertClean(o: Outcome): Promise<void> {
  const what = `${JSON.stringify(o.trigger)} killed at ${o.killedAtMs?.toFixed(0)} ms (${
    phase(o)
  }, ${o.namespaces} namespaces)`;
  const down = await cli(["down", "-p", o.lab]);
  assert.equal(down.code, 0, `down after ${what}: ${down.stderr}`);
  // A process the kill orphaned may take a moment to be reaped after SIGKILL.
  await until(() => o.watched.every((s) => !alive(s.pid) || !s.argv.length), 2000);
  assert.deepEqual(await leftovers(o.lab, o.watched), [], `left after down, ${what}`);
}

const TIME_POINTS = count("NSLAB_KILL_POINTS", 36, 150);

/** A time point that landed after a successful `up` had already ended (it killed nothing). */
function lateTimePoint(trigger: Trigger, o: Outcome): boolean {
  return trigger.kind === "time" && o.cli.success && o.cli.signal === null;
}

Deno.test(`nslab down leaves nothing after nslab up is SIGKILLed at ${TIME_POINTS} + 18 points`, async () => {
  // Calibrate: two full, unkilled `up`s (and the control: their lab is seen by the leak check);
  // the faster one sets the time points, so that every one lands while `up` still runs.
  let durationMs = Infinity;
  for (let i = 0; i < 2; i++) {
    const full = await upAndKill(null);
    try {
      assert.ok(full.cli.success, `a full up works: ${full.stderr}`);
      assert.ok(full.ready && full.namespaces > 0 && full.sawIptables && full.sawSupervisor);
      assert.ok(full.before.some((l) => l.startsWith("process")), "the supervisor is seen");
      assert.ok(full.before.some((l) => l.startsWith("root link")), "the uplink is seen");
      durationMs = Math.min(durationMs, full.exitMs);
    } finally {
      await downAndAssertClean(full);
    }
  }

  const triggers: Trigger[] = [];
  for (let i = 0; i < TIME_POINTS; i++) {
    // Spread over the first 75% of the faster `up`.
    triggers.push({ kind: "time", ms: (durationMs * 0.75 * i) / (TIME_POINTS - 1) });
  }
  for (const nth of [1, 2, 3]) {
    for (const also of [false, true]) triggers.push({ kind: "iptables", nth, also });
  }
  for (const ms of [0, 5, 15, 30, 50, 80]) {
    triggers.push({ kind: "supervisor", ms, also: ms % 2 === 0 });
  }
  triggers.push({ kind: "command", also: false }, { kind: "command", also: true });
  for (const ms of [0, 15, 30, 60]) triggers.push({ kind: "supervisor-only", ms });

  const phases = new Map<string, number>();
  let fired = 0;
  for (const planned of triggers) {
    let trigger = planned;
    let o = await upAndKill(trigger);
    // A time point is a fraction of the calibrated `up`; when the machine's load drops, a later
    // `up` can finish before it. That point is taken again at the same fraction of the faster run
    // (twice at most), so every time point still lands while `up` runs.
    for (let again = 0; again < 2 && lateTimePoint(trigger, o); again++) {
      await downAndAssertClean(o);
      trigger = {
        kind: "time",
        ms: (trigger.kind === "time" ? trigger.ms : 0) * 0.9 * o.exitMs / durationMs,
      };
      durationMs = Math.min(durationMs, o.exitMs);
      o = await upAndKill(trigger);
    }
    try {
      // Each targeted kill fired before `up` ended: a kill that never fires, or lands on a
      // finished `up`, tests nothing.
      assert.ok(o.killedAtMs !== null, `${JSON.stringify(trigger)} never fired`);
      if (trigger.kind === "supervisor-only") {
        assert.ok(o.killedAtMs! < o.exitMs, `${JSON.stringify(trigger)} fired after up ended`);
      } else {
        assert.equal(o.cli.signal, "SIGKILL", `${JSON.stringify(trigger)}: up ended first`);
      }
      fired++;
      phases.set(phase(o), (phases.get(phase(o)) ?? 0) + 1);
      // Control: whatever the killed `up` made is visible to the leak check before `down`.
      if (o.namespaces > 0) assert.notDeepEqual(o.before, []);
      if (trigger.kind === "supervisor-only" && o.killedAtMs !== null && !o.ready) {
        // The supervisor died before it was ready: `up` reports it and rolls back by itself.
        assert.equal(o.cli.code, 1, `up fails when its supervisor is killed: ${o.stderr}`);
        assert.match(o.stderr, /supervisor/);
        assert.deepEqual(o.before, [], "up's own rollback left nothing");
      }
    } finally {
      await downAndAssertClean(o);
    }
  }
  const summary = [...phases].map(([k, v]) => `${k}: ${v}`).join(", ");
  console.log(
    `full up ${durationMs.toFixed(0)} ms; ${triggers.length} kill points (${fired} fired), ` +
      `all clean after down; by phase: ${summary}`,
  );
  if (!Deno.env.get("NSLAB_KILL_POINTS")) assert.ok(triggers.length >= 50);
  // The points really are spread: mid-network, in the firewall and in supervisor start.
  for (const p of ["network", "firewall", "supervisor start"]) {
    assert.ok((phases.get(p) ?? 0) > 0, `some kill landed in "${p}": ${summary}`);
  }
});

Deno.test("a running lab whose supervisor was kill -9ed: up refuses clearly, down cleans, up works again", async () => {
  const lab = rlName("s");
  try {
    const up = await cli(["up", "-f", MID, "-p", lab, "--progress", "quiet"]);
    assert.equal(up.code, 0, up.stderr);
    const state = JSON.parse(Deno.readTextFileSync(`/run/nslab/${lab}/state.json`));
    const pid = state.supervisorPid as number;
    assert.ok(alive(pid), "the supervisor runs");
    Deno.kill(pid, "SIGKILL");
    assert.ok(await until(() => !alive(pid), 5000), "the supervisor died");
    const namespaces = labNamespaces(lab);

    // `check` sees the lab is broken (its DNS was in the supervisor) — the kill mattered.
    const check = await cli(["check", "-p", lab, "--format", "json"]);
    assert.equal(check.code, 1, "checks fail without the supervisor");

    // `up` again: a clear refusal (exit 1, says why and what to run), touching nothing.
    const again = await cli(["up", "-f", MID, "-p", lab, "--progress", "quiet"]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /supervisor is not running/);
    assert.match(again.stderr, new RegExp(`nslab down -p ${lab}`));
    assert.deepEqual(labNamespaces(lab), namespaces, "the refused up changed nothing");

    const down = await cli(["down", "-p", lab]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await leftovers(lab), []);

    // And the name is free again.
    const fresh = await cli(["up", "-f", MID, "-p", lab, "--progress", "quiet"]);
    assert.equal(fresh.code, 0, fresh.stderr);
    const ok = await cli(["check", "-p", lab, "--format", "json"]);
    assert.equal(ok.code, 0, "the re-made lab passes its checks");
  } finally {
    const down = await cli(["down", "-p", lab]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await leftovers(lab), []);
  }
});

Deno.test("down kills a supervisor that the killed up never recorded (found by its command line)", async () => {
  const lab = rlName("u");
  try {
    const up = await cli(["up", "-f", MID, "-p", lab, "--progress", "quiet"]);
    assert.equal(up.code, 0, up.stderr);
    // What an `up` SIGKILLed between spawning the supervisor and recording it leaves: a running
    // supervisor that neither state.json nor the pids file names.
    const path = `/run/nslab/${lab}/state.json`;
    const state = JSON.parse(Deno.readTextFileSync(path));
    const pid = state.supervisorPid as number;
    Deno.writeTextFileSync(path, JSON.stringify({ ...state, supervisorPid: 0 }));
    Deno.writeTextFileSync(`/run/nslab/${lab}/pids`, "");
    assert.ok(alive(pid));
    const down = await cli(["down", "-p", lab]);
    assert.equal(down.code, 0, down.stderr);
    assert.ok(await until(() => !alive(pid), 2000), `supervisor ${pid} was killed by down`);
    assert.deepEqual(await leftovers(lab), []);
  } finally {
    await cli(["down", "-p", lab]);
    for (const p of labProcesses(lab)) Deno.kill(p, "SIGKILL");
    assert.deepEqual(await leftovers(lab), []);
  }
});
