/**
 * Where the applier writes: a {@link KernelTarget} hands out one netlink {@link Requester} per
 * namespace and does the few things that are not netlink (create a namespace, set a sysctl, load
 * a firewall, write `/etc/netns` files). {@link LiveKernel} is the real machine, queueing each
 * namespace's requests in one batch (`up`) or sending each at once (network operations, which
 * stop at the first failure). {@link RecordingKernel} touches nothing: it keeps the exact netlink
 * messages and a line per other action, for `nslab plan --dry-run` and for unit tests.
 *
 * @module
 */

import type { ImpairPlan } from "../plan/impair.ts";
import { applyImpairments } from "./impair.ts";
import type { NsName } from "../plan/types.ts";
import {
  Batch,
  closeHandle,
  handleFor,
  NetlinkHandle,
  RecordingRequester,
  type Requester,
} from "./netlink/client.ts";
import { linkDel, linkGet, linkList } from "./netlink/link.ts";
import type { Body } from "./netlink/codec.ts";
import type { RequestInfo } from "./netlink/errors.ts";
import {
  adoptNetns,
  closeNetns,
  createNetns,
  deleteNetns,
  netnsFd,
  originalNetnsFd,
  setSysctl,
} from "./netns/netns.ts";
import { writeManyNetnsFiles } from "./netns/files.ts";
import { applyFirewall, restoreTool } from "./firewall.ts";
import type { Family } from "../plan/firewall/family.ts";
import { SyscallError } from "./sys/ffi.ts";
import { NslabError } from "../errors.ts";

/** A link that exists already: enough to refer to it and to keep a bridge's MAC. */
export interface KnownLink {
  name: string;
  index: number;
  kind: string;
  mac: string;
}

/** /etc/netns files of one sandbox. */
export interface NetnsFiles {
  netns: NsName;
  files: Record<string, string>;
}

/** What the applier writes to. */
export interface KernelTarget {
  /** Where netlink requests acting in `ns` go (queued until {@link flush}, or sent at once). */
  requester(ns: NsName): Requester;
  /** Sends everything queued, namespace by namespace in the order they were first used. */
  flush(): void;
  /** The links of `ns` as they are now. */
  links(ns: NsName): KnownLink[];
  /** The ifindex of `name` in `ns` now, or undefined. */
  linkIndex(ns: NsName, name: string): number | undefined;
  /** A descriptor of namespace `ns` (`""`: the namespace nslab started in), e.g. for a veth peer. */
  netnsFd(ns: NsName): number;
  /** Creates (or, with `source`, pins an existing) namespace; says how to fix EEXIST. */
  createNamespace(name: NsName, source: string | undefined): void;
  /** Deletes a namespace this apply created (rollback). */
  deleteNamespace(name: NsName): void;
  /** Deletes a root-namespace link if it still carries `tag` (rollback, `down`); true if it did. */
  deleteRootLink(name: string, tag: string): boolean;
  setSysctl(ns: NsName, key: string, value: string): void;
  writeFiles(work: NetnsFiles[]): Promise<void>;
  /** Loads a ruleset with `iptables-restore` (`ipv4`) or `ip6tables-restore` (`ipv6`). */
  loadFirewall(netns: NsName, rules: string, family: Family): Promise<void>;
  /** Takes the impairments from one plan section to another (core/kernel/impair.ts). */
  impair(from: ImpairPlan | undefined, to: ImpairPlan | undefined): Promise<void>;
  /** Lets go of what is held open for `ns` (its handle and descriptor). */
  release(ns: NsName): void;
  /** Requests sent (or recorded) and `sendto` calls made so far. */
  readonly requests: number;
  readonly sends: number;
}

/** Requests and `sendto` calls of one apply. */
interface Count {
  requests: number;
  sends: number;
}

/** Counts requests (and, when sent at once, their sends) on their way to another requester. */
class Counted implements Requester {
  readonly ns: string;
  #inner: Requester;
  #handle: NetlinkHandle | null;
  #count: Count;
  constructor(inner: Requester, handle: NetlinkHandle | null, count: Count) {
    this.ns = inner.ns;
    this.#inner = inner;
    this.#handle = handle;
    this.#count = count;
  }
  request(type: number, flags: number, body: Body, info: RequestInfo): void {
    this.#count.requests++;
    const before = this.#handle?.sends ?? 0;
    try {
      this.#inner.request(type, flags, body, info);
    } finally {
      if (this.#handle) this.#count.sends += this.#handle.sends - before;
    }
  }
}

/** The real kernel. `batch`: one `sendto` per namespace per {@link flush} (`up`). */
export class LiveKernel implements KernelTarget {
  #batch: boolean;
  #lab: string;
  #count: Count = { requests: 0, sends: 0 };
  #batches = new Map<NsName, Batch>();
  #own = new Map<NsName, NetlinkHandle>();

  constructor(lab: string, opts: { batch: boolean }) {
    this.#lab = lab;
    this.#batch = opts.batch;
  }

  get requests(): number {
    return this.#count.requests;
  }

  get sends(): number {
    return this.#count.sends;
  }

  /** Batches use the cached handles (`handleFor`); direct requests a handle of this apply's own. */
  #handle(ns: NsName): NetlinkHandle {
    if (this.#batch) return handleFor(ns);
    let h = this.#own.get(ns);
    if (!h || !h.open) this.#own.set(ns, h = new NetlinkHandle(ns));
    return h;
  }

  requester(ns: NsName): Requester {
    const h = this.#handle(ns);
    if (!this.#batch) return new Counted(h, h, this.#count);
    let b = this.#batches.get(ns);
    if (!b) this.#batches.set(ns, b = new Batch(h, { lab: this.#lab }));
    return new Counted(b, null, this.#count);
  }

  flush(): void {
    for (const b of this.#batches.values()) {
      if (b.size === 0) continue;
      const before = b.handle.sends;
      try {
        b.flush();
      } finally {
        this.#count.sends += b.handle.sends - before;
      }
    }
  }

  links(ns: NsName): KnownLink[] {
    return linkList(this.#handle(ns));
  }

  linkIndex(ns: NsName, name: string): number | undefined {
    return linkGet(this.#handle(ns), name)?.index;
  }

  netnsFd(ns: NsName): number {
    return ns === "" ? originalNetnsFd() : netnsFd(ns);
  }

  createNamespace(name: NsName, source: string | undefined): void {
    try {
      if (source === undefined) createNetns(name);
      else adoptNetns(name, source);
    } catch (e) {
      if (e instanceof SyscallError && e.errno === 17) {
        throw new NslabError(
          `Cannot create namespace "${name}": it already exists (EEXIST); another lab or a ` +
            `leftover uses it — run "nslab down -p ${this.#lab}" or pick another lab name`,
        );
      }
      throw new NslabError(`Cannot create namespace "${name}": ${(e as Error).message}`, 1, {
        cause: e,
      });
    }
  }

  deleteNamespace(name: NsName): void {
    this.#forget(name);
    deleteNetns(name);
  }

  deleteRootLink(name: string, tag: string): boolean {
    const h = this.#handle("");
    const l = linkGet(h, name);
    if (!l || l.alias !== tag) return false;
    linkDel(h, l.index);
    return true;
  }

  setSysctl(ns: NsName, key: string, value: string): void {
    setSysctl(ns, key, value);
  }

  writeFiles(work: NetnsFiles[]): Promise<void> {
    return writeManyNetnsFiles(work);
  }

  loadFirewall(netns: NsName, rules: string, family: Family): Promise<void> {
    return applyFirewall(netns, rules, family);
  }

  impair(from: ImpairPlan | undefined, to: ImpairPlan | undefined): Promise<void> {
    return applyImpairments(from, to);
  }

  release(ns: NsName): void {
    this.#forget(ns);
    closeNetns(ns);
  }

  /** Closes the handles this kernel opened for itself (direct mode). */
  close(): void {
    for (const h of this.#own.values()) h.close();
    this.#own.clear();
  }

  #forget(ns: NsName): void {
    this.#batches.delete(ns);
    if (this.#batch) closeHandle(ns);
    else {
      this.#own.get(ns)?.close();
      this.#own.delete(ns);
    }
  }
}

/** One recorded netlink request, with the namespace it acts in. */
export interface RecordedRequest {
  ns: NsName;
  info: RequestInfo;
  /** The message as it would go on the wire (sequence number 1). */
  bytes: Uint8Array;
}

/** One entry of a {@link RecordingKernel}'s log: a netlink request, or another action. */
export type RecordedStep = { kind: "netlink" } & RecordedRequest | { kind: "action"; text: string };

/**
 * Touches nothing: records every netlink request and a line for every other action, in the
 * order they would happen. Namespaces it "creates" start with `lo` only; `existing` gives the
 * links of namespaces that already exist.
 */
export class RecordingKernel implements KernelTarget {
  /** Everything, in order. */
  readonly log: RecordedStep[] = [];
  #queued = new Map<NsName, RecordingRequester>();
  #existing: Map<NsName, KnownLink[]>;

  constructor(existing: Record<NsName, KnownLink[]> = {}) {
    this.#existing = new Map(Object.entries(existing));
  }

  /** Netlink requests in the order they would be sent. */
  get messages(): RecordedRequest[] {
    return this.log.flatMap((e) => e.kind === "netlink" ? [e] : []);
  }

  /** Everything that is not netlink, as a line: `netns add lab-h1`, `sysctl …`. */
  get actions(): string[] {
    return this.log.flatMap((e) => e.kind === "action" ? [e.text] : []);
  }

  get requests(): number {
    return this.messages.length;
  }

  get sends(): number {
    return 0;
  }

  #act(text: string): void {
    this.log.push({ kind: "action", text });
  }

  requester(ns: NsName): Requester {
    let r = this.#queued.get(ns);
    if (!r) this.#queued.set(ns, r = new RecordingRequester(ns));
    return r;
  }

  flush(): void {
    for (const [ns, r] of this.#queued) {
      const bytes = r.encode();
      r.requests.forEach((p, i) =>
        this.log.push({ kind: "netlink", ns, info: p.info, bytes: bytes[i] })
      );
      r.requests.length = 0;
    }
  }

  links(ns: NsName): KnownLink[] {
    return this.#existing.get(ns) ?? [{ name: "lo", index: 1, kind: "", mac: "" }];
  }

  /**
   * Links not in `existing` whose index the kernel picks (the root end of the uplink) show as
   * ifindex 0: the recording cannot know it, the message's device name says which.
   */
  linkIndex(ns: NsName, name: string): number | undefined {
    return this.links(ns).find((l) => l.name === name)?.index ?? 0;
  }

  /** Not a real descriptor: recorded messages show `-1` where a namespace fd would go. */
  netnsFd(_ns: NsName): number {
    return -1;
  }

  createNamespace(name: NsName, source: string | undefined): void {
    this.#act(source === undefined ? `netns add ${name}` : `netns pin ${name} ${source}`);
  }

  deleteNamespace(name: NsName): void {
    this.#act(`netns delete ${name}`);
  }

  deleteRootLink(name: string, _tag: string): boolean {
    this.#act(`link delete ${name}`);
    return true;
  }

  setSysctl(ns: NsName, key: string, value: string): void {
    this.#act(`sysctl ${ns} ${key.replaceAll("/", ".")}=${value}`);
  }

  writeFiles(work: NetnsFiles[]): Promise<void> {
    for (const w of work) {
      for (const name of Object.keys(w.files).sort()) {
        this.#act(`write /etc/netns/${w.netns}/${name}`);
      }
    }
    return Promise.resolve();
  }

  loadFirewall(netns: NsName, rules: string, family: Family): Promise<void> {
    this.#act(`${restoreTool(family)} ${netns} (${rules.split("\n").length} lines)`);
    return Promise.resolve();
  }

  impair(from: ImpairPlan | undefined, to: ImpairPlan | undefined): Promise<void> {
    const names = (p: ImpairPlan | undefined) => (p?.links ?? []).map((l) => l.name).join(",");
    this.#act(`impairments [${names(from)}] → [${names(to)}] (relays, tc, iptables-restore)`);
    return Promise.resolve();
  }

  release(_ns: NsName): void {}
}
