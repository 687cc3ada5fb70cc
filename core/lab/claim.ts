/**
 * What `up` claims on the machine before it builds anything: the whole lab (its state written
 * under the machine-wide allocation lock, which reserves its underlay) or one host's part of it
 * (under the lab's own lock; the first part fixes the model for the others). A {@link Claim}
 * says what to apply, where to record the supervisor, and how to undo only what this `up` made;
 * `up` itself is then one sequence for both (`core/lab/lab.ts`).
 *
 * @module
 */

import type { Model } from "../model/types.ts";
import type { NsName, Plan } from "../plan/types.ts";
import { buildPlan, hostPartPlan, underlaySegmentPlan } from "../plan/plan.ts";
import { onMachineDevice } from "../plan/machine.ts";
import { modelDigest } from "../model/digest.ts";
import type { Supervisor } from "../runtime/supervisor.ts";
import { announcePart, joinPeers } from "./join.ts";
import { assertBindable } from "./underlay_dev.ts";
import { releaseMachineLink } from "./machine_link.ts";
import { loadTopology, type MachineView } from "../model/load.ts";
import { deleteNetns, listNetns } from "../kernel/netns/netns.ts";
import { teardown } from "../kernel/teardown.ts";
import { removeDockerContainers } from "../runtime/docker.ts";
import { NslabError, UnsupportedError } from "../errors.ts";
import { readMachine, underlayTaken, withAllocLock } from "./alloc.ts";
import {
  digest,
  ensureStateDir,
  type HostPartState,
  type LabState,
  partStateFile,
  processAlive,
  readPartState,
  readState,
  stateDir,
  writeState,
  writeStateFile,
} from "./state.ts";

/** What `up` needs to know about its file (a subset of `UpOptions`). */
export interface ClaimOptions {
  file: string;
  digest: string;
  /**
   * A host's part only: the machine interface its `eth0` is a macvlan of (the real underlay),
   * instead of a veth into the simulated segment. Default: the host's `underlay_dev`, if any.
   */
  underlayDev?: string;
  reload?: (machine: MachineView) => Model;
}

/** What one `up` may build, and how it records and undoes it. */
export interface Claim {
  /** `null`: the whole lab; else the one host whose part this is. */
  host: string | null;
  /** `lab "x"` or `host "h" of lab "x"`, for messages. */
  what: string;
  state: LabState;
  /** The model everything is built from (the first part's, for a host's part). */
  model: Model;
  /** true: already up from the same file; nothing to do. */
  unchanged: boolean;
  /** What to apply; `first`: applied before, when missing (the underlay segment of a part). */
  plan: Plan;
  first: Plan | null;
  /** Namespaces that exist and are someone else's (the underlay other parts share). */
  shared: NsName[];
  /** Start Docker containers (runtime: docker) before the apply. */
  docker: boolean;
  /** Writes what the supervisor will read, before it starts. */
  beforeSupervisor(): void;
  /** Records the supervisor's pid. */
  record(pid: number): void;
  /**
   * Once the supervisor is ready: a host's part announces itself (in this process; a detached
   * supervisor announces itself) and asks the other parts whether they run the same model
   * (core/lab/join.ts), throwing when one does not. A line for people, or null for the whole lab.
   */
  join(supervisor: Supervisor | null): Promise<string | null>;
  /** Removes what this `up` made (its namespaces: `made`); every error. */
  undo(made: NsName[]): Promise<Error[]>;
  /** Lets go of the claim's lock. */
  release(): void;
}

/** The topology file of `opts` loaded again against `machine`, or null when it changed or is gone. */
async function reloadFromFile(
  model: Model,
  opts: ClaimOptions,
  machine: MachineView,
): Promise<Model | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(opts.file);
  } catch {
    return null;
  }
  if (await digest(text) !== opts.digest) return null;
  const loadOpts = { project: model.lab, uplink: model.underlay.uplink !== null, machine };
  return loadTopology({ file: opts.file, text }, loadOpts).model;
}

/**
 * Claims the whole lab: refuses when it exists from another file (or its supervisor is gone),
 * re-checks the underlay and records the state under the allocation lock (parallel `up`s), and
 * re-chooses a taken underlay for a model chosen on the machine.
 */
export async function claimLab(model: Model, opts: ClaimOptions): Promise<Claim> {
  const lab = model.lab;
  const existing = readState(lab);
  if (existing) {
    if (existing.digest === opts.digest && processAlive(existing.supervisorPid)) {
      return { ...labClaim(existing), unchanged: true };
    }
    throw new NslabError(
      `Cannot bring up lab "${lab}": it already exists (from ${existing.file}${
        processAlive(existing.supervisorPid) ? "" : ", its supervisor is not running"
      }); run "nslab down -p ${lab}" first, or choose another name with -p`,
      1,
    );
  }
  // Parallel `up`s: the underlay is re-checked (and re-chosen if taken meanwhile) and the state,
  // which reserves it, written under one machine-wide lock (core/lab/alloc.ts).
  const state = await withAllocLock(async () => {
    if (readState(lab)) {
      throw new NslabError(`Cannot bring up lab "${lab}": another process is bringing it up`, 1);
    }
    if (underlayTaken(model) && model.chosenOnMachine) {
      const machine = readMachine();
      model = opts.reload?.(machine) ?? await reloadFromFile(model, opts, machine) ?? model;
    }
    const still = underlayTaken(model);
    if (still) {
      throw new NslabError(
        `Cannot bring up lab "${lab}": its underlay ${model.underlay.subnet} is taken (${still}); ` +
          "set underlay.subnet to a free prefix, or run without the uplink (--no-uplink)",
      );
    }
    const s: LabState = {
      lab,
      file: opts.file,
      digest: opts.digest,
      model,
      plan: buildPlan(model),
      supervisorPid: 0,
      createdAt: new Date().toISOString(),
    };
    writeState(s);
    return s;
  });
  return labClaim(state);
}

function labClaim(state: LabState): Claim {
  const lab = state.lab;
  return {
    host: null,
    what: `lab "${lab}"`,
    state,
    model: state.model,
    unchanged: false,
    plan: state.plan,
    first: null,
    shared: [],
    docker: true,
    beforeSupervisor() {},
    join: () => Promise.resolve(null),
    record(pid) {
      state.supervisorPid = pid;
      writeState(state);
    },
    async undo() {
      const report = await teardown(lab, { removeContainers: removeDockerContainers });
      return report.errors;
    },
    release() {},
  };
}

/** Throws unless the topology has host `host`. */
export function assertHost(model: Model, host: string): void {
  if (model.hosts.some((x) => x.name === host)) return;
  throw new UnsupportedError(
    `Cannot bring up host "${host}" of lab "${model.lab}": the topology has no such host; its ` +
      `hosts are ${model.hosts.map((x) => `"${x.name}"`).join(", ")}`,
  );
}

/**
 * Claims one host's part, holding the lab's lock until {@link Claim.release}: refuses another
 * file, adopts the model the first part recorded, and refuses a part whose supervisor died.
 */
export async function claimPart(model: Model, host: string, opts: ClaimOptions): Promise<Claim> {
  const lab = model.lab;
  const dev = opts.underlayDev ?? model.hosts.find((h) => h.name === host)?.underlayDev;
  if (dev !== undefined) assertBindable(model, host, dev);
  ensureStateDir(lab);
  const lock = await Deno.open(`${stateDir(lab)}/lock`, { create: true, write: true, mode: 0o600 });
  await lock.lock(true);
  try {
    return await partClaim(model, host, { ...opts, underlayDev: dev }, () => lock.close());
  } catch (e) {
    lock.close();
    throw e;
  }
}

/** The lab's state a part joins (or starts), the part's earlier state, and the full plan. */
interface PartStart {
  /** The model every part uses: the first part's (it fixed automatic addresses). */
  model: Model;
  full: Plan;
  /** The lab's state before this part: null when this is the first part on the machine. */
  existing: LabState | null;
  state: LabState;
  prior: HostPartState | null;
}

/**
 * Reads what earlier parts left: refuses a lab from another file, and a part whose supervisor
 * died; the first part writes the lab's state.
 */
function startPart(model: Model, host: string, opts: ClaimOptions, what: string): PartStart {
  const lab = model.lab;
  const existing = readState(lab);
  if (existing && existing.digest !== opts.digest) {
    throw new NslabError(
      `Cannot bring up ${what}: the lab already exists from another file or bundle ` +
        `(${existing.file}); every host's part must come from the same topology or bundle — run ` +
        `"nslab down -p ${lab}" first, or choose another name with -p`,
      1,
    );
  }
  // The first part fixes the model: an automatic underlay /24 or address chosen by another
  // process must not differ from this one's.
  if (existing) model = existing.model;
  const full = buildPlan(model);
  const state: LabState = existing ?? {
    lab,
    file: opts.file,
    digest: opts.digest,
    model,
    plan: full,
    supervisorPid: 0,
    createdAt: new Date().toISOString(),
  };
  const prior = readPartState(lab, host);
  if (prior && !processAlive(prior.supervisorPid)) {
    throw new NslabError(
      `Cannot bring up ${what}: its part exists but its supervisor is ` +
        `not running; run "nslab down -p ${lab}" first`,
      1,
    );
  }
  if (!prior && !existing) writeState(state);
  return { model, full, existing, state, prior };
}

async function partClaim(
  given: Model,
  host: string,
  opts: ClaimOptions,
  release: () => void,
): Promise<Claim> {
  const what = `host "${host}" of lab "${given.lab}"`;
  const { model, full, existing, state, prior } = startPart(given, host, opts, what);
  const lab = model.lab;
  const dev = opts.underlayDev;
  const part = dev === undefined
    ? hostPartPlan(full, model, host)
    : onMachineDevice(hostPartPlan(full, model, host), model, host, dev);
  const partState: HostPartState = {
    host,
    digest: opts.digest,
    modelDigest: await modelDigest(model),
    underlayDev: dev ?? null,
    plan: part,
    supervisorPid: 0,
  };
  const writePart = () => writeStateFile(lab, partStateFile(host), JSON.stringify(partState));
  return {
    host,
    what,
    state,
    model,
    unchanged: prior !== null,
    plan: part,
    first: dev !== undefined || listNetns().includes(model.underlay.netns)
      ? null
      : underlaySegmentPlan(full, model),
    shared: dev === undefined ? [model.underlay.netns] : [],
    docker: false,
    beforeSupervisor: writePart,
    record(pid) {
      partState.supervisorPid = pid;
      writePart();
    },
    async join(supervisor) {
      if (supervisor) await announcePart(supervisor, model, host, partState.modelDigest);
      return await joinPeers(model, host, partState.modelDigest);
    },
    undo: (made) => undoPart(model, host, existing === null, made),
    release,
  };
}

/**
 * Undoes a failed part: its supervisor, the namespaces it made, its state file, and — when it
 * was the first part on this machine and no part is left — the lab's state and all it holds.
 */
async function undoPart(
  model: Model,
  host: string,
  first: boolean,
  made: NsName[],
): Promise<Error[]> {
  const lab = model.lab;
  const errors: Error[] = [];
  try {
    const pid = readPartState(lab, host)?.supervisorPid ?? 0;
    if (pid > 0 && pid !== Deno.pid && processAlive(pid)) Deno.kill(pid, "SIGKILL");
  } catch (err) {
    errors.push(err as Error);
  }
  const hostNs = model.hosts.find((h) => h.name === host)!.netns;
  if (made.includes(hostNs)) releaseMachineLink(hostNs);
  for (const ns of [...made].reverse()) {
    try {
      deleteNetns(ns);
    } catch (err) {
      errors.push(err as Error);
    }
  }
  try {
    Deno.removeSync(`${stateDir(lab)}/${partStateFile(host)}`);
  } catch { /* not written */ }
  // The first part on this machine also made the lab's state: with no part left, it goes.
  if (first && !model.hosts.some((x) => readPartState(lab, x.name))) {
    try {
      errors.push(...(await teardown(lab, { removeContainers: removeDockerContainers })).errors);
    } catch (err) {
      errors.push(err as Error);
    }
  }
  return errors;
}
