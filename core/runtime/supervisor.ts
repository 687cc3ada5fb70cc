/**
 * The supervisor of a running lab: one process (or, in the library, one object) that owns the
 * embedded DNS listeners, the responders and the container processes of a lab.
 *
 * @module
 */

import type { Container, Model } from "../model/types.ts";
import type { Plan, ProcessPlan } from "../plan/types.ts";
import { buildRecords } from "../dns/records.ts";
import { DnsServer } from "../dns/server.ts";
import { type Responder, startResponder } from "./responder.ts";
import { ProcessManager } from "./process.ts";
import { waitListening } from "./listening.ts";

/**
 * The DNS records a lab serves. docker0 (`network_mode: bridge`) gives no names, as in Docker; a
 * service without `networks:` is on the project network `<lab>_default`, which does.
 */
export function labRecords(model: Model): ReturnType<typeof buildRecords> {
  return buildRecords(model, { ttl: model.dns.ttl });
}

/** How long `up` waits for a container's command to listen on its declared ports. */
export const COMMAND_READY_MS = 10_000;

/** Everything a lab runs in user space. */
export class Supervisor {
  readonly lab: string;
  #dns: DnsServer;
  #responders = new Map<string, Responder>();
  #processes: ProcessManager;
  #dnsNamespaces = new Set<string>();
  /** Addresses each container's responders are bound to (they stay bound when one goes away). */
  #responderBinds = new Map<string, Set<string>>();
  /** Responders started by {@link reload} for addresses a container gained. */
  #addedResponders: Responder[] = [];
  /** The lab's containers by name (from the current model). */
  #containers = new Map<string, Container>();

  constructor(model: Model) {
    this.lab = model.lab;
    this.#setModel(model);
    this.#dns = new DnsServer(labRecords(model));
    this.#processes = new ProcessManager(model.lab);
  }

  #setModel(model: Model): void {
    this.#containers = new Map(model.containers.map((c) => [c.name, c]));
  }

  /** Starts DNS listeners, responders and commands for every process of the plan. */
  async start(plan: Plan): Promise<void> {
    for (const p of plan.processes) await this.#startOne(p);
    await this.#waitForCommands(plan);
  }

  /**
   * Waits (up to {@link COMMAND_READY_MS}) until each container command listens on the ports its
   * container publishes or exposes, so checks right after `up` do not race the program's start.
   * A command that never listens is reported on stderr, not fatal: it may be a client.
   */
  async #waitForCommands(plan: Plan): Promise<void> {
    const waits = plan.processes
      .filter((p) => p.command && p.listen.length > 0 && !this.#runByDocker(p))
      .map(async (p) => {
        const missing = await waitListening(p.netns, p.listen, COMMAND_READY_MS);
        if (missing.length) {
          console.error(
            `nslab: ${p.container}'s command does not listen on ${
              missing.map((m) => `${m.port}/${m.protocol}`).join(", ")
            } after ${COMMAND_READY_MS / 1000}s; checks of those ports will fail`,
          );
        }
      });
    await Promise.all(waits);
  }

  async #startOne(p: ProcessPlan): Promise<void> {
    if (p.dns && !this.#dnsNamespaces.has(p.netns)) {
      await this.#dns.listen(p.netns, p.container);
      this.#dnsNamespaces.add(p.netns);
    }
    if (this.#runByDocker(p)) return;
    if (p.command) {
      await this.#processes.start(p);
      return;
    }
    const c = this.#containers.get(p.container);
    // A sandbox without a command still has its own hostname for `nslab exec`.
    if (c && (c.mode.kind === "own" || c.mode.kind === "none")) this.#processes.prepare(p);
    if (p.listen.length > 0) {
      const binds = this.#bindAddresses(p);
      this.#responders.set(
        p.container,
        await startResponder(p.netns, p.container, p.listen, binds),
      );
      this.#responderBinds.set(p.container, new Set(binds));
    }
  }

  /** true for `runtime: docker`: Docker runs its command; nslab serves only its DNS. */
  #runByDocker(p: ProcessPlan): boolean {
    return this.#containers.get(p.container)?.runtime === "docker";
  }

  /**
   * Where a responder binds: in a namespace with the embedded DNS, the container's own addresses
   * and 127.0.0.1 (so port 53 can be published beside 127.0.0.11:53); elsewhere the wildcard.
   */
  #bindAddresses(p: ProcessPlan): string[] {
    if (!p.dns) return ["0.0.0.0"];
    const c = this.#containers.get(p.container)!;
    return ["127.0.0.1", ...c.endpoints.map((e) => e.address)];
  }

  /**
   * Applies a changed model (e.g. after `network connect`): DNS answers change at once, and a
   * container that gained an address gets its responder on it too. (A socket bound to an address
   * that went away stays open: it answers again if the address comes back.)
   */
  async reload(model: Model, plan: Plan): Promise<void> {
    this.#setModel(model);
    this.#dns.setTable(labRecords(model));
    for (const p of plan.processes) {
      if (p.dns && !this.#dnsNamespaces.has(p.netns)) {
        await this.#dns.listen(p.netns, p.container);
        this.#dnsNamespaces.add(p.netns);
      }
      if (p.command || p.listen.length === 0 || this.#runByDocker(p)) continue;
      const bound = this.#responderBinds.get(p.container) ?? new Set<string>();
      const added = this.#bindAddresses(p).filter((a) => !bound.has(a));
      if (added.length === 0) continue;
      const r = await startResponder(p.netns, p.container, p.listen, added);
      if (this.#responders.has(p.container)) this.#addedResponders.push(r);
      else this.#responders.set(p.container, r);
      for (const a of added) bound.add(a);
      this.#responderBinds.set(p.container, bound);
    }
  }

  /** Stops the DNS listener of one namespace (fault injection: checks must see DNS fail). */
  async stopDns(netns: string): Promise<void> {
    await this.#dns.unlisten(netns);
    this.#dnsNamespaces.delete(netns);
  }

  /** Stops everything the supervisor started. */
  async stop(): Promise<void> {
    for (const r of this.#responders.values()) r.close();
    this.#responders.clear();
    for (const r of this.#addedResponders) r.close();
    this.#addedResponders = [];
    this.#responderBinds.clear();
    await this.#processes.stopAll();
    this.#dns.close();
    this.#dnsNamespaces.clear();
  }
}
