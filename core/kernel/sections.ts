/**
 * The sections of a plan delta, in apply order, and what an apply of them is told and reports.
 * Each section is one case of the applier's `switch` (`applier.ts`); the `never` check there
 * means a section added to {@link SECTION_GROUPS}' type without an applier does not compile, and
 * {@link PLAN_SECTIONS} / {@link NAMESPACE_SECTIONS} map every field of a plan and of a
 * namespace's plan to the sections that apply it, so a new field without a section does not
 * compile either.
 *
 * @module
 */

import type { NamespacePlan, NsName, Plan } from "../plan/types.ts";

/**
 * Sections in apply order. Requests of one group travel together: the target is flushed after
 * each group (one batch per namespace per group when it batches).
 */
export const SECTION_GROUPS = [
  ["namespaces"],
  ["sysctls", "files"],
  ["bridge macs"],
  ["impairments lifted"],
  ["removals"],
  ["root links removed", "namespaces removed"],
  ["machine links"],
  ["links"],
  ["root links"],
  ["bridge ports", "up", "addresses", "routes", "neighbours", "fdb"],
  ["root config"],
  ["bridge macs"],
  ["xfrm"],
  ["firewall"],
  ["impairments"],
] as const;

/** One section of a delta. */
export type Section = typeof SECTION_GROUPS[number][number];

/** The sections that apply each field of a plan (null: not applied to the kernel). */
export const PLAN_SECTIONS: { [K in keyof Plan]-?: Section[] | null } = {
  lab: null,
  root: ["root links", "root config", "root links removed"],
  namespaces: ["namespaces", "namespaces removed"],
  firewall: ["firewall"],
  xfrm: ["xfrm"],
  processes: ["files"],
  impair: ["impairments lifted", "impairments"],
};

/** The section that applies each field of a namespace's plan (null: not a kernel object). */
export const NAMESPACE_SECTIONS: { [K in keyof NamespacePlan]-?: Section | null } = {
  name: "namespaces",
  role: null,
  owner: null,
  sysctls: "sysctls",
  links: "links",
  up: "up",
  addrs: "addresses",
  routes: "routes",
  neighs: "neighbours",
  fdb: "fdb",
};

/** Options of `applyDelta`. */
export interface DeltaOptions {
  /** The lab's journal file, appended with every object before it is created. */
  journal?: string;
  /** Called before each section. */
  onSection?: (section: Section) => void;
  /** New namespaces that exist elsewhere already (a Docker container's): pinned, not created. */
  adopt?: Record<NsName, string>;
  /**
   * Keep going past every error and collect it (used when rolling a half-applied delta back:
   * some of its objects are already as wanted, and the rest must still be tried).
   */
  tolerant?: boolean;
  /**
   * Filled with `ns\0name` of every link created, as it happens (with a target that sends at
   * once) — still valid when the apply throws, so a rollback removes only what it made.
   */
  created?: Set<string>;
  /** Remove only the links in this set (`ns\0name`); others are left alone. */
  onlyRemove?: Set<string>;
  /**
   * Delete only the namespaces in this set (`down`: those the journal and the lab's tag show are
   * the lab's); others are left alone.
   */
  onlyNamespaces?: Set<string>;
}

/** What an apply did. */
export interface DeltaReport {
  lab: string;
  /** Namespaces created (or pinned). */
  namespaces: string[];
  /** Links created in the root namespace. */
  rootLinks: string[];
  /** Kernel requests sent. */
  requests: number;
  /** `sendto` calls made (requests travel in batches). */
  sends: number;
  /** Hosts whose firewall was loaded. */
  firewalls: string[];
  /** Errors tolerated (only with `tolerant`). */
  tolerated: Error[];
  /** Namespaces and root links deleted (`down`). */
  removed: { namespaces: string[]; rootLinks: string[] };
}
