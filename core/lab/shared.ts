/**
 * Networks shared between labs: a Compose file's `external: true` network that another running
 * lab owns (the project that declares it, e.g. with `name: shared`). Docker has one daemon, so two
 * projects' containers meet on one user network; nslab gives each lab its own host namespaces, so
 * the joining lab's containers get a veth whose host end sits on the owner's bridge, in the
 * owner's host namespace (`core/plan/drivers/external.ts`).
 *
 * What each side records, under `/run/nslab`:
 * - the owner's networks are read from its small `networks.json` ({@link readSharedNetworks}, part
 *   of the machine the loader sees: subnet, gateway, bridge, addresses in use);
 * - a joining lab writes its endpoints on the owner's networks to
 *   `/run/nslab/<owner>/guests/<lab>.json` ({@link joinSharedNetworks}) — the owner's IPAM record
 *   of them — and removes the file at `down` ({@link leaveSharedNetworks});
 * - every supervisor serves, besides its own lab's names, the containers of the other labs on its
 *   shared networks ({@link sharedGuests}), re-read on SIGHUP, which both sides send each other.
 *
 * @module
 */

import type { Container, Model, SharedNetwork } from "../model/types.ts";
import { NslabError } from "../errors.ts";
import { listStateDirs, readState, SHARED_FILE, stateDir } from "./state.ts";
import { detachedSupervisor } from "./network.ts";

/** The file of one joining lab's endpoints, in the owning lab's state directory. */
function guestFile(owner: string, lab: string): string {
  return `${stateDir(owner)}/guests/${lab}.json`;
}

/** Whether `lab` is recorded on the machine (without reading its whole state). */
function hasState(lab: string): boolean {
  try {
    Deno.statSync(`${stateDir(lab)}/state.json`);
    return true;
  } catch {
    return false;
  }
}

/** Containers of `lab` on networks of `owner`, each with only its endpoints there (owner's keys). */
function readGuests(owner: string): { lab: string; containers: Container[] }[] {
  const out: { lab: string; containers: Container[] }[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(`${stateDir(owner)}/guests`)];
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const lab = e.name.replace(/\.json$/, "");
    if (!e.name.endsWith(".json") || !hasState(lab)) continue; // the lab is gone: stale
    try {
      const containers = JSON.parse(Deno.readTextFileSync(guestFile(owner, lab))) as Container[];
      out.push({ lab, containers });
    } catch { /* half-written or removed meanwhile: skip */ }
  }
  return out;
}

/**
 * Every network of a running lab that another lab may join as `external: true` (each lab's
 * small `networks.json`, see `shareableNetworks`), its guests' addresses added to `taken`.
 */
export function readSharedNetworks(): SharedNetwork[] {
  const out: SharedNetwork[] = [];
  for (const lab of listStateDirs()) {
    let nets: SharedNetwork[];
    try {
      nets = JSON.parse(Deno.readTextFileSync(`${stateDir(lab)}/${SHARED_FILE}`));
    } catch {
      continue; // no such file (an older lab, or one being written): nothing to join there
    }
    const guests = readGuests(lab).flatMap((g) => g.containers);
    for (const n of nets) {
      const more = guests.flatMap((c) => c.endpoints.filter((e) => e.network === n.network));
      out.push({ ...n, taken: [...n.taken, ...more.flatMap((e) => e.address ?? [])] });
    }
  }
  return out;
}

/** `model`'s containers with only their endpoints on `network`, renamed to `as`. */
function onNetwork(model: Model, network: string, as: string): Container[] {
  return model.containers.flatMap((c) => {
    const eps = c.endpoints.filter((e) => e.network === network);
    if (c.mode.kind !== "own" || eps.length === 0) return [];
    return [{
      ...c,
      name: c.composeName ?? c.name,
      endpoints: eps.map((e) => ({ ...e, network: as })),
    }];
  });
}

/**
 * The containers of other labs that `model`'s lab shares a network with, with their endpoints
 * named by this lab's keys, for its embedded DNS: the guests on its own networks, and, on each of
 * its external networks, the owner's containers and the owner's other guests. Reads the machine.
 */
export function sharedGuests(model: Model): Container[] {
  const out: Container[] = [];
  for (const g of readGuests(model.lab)) out.push(...g.containers);
  for (const n of model.networks) {
    if (!n.external) continue;
    const owner = readState(n.external.lab)?.model;
    if (!owner) continue;
    out.push(...onNetwork(owner, n.external.network, n.name));
    for (const g of readGuests(n.external.lab)) {
      if (g.lab === model.lab) continue;
      out.push(
        ...g.containers.filter((c) => c.endpoints.some((e) => e.network === n.external!.network))
          .map((c) => ({ ...c, endpoints: c.endpoints.map((e) => ({ ...e, network: n.name })) })),
      );
    }
  }
  return out;
}

/** Labs to tell when a lab joins or leaves `owner`'s networks: the owner and its guests. */
function neighboursOf(owner: string, except: string): string[] {
  return [owner, ...readGuests(owner).map((g) => g.lab)].filter((l) => l !== except);
}

/** Makes the detached supervisors of `labs` re-read their guests; waits until each has. */
async function notify(labs: string[]): Promise<void> {
  for (const lab of new Set(labs)) {
    const state = readState(lab);
    if (!state) continue;
    try {
      Deno.removeSync(`${stateDir(lab)}/reloaded`); // so the wait sees this reload, not an old one
    } catch { /* none yet */ }
    await detachedSupervisor(lab).reload(state);
  }
}

/**
 * Records `model`'s endpoints on external networks with their owners (`guests/<lab>.json`, the
 * owner's IPAM record of them) and tells the owners and their other guests, so their DNS answers
 * for this lab's containers. Call after the lab is up.
 */
export async function joinSharedNetworks(model: Model): Promise<void> {
  const byOwner = new Map<string, Container[]>();
  for (const n of model.networks) {
    if (!n.external) continue;
    const list = byOwner.get(n.external.lab) ?? [];
    list.push(...onNetwork(model, n.name, n.external.network));
    byOwner.set(n.external.lab, list);
  }
  for (const [owner, containers] of byOwner) {
    Deno.mkdirSync(`${stateDir(owner)}/guests`, { recursive: true, mode: 0o700 });
    Deno.writeTextFileSync(guestFile(owner, model.lab), JSON.stringify(containers), {
      mode: 0o600,
    });
    await notify(neighboursOf(owner, model.lab));
  }
}

/** Removes `lab`'s records from every owner's guests and tells them (at `down`). Idempotent. */
export async function leaveSharedNetworks(lab: string): Promise<void> {
  for (const owner of listStateDirs()) {
    try {
      Deno.removeSync(guestFile(owner, lab));
    } catch {
      continue; // not a guest there
    }
    await notify(neighboursOf(owner, lab)).catch(() => {});
  }
}

/**
 * Refuses to remove `lab` (or one network of it) while containers of other labs are attached to
 * its networks, with Docker's text. Compose never removes an external network; the owner's
 * `down` would pull the bridge from under them.
 */
export function refuseWhileShared(lab: string, network?: string): void {
  const guests = readGuests(lab);
  if (guests.length === 0) return;
  const model = readState(lab)?.model;
  for (const g of guests) {
    for (const c of g.containers) {
      for (const e of c.endpoints) {
        if (network !== undefined && e.network !== network) continue;
        const n = model?.networks.find((x) => x.name === e.network);
        throw new NslabError(
          `error while removing network: network ${n?.dockerName ?? e.network} has active ` +
            `endpoints (name:"${c.composeName ?? c.name}" id:"${c.netns}"): lab "${g.lab}" ` +
            `uses it as an external network; run nslab down -p ${g.lab} first`,
          1,
        );
      }
    }
  }
}
