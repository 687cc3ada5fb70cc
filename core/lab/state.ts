/**
 * A lab's state on the machine: `/run/nslab/<lab>/` (0700), files 0600. `state.json` is the single
 * truth about a running lab (its model and plan, and the supervisor's pid); the kernel objects can
 * still be found from the lab name alone when it is gone (see teardown).
 *
 * @module
 */

import type { Model, SharedNetwork } from "../model/types.ts";
import type { Plan } from "../plan/types.ts";
import { ensureLabStateDir, labStateDir, STATE_ROOT } from "../kernel/journal.ts";

/** Root of all nslab state (defined once, in `core/kernel/journal.ts`). */
export { STATE_ROOT };

/** What `up` records about a running lab. */
export interface LabState {
  lab: string;
  file: string;
  /** sha-256 of the topology text, so `up` of an unchanged file is a no-op. */
  digest: string;
  model: Model;
  plan: Plan;
  supervisorPid: number;
  createdAt: string;
}

/** The state directory of a lab (the name is validated: it reaches the file system). */
export const stateDir: (lab: string) => string = labStateDir;

/** Creates the lab's state directory (0700) if needed and returns it. */
export const ensureStateDir: (lab: string) => string = ensureLabStateDir;

/** Writes a file inside the lab's state directory with mode 0600, atomically (rename). */
export function writeStateFile(lab: string, name: string, data: string): void {
  const dir = ensureStateDir(lab);
  const tmp = `${dir}/.${name}.tmp`;
  Deno.writeTextFileSync(tmp, data, { mode: 0o600 });
  Deno.renameSync(tmp, `${dir}/${name}`);
}

/** The recorded state of a lab, or null when there is none. */
export function readState(lab: string): LabState | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${stateDir(lab)}/state.json`)) as LabState;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Records the state of a lab, and beside it `underlay.json`: the only part other labs' `up` read
 * (core/lab/alloc.ts), a few bytes instead of the whole state (25 MB at 4,000 containers).
 */
export function writeState(state: LabState): void {
  const u = state.model.underlay;
  writeStateFile(
    state.lab,
    UNDERLAY_FILE,
    JSON.stringify({ subnet: u.subnet, uplink: !!u.uplink }),
  );
  writeStateFile(state.lab, SHARED_FILE, JSON.stringify(shareableNetworks(state.model)));
  writeStateFile(state.lab, "state.json", JSON.stringify(state));
}

/**
 * The small file listing the networks of a lab that other labs may join as `external: true`
 * (core/lab/shared.ts reads it on every `up`, never the whole state).
 */
export const SHARED_FILE = "networks.json";

/**
 * The networks of `model` another lab may join: single-host bridge networks other than docker0,
 * not themselves external, by Docker name, with the addresses the lab uses on them. Pure.
 */
export function shareableNetworks(model: Model): SharedNetwork[] {
  const out: SharedNetwork[] = [];
  for (const n of model.networks) {
    if (n.driver !== "bridge" || n.isDefault || n.external || n.hosts.length !== 1) continue;
    if (n.enableIpv4 === false) continue; // other labs join networks by their IPv4 subnet
    const host = model.hosts.find((h) => h.name === n.hosts[0]);
    if (!host) continue;
    const taken = model.containers.flatMap((c) =>
      c.endpoints.filter((e) => e.network === n.name).flatMap((e) => e.address ?? [])
    );
    out.push({
      name: n.dockerName ?? n.name,
      lab: model.lab,
      network: n.name,
      netns: host.netns,
      bridge: n.bridge,
      subnet: n.subnet,
      gateway: n.gateway,
      internal: n.internal,
      mtu: n.mtu,
      taken,
    });
  }
  return out;
}

/** The small file naming a lab's underlay subnet and whether it has an uplink. */
export const UNDERLAY_FILE = "underlay.json";

/** What {@link UNDERLAY_FILE} holds. */
export interface RecordedUnderlay {
  subnet: string;
  uplink: boolean;
}

/**
 * The underlay a lab recorded (its {@link UNDERLAY_FILE}, or, for a state written before that
 * file existed, its state.json), or null when it has no state.
 */
export function readUnderlay(lab: string): RecordedUnderlay | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${stateDir(lab)}/${UNDERLAY_FILE}`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const u = readState(lab)?.model?.underlay;
  return u ? { subnet: u.subnet, uplink: !!u.uplink } : null;
}

/** Names of labs that have a state directory. */
export function listStateDirs(): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(STATE_ROOT)) if (e.isDirectory) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** true when a process with this pid exists. */
export function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/\) Z /.test(stat); // zombies are not alive
  } catch {
    return false;
  }
}

/** sha-256 hex of a text. */
export async function digest(text: string): Promise<string> {
  const buf = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Marks the detached supervisor of `lab` (or of its part on `host`) as ready. */
export function markReady(lab: string, host?: string): void {
  writeStateFile(lab, host === undefined ? "ready" : `ready-${host}`, `${Deno.pid}\n`);
}

/** What one host's part of a lab records: `/run/nslab/<lab>/part-<host>.json`. */
export interface HostPartState {
  host: string;
  digest: string;
  /** The model's digest, which the part's supervisor announces to the other parts. */
  modelDigest: string;
  /** The machine interface the host is bound to, or null on the simulated underlay. */
  underlayDev: string | null;
  plan: Plan;
  supervisorPid: number;
}

/** The state file name of one host's part. */
export function partStateFile(host: string): string {
  return `part-${host}.json`;
}

/** The recorded part of `host` in `lab`, or null. */
export function readPartState(lab: string, host: string): HostPartState | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${stateDir(lab)}/${partStateFile(host)}`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
