/**
 * Containers: the `containers:` (or `services:`) section expanded into one draft per container
 * (replicas `<svc>-1..n`), with host, network mode, attachments, ports, command and environment
 * read and checked. Addresses are assigned later, once every network has its subnet.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Container, ExposedPort, NetworkMode } from "./types.ts";
import { MAX_CONTAINER, NAME_PATTERN, suggestion } from "./names.ts";
import {
  applyServiceMac,
  type Attachment,
  defaultAttachment,
  dropReplicatedMacs,
  type RawNetworks,
  readAttachments,
  type ServiceAttachment,
} from "./attachments.ts";
import {
  checkHostname,
  checkSharedHostname,
  type PublishedPort,
  readCommand,
  readEnvironment,
  readExpose,
  readPublishedPorts,
  readRestart,
  readRuntime,
} from "./service_fields.ts";
import { type RawServiceKeys, readServiceKeys, type ServiceKeys } from "./service_keys.ts";

/** One container before addresses and host ports are assigned. */
export interface Draft {
  name: string;
  service: string;
  replica: number | null;
  replicas: number;
  host: string;
  /** Whether the file set `host:` (else the first host was taken). */
  hostExplicit: boolean;
  path: (string | number)[];
  mode: NetworkMode;
  /** For `container:X` / `service:X`: the name given and where. */
  modeRef: { target: string; service: boolean } | null;
  attachments: Attachment[];
  ports: PublishedPort[];
  expose: ExposedPort[];
  command: string[] | null;
  environment: Record<string, string>;
  hostname: string;
  runtime: Container["runtime"];
  image: string | null;
  restart: Container["restart"];
  /** Compose's container name (`<project>-<service>-<n>` or `container_name`). */
  composeName: string;
  /** container_name, links, extra_hosts, dns keys, domainname. */
  keys: ServiceKeys;
  /** Services (lower case) this one's `depends_on` names: they start, and take addresses, first. */
  dependsOn: string[];
}

/** A service as left by the shape check (invalid parts removed). */
export interface RawService extends RawServiceKeys {
  mac_address?: string;
  depends_on?: (string | undefined)[] | Record<string, unknown>;
  host?: string;
  command?: string | (string | undefined)[];
  environment?: Record<string, string | undefined> | (string | undefined)[];
  hostname?: string;
  ports?: unknown[];
  expose?: (string | number | undefined)[];
  networks?: RawNetworks;
  network_mode?: string;
  deploy?: { replicas?: number };
  scale?: number;
  runtime?: string;
  image?: string;
  build?: unknown;
  restart?: string;
}

/** Everything {@link expandServices} needs to know about the rest of the file. */
export interface ServiceContext {
  section: "containers" | "services";
  hosts: string[];
  networks: string[];
  /** Networks declared but not built, each already reported (an external one not found …). */
  unbuilt?: string[];
  /** The project (lab) name, for Compose's container names. */
  project: string;
  diags: Diagnostics;
  positions: Positions;
}

/** A service whose image (or build) nslab ignores, for the one warning that lists them all. */
interface IgnoredImage {
  path: (string | number)[];
  /** Whether its `command` was dropped with the image. */
  command: boolean;
  build: boolean;
}

/** A service's network mode as written, with what `container:`/`service:` names. */
interface ServiceNetworkMode {
  mode: NetworkMode;
  modeRef: Draft["modeRef"];
  /** `network_mode: bridge`/`default`: the container joins docker0. */
  docker0: boolean;
}

/** What every replica of a service shares; each replica's draft is a copy with its own name. */
type ServiceTemplate =
  & Omit<Draft, "name" | "replica" | "attachments" | "hostname" | "composeName">
  & {
    attachments: ServiceAttachment[];
    replicated: boolean;
    hostname: string | undefined;
  };

/**
 * Expands every service into containers (file order, replicas in order), checking names, hosts,
 * network references, ports and the network mode rules Docker enforces.
 */
export function expandServices(
  raw: Record<string, RawService | undefined>,
  ctx: ServiceContext,
): Draft[] {
  const drafts: Draft[] = [];
  const ignoredImages: IgnoredImage[] = [];
  const keyOfName = new Map<string, string>();
  for (const [key, svc] of Object.entries(raw)) {
    const service = claimServiceName(key, keyOfName, ctx);
    if (service === null || svc === undefined) continue;
    const template = readService(svc, key, service, ctx, ignoredImages);
    for (let r = 1; r <= template.replicas; r++) drafts.push(replicaDraft(template, r, ctx));
  }
  warnIgnoredImages(ignoredImages, ctx);
  return drafts;
}

/**
 * The service's name in lower case (Compose allows any case; kernel and DNS names are lower
 * case), or null when it cannot name a namespace or clashes with another key but for case.
 */
function claimServiceName(
  key: string,
  keyOfName: Map<string, string>,
  ctx: ServiceContext,
): string | null {
  const keyPos = ctx.positions.keyOf([ctx.section, key]);
  const service = key.toLowerCase();
  if (!NAME_PATTERN.test(service) || service.length > MAX_CONTAINER) {
    ctx.diags.error(
      keyPos,
      `container name "${key}" cannot be used: names become namespace and DNS names`,
      `use letters, digits, '_', '.' and '-', start with a letter or digit, at most ` +
        `${MAX_CONTAINER} characters`,
    );
    return null;
  }
  if (keyOfName.has(service)) {
    ctx.diags.error(
      keyPos,
      `service names "${keyOfName.get(service)}" and "${key}" differ only in case: both would ` +
        `be namespace <lab>-${service}`,
      "rename one of them",
    );
    return null;
  }
  keyOfName.set(service, key);
  return service;
}

/** Reads and checks one service's settings: everything its replicas have in common. */
function readService(
  svc: RawService,
  key: string,
  service: string,
  ctx: ServiceContext,
  ignoredImages: IgnoredImage[],
): ServiceTemplate {
  const path: (string | number)[] = [ctx.section, key];
  const host = readHost(svc.host, path, ctx);
  const { mode, modeRef, docker0 } = readNetworkMode(svc, service, path, ctx);
  const attachments = mode.kind !== "own"
    ? []
    : svc.networks === undefined
    ? [defaultAttachment(docker0, path)]
    : readAttachments(svc.networks, path, ctx);
  const replicas = readReplicas(svc, path, ctx);
  applyServiceMac(svc.mac_address, attachments, path, ctx);
  dropReplicatedMacs(attachments, service, replicas, ctx);
  const ports = readPublishedPorts(svc.ports, service, mode, path, ctx);
  const expose = readExpose(svc.expose, service, mode, path, ctx);
  checkSharedHostname(svc.hostname, service, mode, path, ctx);
  let command = readCommand(svc.command, path, ctx);
  checkHostname(svc.hostname, path, ctx);
  const runtime = readRuntime(svc, service, mode, path, ctx);
  // With an image (or a build), `command` is the image's: a sandbox cannot run it.
  if (runtime === "netns" && (svc.image !== undefined || svc.build !== undefined)) {
    ignoredImages.push({ path, command: command !== null, build: svc.build !== undefined });
    command = null;
  }
  const restart = readRestart(svc.restart);
  const environment = readEnvironment(svc.environment, path, ctx);
  const keys = readServiceKeys(svc, path, replicas, ctx.diags, ctx.positions);
  return {
    service,
    replicas,
    replicated: svc.deploy?.replicas !== undefined || svc.scale !== undefined,
    host,
    hostExplicit: svc.host !== undefined,
    path,
    mode,
    modeRef,
    attachments,
    ports,
    expose,
    command,
    environment,
    hostname: svc.hostname,
    runtime,
    image: svc.image ?? null,
    restart,
    keys,
    dependsOn:
      (Array.isArray(svc.depends_on)
        ? svc.depends_on.filter((x): x is string => x !== undefined)
        : Object.keys(svc.depends_on ?? {})).map((x) => x.toLowerCase()),
  };
}

/** The service's `host:`, or the first host when it names none (or an undefined one). */
function readHost(
  host: string | undefined,
  path: (string | number)[],
  ctx: ServiceContext,
): string {
  if (host === undefined) return ctx.hosts[0];
  if (ctx.hosts.includes(host)) return host;
  ctx.diags.error(
    ctx.positions.of([...path, "host"]),
    `host "${host}" is not defined${suggestion(host, ctx.hosts)}`,
    `use one of: ${ctx.hosts.join(", ")}, or declare it under hosts:`,
  );
  return ctx.hosts[0];
}

/** `network_mode:` read; it cannot be combined with `networks:`. */
function readNetworkMode(
  svc: RawService,
  service: string,
  path: (string | number)[],
  ctx: ServiceContext,
): ServiceNetworkMode {
  const nm = svc.network_mode;
  let mode: NetworkMode = { kind: "own" };
  let modeRef: Draft["modeRef"] = null;
  if (nm === "host") mode = { kind: "host" };
  else if (nm === "none") mode = { kind: "none" };
  else if (nm !== undefined && (nm.startsWith("container:") || nm.startsWith("service:"))) {
    const isService = nm.startsWith("service:");
    modeRef = { target: nm.slice(nm.indexOf(":") + 1), service: isService };
    mode = { kind: "container", of: modeRef.target };
  }
  if (nm !== undefined && svc.networks !== undefined) {
    ctx.diags.error(
      ctx.positions.of([...path, "network_mode"]),
      `service "${service}" declares mutually exclusive \`network_mode\` and \`networks\``,
      "remove one of them",
    );
  }
  return { mode, modeRef, docker0: nm === "bridge" || nm === "default" };
}

/** `deploy.replicas` or `scale` (not both), 1 when neither is set. */
function readReplicas(svc: RawService, path: (string | number)[], ctx: ServiceContext): number {
  if (svc.deploy?.replicas !== undefined && svc.scale !== undefined) {
    ctx.diags.error(
      ctx.positions.keyOf([...path, "scale"]),
      "scale and deploy.replicas are both set",
      "keep one of them (deploy.replicas)",
    );
  }
  return svc.deploy?.replicas ?? svc.scale ?? 1;
}

/**
 * Replica `r` (from 1) of a service: named `<svc>-<r>` when the service is replicated, with fixed
 * addresses offset by `r - 1`; nothing is shared between replicas' drafts.
 */
function replicaDraft(t: ServiceTemplate, r: number, ctx: ServiceContext): Draft {
  const name = t.replicated ? `${t.service}-${r}` : t.service;
  return {
    name,
    service: t.service,
    replica: t.replicated ? r : null,
    replicas: t.replicas,
    host: t.host,
    hostExplicit: t.hostExplicit,
    path: t.path,
    mode: t.mode.kind === "container" ? { ...t.mode } : t.mode,
    modeRef: t.modeRef,
    attachments: t.attachments.map((a) => ({
      ...a,
      aliases: [...a.aliases],
      ipv4: a.ipv4Base === null ? null : a.ipv4Base + r - 1,
      ipv6: a.ipv6Base === null ? null : a.ipv6Base + BigInt(r - 1),
    })),
    ports: t.ports.map((p) => ({ req: { ...p.req }, path: p.path })),
    expose: t.expose.map((e) => ({ ...e })),
    command: t.command ? [...t.command] : null,
    environment: { ...t.environment },
    hostname: t.hostname ?? name,
    runtime: t.runtime,
    image: t.image,
    restart: t.restart,
    composeName: t.keys.containerName ?? `${ctx.project}-${t.service}-${r}`,
    keys: t.keys,
    dependsOn: [...t.dependsOn],
  };
}

/** One warning for every service whose image (and command) nslab does not run. */
function warnIgnoredImages(ignored: IgnoredImage[], ctx: ServiceContext): void {
  if (ignored.length === 0) return;
  const commands = ignored.filter((x) => x.command).length;
  const what = ignored.some((x) => x.build) ? '"image" and "build"' : '"image"';
  ctx.diags.warn(
    ctx.positions.keyOf([...ignored[0].path, "image"]),
    `${what} ignored: nslab builds only the network (runtime netns; set runtime: docker to ` +
      "use it)" + (ignored.length > 1 ? ` (${ignored.length} places)` : "") +
      (commands > 0
        ? `; the image's command is not run either (${commands} service(s)): nslab's ` +
          "responder answers on their ports"
        : ""),
  );
}

/**
 * The order Compose starts containers in: a service after the services it `depends_on`, otherwise
 * file order (Compose starts independent services at once; file order is nslab's deterministic
 * choice). Addresses are handed out in this order, as the engine does when each one starts.
 * Unknown names and cycles do not reorder (cycles are Compose's own error, reported elsewhere).
 */
export function startOrder(drafts: Draft[]): Draft[] {
  const services = [...new Set(drafts.map((d) => d.service))];
  const deps = new Map(drafts.map((d) => [d.service, d.dependsOn]));
  const placed = new Set<string>();
  const order: string[] = [];
  const visit = (s: string, path: string[]) => {
    if (placed.has(s) || path.includes(s) || !deps.has(s)) return;
    for (const d of deps.get(s)!) visit(d, [...path, s]);
    placed.add(s);
    order.push(s);
  };
  for (const s of services) visit(s, []);
  const rank = new Map(order.map((s, i) => [s, i]));
  return drafts.map((d, i) => ({ d, i }))
    .sort((a, b) => rank.get(a.d.service)! - rank.get(b.d.service)! || a.i - b.i)
    .map(({ d }) => d);
}
