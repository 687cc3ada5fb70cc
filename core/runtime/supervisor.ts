/**
 * The supervisor of a running lab: one process (or, in the library, one object) that owns the
 * embedded DNS listeners, the responders and the container processes of a lab.
 *
 * @module
 */

import type { Container, Model } from "../model/types.ts";
import type { Plan, ProcessPlan } from "../plan/types.ts";
import { buildRecords, type RecordTable } from "../dns/records.ts";
import { DnsServer } from "../dns/server.ts";
import { type Responder, startResponder } from "./responder.ts";
import { ProcessManager } from "./process.ts";
import { waitListening } from "./listening.ts";
import { ensureOpenFiles } from "../kernel/sys/limits.ts";
import { closeNetns } from "../kernel/netns/netns.ts";
import { RelaySet } from "./relay.ts";
import { LoopbackProxy, loopbackTargets } from "./loopback_proxy.ts";
import { bindAddresses, supervisorDescriptors } from "./descriptors.ts";

export { supervisorDescriptors };

/**
 * The DNS records a lab serves. docker0 (`network_mode: bridge`) gives no names, as in Docker; a
 * service without `networks:` is on the project network `<lab>_default`, which does.
 */
export function labRecords(
  model: Model,
  guests: Container[] = [],
): ReturnType<typeof buildRecords> {
  return buildRecords(model, { ttl: model.dns.ttl, guests });
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
  #model!: Model;
  /** Other labs' containers on this lab's shared networks ({@link setGuests}). */
  #guests: Container[] = [];
  /** Proxies of the ports published on `[::1]` (core/runtime/loopback_proxy.ts). */
  #loopbackProxies: LoopbackProxy[] = [];
  /** Delay relays of the plan's impaired links (core/runtime/relay.ts). */
  readonly relays: RelaySet = new RelaySet();

  constructor(model: Model) {
    this.lab = model.lab;
    this.#setModel(model);
    this.#dns = new DnsServer(labRecords(model));
    this.#processes = new ProcessManager(model.lab);
  }

  #setModel(model: Model): void {
    this.#model = model;
    this.#containers = new Map(model.containers.map((c) => [c.name, c]));
  }

  /**
   * Serves the names of other labs' containers on this lab's shared networks too (see
   * `core/lab/shared.ts`), from now on: the DNS answers change at once.
   */
  setGuests(guests: Container[]): void {
    this.#guests = guests;
    this.#dns.setTable(labRecords(this.#model, guests));
  }

  /**
   * Starts DNS listeners, responders and commands for every process of the plan, after making
   * room for their descriptors (or refusing, with the numbers, when the machine cannot).
   */
  async start(plan: Plan): Promise<void> {
    ensureOpenFiles(
      supervisorDescriptors([...this.#containers.values()], plan),
      `the supervisor of lab "${this.lab}"`,
    );
    this.relays.sync(plan.impair);
    // A namespace's handle is needed only while its sockets are made (4,000 containers would
    // otherwise keep 4,000 more descriptors open); it is reopened when needed again.
    for (const p of plan.processes) {
      await this.#startOne(p);
      closeNetns(p.netns);
    }
    await this.#waitForCommands(plan);
    for (const p of plan.processes) closeNetns(p.netns);
    const served = new Set(plan.processes.map((p) => p.container));
    for (const target of loopbackTargets(this.#model, served)) {
      this.#loopbackProxies.push(LoopbackProxy.start(target));
    }
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
    // A sandbox without a command gets its own hostname when first used (pinOnFirstUse).
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

  #bindAddresses(p: ProcessPlan): string[] {
    return bindAddresses(p, this.#containers.get(p.container)!);
  }

  /**
   * Applies a changed model (e.g. after `network connect`): DNS answers change at once, and a
   * container that gained an address gets its responder on it too. (A socket bound to an address
   * that went away stays open: it answers again if the address comes back.)
   */
  async reload(model: Model, plan: Plan): Promise<void> {
    this.#setModel(model);
    this.#dns.setTable(labRecords(model, this.#guests));
    this.relays.sync(plan.impair);
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

  /**
   * Answers `line` on TCP `address:port` in `netns` until {@link stop}: a host part's announcement
   * to the other parts of its lab (core/lab/join.ts).
   */
  async announce(netns: string, address: string, port: number, line: string): Promise<void> {
    this.#addedResponders.push(
      await startResponder(netns, line, [{ port, protocol: "tcp" }], [
        address,
      ]),
    );
  }

  /** The records the embedded DNS answers from now (the lab's, unless a test replaced them). */
  get dnsRecords(): RecordTable {
    return this.#dns.table;
  }

  /**
   * Answers from `table` instead of the lab's records until the next {@link reload} (fault
   * injection: checks must see a wrong answer, e.g. an AAAA pointing elsewhere, fail).
   */
  serveDnsRecords(table: RecordTable): void {
    this.#dns.setTable(table);
  }

  /** Stops the DNS listener of one namespace (fault injection: checks must see DNS fail). */
  async stopDns(netns: string): Promise<void> {
    await this.#dns.unlisten(netns);
    this.#dnsNamespaces.delete(netns);
  }

  /**
   * What a supervisor process does before it exits: stops the delay relays and the container
   * commands (their pins and mounts would outlive it). Its sockets, 16,000 at 4,000 containers,
   * are left for the kernel to close at exit: closing them one by one took ~1 s of each `down`.
   */
  async stopBeforeExit(): Promise<void> {
    this.relays.closeAll();
    await this.#processes.stopAll();
  }

  /** Stops everything the supervisor started. */
  async stop(): Promise<void> {
    this.relays.closeAll();
    for (const p of this.#loopbackProxies) p.close();
    this.#loopbackProxies = [];
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
