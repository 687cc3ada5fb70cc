/**
 * Lab lifecycle: `up` (plan → kernel → firewall → supervisor, rolled back on failure) and `down`.
 * `up` of the whole lab and of one host's part (`--only-host`) are one sequence; what differs —
 * what is claimed, applied, recorded and undone — is the {@link Claim} (`claim.ts`).
 *
 * @module
 */

import { joinSharedNetworks } from "./shared.ts";
import type { Model } from "../model/types.ts";
import type { MachineView } from "../model/load.ts";
import { applyNetwork, applyPlan, type Section } from "../kernel/apply.ts";
import { removeNetnsFiles } from "../kernel/netns/files.ts";
import type { Supervisor } from "../runtime/supervisor.ts";
import { checkDockerEngine, startDockerContainers } from "../runtime/docker.ts";
import { checkKernelFeatures } from "../kernel/features.ts";
import { checkImpairFeatures } from "../kernel/impair_features.ts";
import { ApplyError, NslabError } from "../errors.ts";
import { type Progress, silent } from "./progress.ts";
import { type LabState, stateDir } from "./state.ts";
import { assertHost, type Claim, claimLab, claimPart } from "./claim.ts";
import { DetachedSupervisor, startSupervisor, type SupervisorMode } from "./supervise.ts";
import { reserveNeighbours, type ThresholdChange } from "./neighbours.ts";
import { releaseInto } from "./down.ts";
import { ensureLabDescriptors } from "./capacity.ts";
import { waitUntilAnswering } from "./ready.ts";
import { JOIN_PORT } from "./announce.ts";

export type { SupervisorMode } from "./supervise.ts";

/** Options of {@link upLab}. */
export interface UpOptions {
  file: string;
  digest: string;
  supervisor: SupervisorMode;
  progress?: Progress;
  /** Give up waiting for the supervisor's listeners after this long. */
  readyTimeoutMs?: number;
  /**
   * `upHostPart` only: the machine interface the host's `eth0` is a macvlan of (the real
   * underlay) instead of a veth into the simulated segment. Default: the host's `underlay_dev`.
   */
  underlayDev?: string;
  /**
   * The same topology resolved against the machine as it is now, used under the allocation lock
   * when the underlay chosen at load time was taken meanwhile. Default, for a model chosen on the
   * machine (`model.chosenOnMachine`): `file` loaded again (when it still has `digest`) with the
   * lab name and uplink of the model. A model whose `reserved` the caller fixed is not re-chosen.
   */
  reload?: (machine: MachineView) => Model;
}

/** A lab that is up. */
export interface UpResult {
  state: LabState;
  /** Set when the supervisor runs in this process. */
  supervisor: Supervisor | null;
  /** true when the lab was already up from the same file and nothing was done. */
  unchanged: boolean;
  /** Neighbour-table thresholds this `up` raised (core/lab/neighbours.ts); empty when none. */
  neighbours?: ThresholdChange[];
  /**
   * What `up` could not do but did not fail for: paths that never answered (core/lab/ready.ts),
   * neighbour thresholds it could not raise.
   */
  warnings?: string[];
}

/**
 * Raises the neighbour thresholds the lab needs; where they cannot be written (no permission on
 * the initial namespace's sysctls), says so in `warnings` instead of refusing the lab.
 */
async function reserveInto(
  lab: string,
  model: Model,
  warnings: string[],
): Promise<ThresholdChange[]> {
  try {
    return await reserveNeighbours(lab, model);
  } catch (e) {
    warnings.push(
      `cannot raise the neighbour-table thresholds (${(e as Error).message}): a check of many ` +
        "pairs may overflow the ARP table — raise net.ipv4.neigh.default.gc_thresh1/2/3 by hand",
    );
    return [];
  }
}

/** Appends one line to a file of the lab's state directory (read back by teardown). */
function appendStateLine(lab: string, file: string, line: string): void {
  Deno.writeTextFileSync(`${stateDir(lab)}/${file}`, `${line}\n`, { append: true, mode: 0o600 });
}

/** Progress of `up`: the network is `done` when the firewall (one iptables-restore per host) starts. */
function firewallProgress(progress: Progress, done: string): (s: Section) => void {
  return (s) => {
    if (s !== "firewall") return;
    progress.done(done);
    progress.step("Firewall (iptables-restore per host)");
  };
}

/**
 * Brings a lab up. Fails without touching the kernel when the lab already exists from another
 * file; rolls everything back (and reports every cleanup error) when a step fails.
 */
export function upLab(model: Model, opts: UpOptions): Promise<UpResult> {
  return bringUp(model, null, opts);
}

/**
 * Brings up exactly one host's part of a lab (`nslab up --only-host HOST`): the underlay segment
 * when it is missing (shared when present), the host namespace with its VXLAN peers pointing at
 * the other hosts' addresses, its containers, its firewall and a supervisor serving its containers
 * (DNS answers come from the whole model, so names resolve across hosts). Parts of one lab on one
 * machine run one at a time (an exclusive lock on the lab's state directory). A failed part
 * removes only what it made. `downLab` removes every part.
 */
export function upHostPart(model: Model, host: string, opts: UpOptions): Promise<UpResult> {
  return bringUp(model, host, opts);
}

/** `up` of the whole lab (`host` null) or of one host's part: one sequence, the host as data. */
async function bringUp(model: Model, host: string | null, opts: UpOptions): Promise<UpResult> {
  if (host !== null) assertHost(model, host);
  checkKernelFeatures(model);
  checkImpairFeatures(model);
  await checkDockerEngine(model);
  const claim = host === null ? await claimLab(model, opts) : await claimPart(model, host, opts);
  try {
    if (claim.unchanged) return { state: claim.state, supervisor: null, unchanged: true };
    return await build(claim, opts);
  } finally {
    claim.release();
  }
}

/** What one `up` has made so far: what a failure must undo. */
interface Made {
  namespaces: string[];
  supervisor: Supervisor | null;
  /** The CLI's supervisor process, spawned early so it loads while the kernel is applied. */
  detached: DetachedSupervisor | null;
}

/** Applies what `claim` allows, starts its supervisor; on failure undoes what it made. */
async function build(claim: Claim, opts: UpOptions): Promise<UpResult> {
  const { model, plan, host } = claim;
  const made: Made = { namespaces: [], supervisor: null, detached: null };
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const go = supervisorGo(claim, made, timeoutMs);
  try {
    ensureLabDescriptors(model, plan, opts.supervisor.kind);
    if (opts.supervisor.kind === "detached") {
      made.detached = await DetachedSupervisor.spawn(model.lab, host);
    }
    const warnings: string[] = [];
    const neighbours = await reserveInto(model.lab, model, warnings);
    await applyKernel(claim, opts, made, go);
    await superviseAndJoin(claim, opts, made, go, timeoutMs);
    if (host === null) await joinSharedNetworks(model); // external networks' owners learn it
    // A whole lab answers before up returns; a host's part may wait for parts still to come.
    const silent = host === null
      ? await waitUntilAnswering(model, opts.readyTimeoutMs ?? 15_000)
      : [];
    for (const path of silent) {
      warnings.push(`no answer yet on ${path}: "nslab check" will show what is broken`);
    }
    return {
      state: claim.state,
      supervisor: made.supervisor,
      unchanged: false,
      neighbours,
      warnings,
    };
  } catch (e) {
    return await rollBack(claim, made, e);
  }
}

/** `Host h: ` before a host part's progress lines; nothing for a whole lab. */
function hostLabel(host: string | null): string {
  return host === null ? "" : `Host ${host}: `;
}

/**
 * Lets the supervisor start (once, however often called): writes what it reads, and says "go"
 * to a detached one.
 */
function supervisorGo(claim: Claim, made: Made, timeoutMs: number): () => void {
  let told = false;
  return () => {
    if (told) return;
    told = true;
    claim.beforeSupervisor();
    made.detached?.go(timeoutMs, claim.record).catch(() => {}); // awaited by startSupervisor
  };
}

/** Docker containers (if any), the first part's shared network, then the claim's plan. */
async function applyKernel(claim: Claim, opts: UpOptions, made: Made, go: () => void) {
  const progress = opts.progress ?? silent;
  const { model, plan, host } = claim;
  const label = hostLabel(host);
  progress.step(
    host === null
      ? "Namespaces, links, addresses, routes"
      : `${label}namespaces, links, addresses, routes`,
  );
  // runtime: docker containers start first; their namespaces are then wired like sandboxes.
  const adopt = claim.docker
    ? await startDockerContainers(model, { record: (n) => appendStateLine(model.lab, "docker", n) })
    : {};
  if (claim.first) await applyNetwork(claim.first);
  const shared = new Set(claim.shared);
  const count = plan.namespaces.filter((n) => !shared.has(n.name)).length;
  const network = firewallProgress(
    progress,
    host === null ? `Network: ${count} namespaces` : `${label}${count} namespaces`,
  );
  // A container command reads its /etc/netns files: without one, the supervisor starts serving
  // as soon as the network exists, beside the firewall and the files.
  const commands = plan.processes.some((p) => p.command);
  const applied = await applyPlan(plan, {
    adopt,
    shared: claim.shared,
    onSection: (s) => {
      network(s);
      if (s === "firewall" && !commands) go();
    },
  });
  made.namespaces.push(...applied.namespaces);
  progress.done(`Firewall on ${plan.firewall.length} host(s)`);
}

/** Starts the supervisor (recorded as the claim says), then asks the other hosts' parts. */
async function superviseAndJoin(
  claim: Claim,
  opts: UpOptions,
  made: Made,
  go: () => void,
  timeoutMs: number,
) {
  const progress = opts.progress ?? silent;
  const { model, plan, host } = claim;
  const label = hostLabel(host);
  if (host === null) progress.step("Supervisor (DNS 127.0.0.11, responders, commands)");
  go();
  const superviseOpts = {
    mode: opts.supervisor,
    host,
    timeoutMs,
    record: claim.record,
    detached: made.detached,
  };
  const supervisor = await startSupervisor(
    model,
    plan,
    superviseOpts,
    (s) => made.supervisor = s,
  );
  made.supervisor = supervisor;
  progress.done(`${label}${host === null ? "Supervisor ready" : "supervisor ready"}`);
  if (host !== null) progress.step(`${label}asking the other hosts' parts (TCP ${JOIN_PORT})`);
  const joined = await claim.join(supervisor);
  if (joined !== null) progress.done(`${label}${joined}`);
}

/** Undoes what a failed `up` made, then throws: its own error, or one listing cleanup failures. */
async function rollBack(claim: Claim, made: Made, e: unknown): Promise<never> {
  const cleanup: Error[] = [];
  made.detached?.cancel();
  try {
    if (made.supervisor) await made.supervisor.stop();
  } catch (err) {
    cleanup.push(err as Error);
  }
  // A failed apply rolls its namespaces back and drops its journal: their files go here.
  for (const p of claim.plan.processes) {
    try {
      removeNetnsFiles(p.netns);
    } catch (err) {
      cleanup.push(err as Error);
    }
  }
  try {
    cleanup.push(...await claim.undo(made.namespaces));
  } catch (err) {
    cleanup.push(err as Error);
  }
  await releaseInto(cleanup);
  if (e instanceof NslabError && cleanup.length === 0) throw e;
  throw new ApplyError(`Cannot bring up ${claim.what}: ${(e as Error).message}`, e, cleanup);
}
