/**
 * What a running lab looks like right now, for the live page and `check --format svg`: its model
 * (after any `network connect`), the last check run (kept in the state directory by `nslab check`
 * and `lab.check()`), and the link state of every endpoint read from the kernel.
 *
 * @module
 */

import type { CheckReport } from "../checks/types.ts";
import type { LinkState, LiveView } from "./live_picture.ts";
import type { Model } from "../model/types.ts";
import { NetlinkHandle } from "../kernel/netlink/client.ts";
import { linkList } from "../kernel/netlink/link.ts";
import { readState, stateDir, writeStateFile } from "./state.ts";
import { formatImpair } from "../model/impair.ts";

const LAST_CHECK = "last-check.json";

/** A check run as kept on disk: the report and when it finished. */
interface KeptCheck {
  at: string;
  report: CheckReport;
}

/** Keeps a check run of `lab` for the live page (replacing the previous one). */
export function keepLastCheck(lab: string, report: CheckReport): void {
  if (readState(lab) === null) return; // the lab went down meanwhile: nothing to show it on
  const kept: KeptCheck = { at: new Date().toISOString(), report };
  writeStateFile(lab, LAST_CHECK, JSON.stringify(kept));
}

/** The last check run of `lab`, or null when none ran since `up`. */
export function lastCheck(lab: string): KeptCheck | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`${stateDir(lab)}/${LAST_CHECK}`)) as KeptCheck;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * The state of each endpoint's host-side veth (`container@network` → up, down or missing), read
 * with one link dump per host namespace. Equivalent to: `ip -n <lab>-<host> link show`. Endpoints
 * without a host-side veth (macvlan) are left out; a host namespace that is gone makes all of its
 * endpoints `missing`.
 */
export function linkStates(model: Model): Record<string, LinkState> {
  const out: Record<string, LinkState> = {};
  const byHost = new Map<string, Map<string, { up: boolean; lowerUp: boolean }>>();
  for (const host of model.hosts) {
    const links = new Map<string, { up: boolean; lowerUp: boolean }>();
    let h: NetlinkHandle | null = null;
    try {
      // A fresh handle each time: a cached one would keep the namespace alive after `down`.
      h = new NetlinkHandle(host.netns, { probe: true });
      for (const l of linkList(h)) links.set(l.name, l);
    } catch {
      // The namespace is gone: every endpoint of the host reads as missing.
    } finally {
      h?.close();
    }
    byHost.set(host.name, links);
  }
  for (const c of model.containers) {
    for (const e of c.endpoints) {
      if (!e.hostIfname) continue;
      const l = byHost.get(c.host)?.get(e.hostIfname);
      out[`${c.name}@${e.network}`] = !l ? "missing" : l.up && l.lowerUp ? "up" : "down";
    }
  }
  return out;
}

/** Declared impairments per endpoint (`container@network` → `delay 50ms, loss 10%`), for people. */
export function impairmentLabels(model: Model): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of model.containers) {
    for (const e of c.endpoints) {
      const text = e.impair ? formatImpair(e.impair) : "";
      if (text) out[`${c.name}@${e.network}`] = text;
    }
  }
  return out;
}

/** The live view of a running lab, or null when it is not up. */
export function liveView(lab: string): LiveView | null {
  const state = readState(lab);
  if (!state) return null;
  const kept = lastCheck(lab);
  return {
    model: state.model,
    report: kept?.report ?? null,
    checkedAt: kept?.at,
    links: linkStates(state.model),
    impairments: impairmentLabels(state.model),
  };
}
