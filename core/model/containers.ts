/**
 * Containers: the `containers:` (or `services:`) section expanded into one draft per container
 * (replicas `<svc>-1..n`), with host, network mode, attachments, ports, command and environment
 * read and checked. Addresses are assigned later, once every network has its subnet.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./schema.ts";
import type { Container, ExposedPort, NetworkMode } from "./types.ts";
import { parseIp } from "./ip.ts";
import { parseIp6 } from "./ip6.ts";
import { MAX_CONTAINER, NAME_PATTERN, suggestion } from "./names.ts";
import { isPortError, parseExpose, parsePort, type PortRequest } from "./ports.ts";
import { splitWords } from "./shellwords.ts";
import { DOCKER0_NETWORK, PROJECT_NETWORK } from "./networks.ts";
import { type RawServiceKeys, readServiceKeys, type ServiceKeys } from "./service_keys.ts";

/** A container's request to join one network. */
export interface Attachment {
  network: string;
  aliases: string[];
  /** Fixed address for this container (replica offset applied), or null. */
  ipv4: number | null;
  /** The service's ipv4_address (replica 1's address), for messages. */
  ipv4Base: number | null;
  /** Fixed IPv6 address (replica offset applied), or null. */
  ipv6: bigint | null;
  /** The service's ipv6_address (replica 1's address). */
  ipv6Base: bigint | null;
  mac: string | null;
  priority: number;
  /** `gw_priority`: the highest carries the default route. */
  gwPriority: number;
  /** `interface_name`, or null for eth<n>. */
  interfaceName: string | null;
  path: (string | number)[];
}

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
  ports: { req: PortRequest; path: (string | number)[] }[];
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

interface RawAttachment {
  aliases?: (string | undefined)[];
  ipv4_address?: string;
  ipv6_address?: string;
  mac_address?: string;
  priority?: number;
  gw_priority?: number;
  interface_name?: string;
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
  networks?: (string | undefined)[] | Record<string, RawAttachment | undefined>;
  network_mode?: string;
  deploy?: { replicas?: number };
  scale?: number;
  runtime?: string;
  image?: string;
  build?: unknown;
  restart?: string;
}

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}))*$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Everything {@link expandServices} needs to know about the rest of the file. */
export interface ServiceContext {
  section: "containers" | "services";
  hosts: string[];
  networks: string[];
  /** The project (lab) name, for Compose's container names. */
  project: string;
  diags: Diagnostics;
  positions: Positions;
}

function readAttachments(
  svc: RawService,
  path: (string | number)[],
  ctx: ServiceContext,
): Omit<Attachment, "ipv4" | "ipv6">[] {
  const { diags, positions } = ctx;
  const out: Omit<Attachment, "ipv4" | "ipv6">[] = [];
  const refs: { name: string; body: RawAttachment; path: (string | number)[] }[] = [];
  if (Array.isArray(svc.networks)) {
    svc.networks.forEach((n, i) => {
      if (n !== undefined) refs.push({ name: n, body: {}, path: [...path, "networks", i] });
    });
  } else if (svc.networks) {
    for (const [name, body] of Object.entries(svc.networks)) {
      refs.push({ name, body: body ?? {}, path: [...path, "networks", name] });
    }
  }
  const seen = new Set<string>();
  for (const ref of refs) {
    const isKey = typeof ref.path[ref.path.length - 1] === "string";
    const refPos = isKey ? positions.keyOf(ref.path) : positions.of(ref.path);
    if (!ctx.networks.includes(ref.name) && ref.name !== PROJECT_NETWORK) {
      const known = ctx.networks.filter((n) => n !== PROJECT_NETWORK);
      diags.error(
        refPos,
        `service "${path[1]}" refers to undefined network ${ref.name}` +
          suggestion(ref.name, ctx.networks),
        ref.name === DOCKER0_NETWORK
          ? "docker0 is joined with network_mode: bridge (without networks:)"
          : known.length > 0
          ? `declare it under networks:, or use one of: ${known.join(", ")}`
          : `declare it under networks: (networks: { ${ref.name}: {} })`,
      );
      continue;
    }
    if (seen.has(ref.name)) {
      diags.error(refPos, `network "${ref.name}" is listed twice`, "list each network once");
      continue;
    }
    seen.add(ref.name);
    const b = ref.body;
    let ipv4Base: number | null = null;
    if (b.ipv4_address !== undefined) {
      const p = positions.of([...ref.path, "ipv4_address"]);
      if (b.ipv4_address.includes(":")) {
        diags.error(p, "ipv4_address must be an IPv4 address", "e.g. ipv4_address: 172.20.0.10");
      } else {
        ipv4Base = parseIp(b.ipv4_address);
        if (ipv4Base === null) {
          diags.error(
            p,
            `invalid ipv4_address "${b.ipv4_address}": not an IPv4 address`,
            "e.g. ipv4_address: 172.20.0.10",
          );
        }
      }
    }
    let ipv6Base: bigint | null = null;
    if (b.ipv6_address !== undefined) {
      ipv6Base = parseIp6(b.ipv6_address);
      if (ipv6Base === null) {
        diags.error(
          positions.of([...ref.path, "ipv6_address"]),
          `invalid ipv6_address "${b.ipv6_address}": not an IPv6 address`,
          "e.g. ipv6_address: fd00:db8:1::10",
        );
      }
    }
    const aliases = (b.aliases ?? []).filter((a): a is string => a !== undefined);
    aliases.forEach((a, i) => {
      if (!HOSTNAME.test(a) || a.length > 253) {
        diags.error(
          positions.of([...ref.path, "aliases", i]),
          `alias "${a}" is not a valid DNS name`,
          "use letters, digits, '-' and '.', e.g. www",
        );
      }
    });
    let mac: string | null = null;
    if (b.mac_address !== undefined) {
      const p = positions.of([...ref.path, "mac_address"]);
      if (!MAC.test(b.mac_address)) {
        diags.error(
          p,
          `invalid mac_address "${b.mac_address}"`,
          "write six hex bytes, e.g. 02:42:ac:14:00:0a",
        );
      } else if ((parseInt(b.mac_address.slice(0, 2), 16) & 1) === 1) {
        diags.error(
          p,
          `mac_address ${b.mac_address} is a multicast address`,
          "use a unicast MAC: the lowest bit of the first byte must be 0, e.g. 02:…",
        );
      } else mac = b.mac_address.toLowerCase();
    }
    if (b.interface_name !== undefined && !/^[a-zA-Z0-9_.-]{1,15}$/.test(b.interface_name)) {
      diags.error(
        positions.of([...ref.path, "interface_name"]),
        `interface_name "${b.interface_name}" is not a valid interface name (at most 15 bytes)`,
        "use at most 15 letters, digits, '_', '.' or '-', e.g. lan0",
      );
    }
    out.push({
      network: ref.name,
      aliases,
      ipv4Base,
      ipv6Base,
      mac,
      priority: b.priority ?? 0,
      gwPriority: b.gw_priority ?? 0,
      interfaceName:
        b.interface_name !== undefined && /^[a-zA-Z0-9_.-]{1,15}$/.test(b.interface_name)
          ? b.interface_name
          : null,
      path: ref.path,
    });
  }
  // Compose v2 connects a container's networks by priority, then by name.
  return out.sort((x, y) =>
    y.priority - x.priority || (x.network < y.network ? -1 : x.network > y.network ? 1 : 0)
  );
}

function readEnvironment(
  env: RawService["environment"],
  path: (string | number)[],
  ctx: ServiceContext,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(env)) {
    env.forEach((item, i) => {
      if (item === undefined) return;
      const eq = item.indexOf("=");
      const key = eq < 0 ? item : item.slice(0, eq);
      if (key === "" || /\s/.test(key)) {
        ctx.diags.error(
          ctx.positions.of([...path, "environment", i]),
          `environment entry "${item}" has no valid variable name`,
          'write it as NAME=value, e.g. "MODE=test"',
        );
        return;
      }
      if (eq >= 0) out[key] = item.slice(eq + 1);
    });
  } else if (env) {
    for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Expands every service into containers (file order, replicas in order), checking names, hosts,
 * network references, ports and the network mode rules Docker enforces.
 */
export function expandServices(
  raw: Record<string, RawService | undefined>,
  ctx: ServiceContext,
): Draft[] {
  const { diags, positions } = ctx;
  const drafts: Draft[] = [];
  const imageIgnored: { path: (string | number)[]; command: boolean; build: boolean }[] = [];
  const keyOfName = new Map<string, string>();
  for (const [key, svc] of Object.entries(raw)) {
    const path: (string | number)[] = [ctx.section, key];
    const keyPos = positions.keyOf(path);
    // Compose allows any case; kernel and DNS names are lower case.
    const service = key.toLowerCase();
    if (!NAME_PATTERN.test(service) || service.length > MAX_CONTAINER) {
      diags.error(
        keyPos,
        `container name "${key}" cannot be used: names become namespace and DNS names`,
        `use letters, digits, '_', '.' and '-', start with a letter or digit, at most ` +
          `${MAX_CONTAINER} characters`,
      );
      continue;
    }
    if (keyOfName.has(service)) {
      diags.error(
        keyPos,
        `service names "${keyOfName.get(service)}" and "${key}" differ only in case: both would ` +
          `be namespace <lab>-${service}`,
        "rename one of them",
      );
      continue;
    }
    keyOfName.set(service, key);
    if (svc === undefined) continue;
    let host = ctx.hosts[0];
    if (svc.host !== undefined) {
      if (!ctx.hosts.includes(svc.host)) {
        diags.error(
          positions.of([...path, "host"]),
          `host "${svc.host}" is not defined${suggestion(svc.host, ctx.hosts)}`,
          `use one of: ${ctx.hosts.join(", ")}, or declare it under hosts:`,
        );
      } else host = svc.host;
    }
    let mode: NetworkMode = { kind: "own" };
    let modeRef: Draft["modeRef"] = null;
    const nm = svc.network_mode;
    const nmPos = positions.of([...path, "network_mode"]);
    const docker0 = nm === "bridge" || nm === "default";
    if (nm === "host") mode = { kind: "host" };
    else if (nm === "none") mode = { kind: "none" };
    else if (nm !== undefined && (nm.startsWith("container:") || nm.startsWith("service:"))) {
      const isService = nm.startsWith("service:");
      modeRef = { target: nm.slice(nm.indexOf(":") + 1), service: isService };
      mode = { kind: "container", of: modeRef.target };
    }
    if (nm !== undefined && svc.networks !== undefined) {
      diags.error(
        nmPos,
        `service "${service}" declares mutually exclusive \`network_mode\` and \`networks\``,
        "remove one of them",
      );
    }
    let attachments: Omit<Attachment, "ipv4" | "ipv6">[] = [];
    if (mode.kind === "own") {
      attachments = svc.networks === undefined
        ? [{
          network: docker0 ? DOCKER0_NETWORK : PROJECT_NETWORK,
          aliases: [],
          ipv4Base: null,
          ipv6Base: null,
          mac: null,
          priority: 0,
          gwPriority: 0,
          interfaceName: null,
          path: [...path],
        }]
        : readAttachments(svc, path, ctx);
    }
    const replicas = svc.deploy?.replicas ?? svc.scale ?? 1;
    const replicated = svc.deploy?.replicas !== undefined || svc.scale !== undefined;
    if (svc.deploy?.replicas !== undefined && svc.scale !== undefined) {
      diags.error(
        positions.keyOf([...path, "scale"]),
        "scale and deploy.replicas are both set",
        "keep one of them (deploy.replicas)",
      );
    }
    applyServiceMac(svc, attachments, path, ctx);
    for (const a of attachments) {
      if (replicas > 1 && a.mac !== null) {
        a.mac = null;
        diags.error(
          positions.of([...a.path, "mac_address"]),
          `mac_address on service "${service}" with ${replicas} replicas would give every ` +
            "replica the same MAC",
          "remove mac_address, or use one replica",
        );
      }
    }
    // Ports.
    const ports: Draft["ports"] = [];
    (svc.ports ?? []).forEach((spec, i) => {
      if (spec === undefined) return;
      const r = parsePort(spec as Parameters<typeof parsePort>[0]);
      if (isPortError(r)) {
        diags.error(positions.of([...path, "ports", i]), r.error, r.hint);
        return;
      }
      for (const req of r) ports.push({ req, path: [...path, "ports", i] });
    });
    if (svc.ports !== undefined && svc.ports.length > 0) {
      const pp = positions.keyOf([...path, "ports"]);
      if (mode.kind === "host") {
        diags.warn(
          pp,
          `${service}: Published ports are discarded when using host network mode`,
        );
        ports.length = 0;
      } else if (mode.kind === "none") {
        diags.warn(pp, `${service}: published ports are discarded with network_mode none`);
        ports.length = 0;
      } else if (mode.kind === "container") {
        diags.error(
          pp,
          "conflicting options: port publishing and the container type network mode",
          `remove ports: from "${service}" and publish them on "${mode.of}", whose network it uses`,
        );
      }
    }
    const expose: ExposedPort[] = [];
    (svc.expose ?? []).forEach((spec, i) => {
      if (spec === undefined) return;
      const r = parseExpose(spec);
      if (isPortError(r)) diags.error(positions.of([...path, "expose", i]), r.error, r.hint);
      else expose.push(...r);
    });
    if (mode.kind === "container" && expose.length > 0) {
      diags.error(
        positions.keyOf([...path, "expose"]),
        "conflicting options: port exposing and the container type network mode",
        `remove expose: from "${service}"`,
      );
    }
    if (mode.kind === "container" && svc.hostname !== undefined) {
      diags.error(
        positions.keyOf([...path, "hostname"]),
        "conflicting options: hostname and the container type network mode",
        `remove hostname: from "${service}" (it shares "${mode.of}"'s UTS and network)`,
      );
    }
    let command: string[] | null = null;
    if (typeof svc.command === "string") {
      const words = splitWords(svc.command);
      if (!Array.isArray(words)) {
        diags.error(
          positions.of([...path, "command"]),
          `cannot split command: ${words.error}`,
          "close the quote, or write the command as a list",
        );
      } else if (words.length > 0) command = words;
    } else if (Array.isArray(svc.command)) {
      const words = svc.command.filter((w): w is string => w !== undefined);
      command = words.length > 0 ? words : null;
    }
    if (svc.hostname !== undefined && (!HOSTNAME.test(svc.hostname) || svc.hostname.length > 64)) {
      diags.error(
        positions.of([...path, "hostname"]),
        `hostname "${svc.hostname}" is not a valid host name (at most 64 characters)`,
        "use letters, digits, '-' and '.', e.g. web-1",
      );
    }
    const runtime = svc.runtime === "docker" ? "docker" : "netns";
    if (svc.runtime !== undefined && svc.runtime !== "docker" && svc.runtime !== "netns") {
      diags.warn(
        positions.of([...path, "runtime"]),
        `"runtime: ${svc.runtime}" ignored: Compose's OCI runtime does not change the network ` +
          "(nslab's own runtime goes under x-nslab: { runtime: docker })",
      );
    }
    if (runtime === "docker" && svc.image === undefined) {
      diags.error(
        positions.of([...path, "runtime"]),
        `runtime docker needs an image, and "${service}" has none`,
        "add image: (e.g. image: alpine:3.20), or use runtime: netns",
      );
    }
    if (runtime === "docker" && (mode.kind === "host" || mode.kind === "container")) {
      diags.error(
        nmPos,
        `runtime docker cannot use network_mode "${nm}": nslab wires a Docker container's own ` +
          `network namespace`,
        "give it networks: (or network_mode: none), or use runtime: netns",
      );
    }
    // With an image (or a build), `command` is the image's: a sandbox cannot run it.
    const fromImage = runtime === "netns" && (svc.image !== undefined || svc.build !== undefined);
    if (fromImage) {
      imageIgnored.push({ path, command: command !== null, build: svc.build !== undefined });
    }
    if (fromImage) command = null;
    const restart = (svc.restart ?? "no").replace(/^on-failure:\d+$/, "on-failure") as Container[
      "restart"
    ];
    const environment = readEnvironment(svc.environment, path, ctx);
    const keys = readServiceKeys(svc, path, replicas, diags, positions);
    for (let r = 1; r <= replicas; r++) {
      const name = replicated ? `${service}-${r}` : service;
      drafts.push({
        name,
        service,
        replica: replicated ? r : null,
        replicas,
        host,
        hostExplicit: svc.host !== undefined,
        path,
        mode: mode.kind === "container" ? { ...mode } : mode,
        modeRef,
        attachments: attachments.map((a) => ({
          ...a,
          aliases: [...a.aliases],
          ipv4: a.ipv4Base === null ? null : a.ipv4Base + r - 1,
          ipv6: a.ipv6Base === null ? null : a.ipv6Base + BigInt(r - 1),
        })),
        ports: ports.map((p) => ({ req: { ...p.req }, path: p.path })),
        expose: expose.map((e) => ({ ...e })),
        command: command ? [...command] : null,
        environment: { ...environment },
        hostname: svc.hostname ?? name,
        runtime,
        image: svc.image ?? null,
        restart,
        composeName: keys.containerName ?? `${ctx.project}-${service}-${r}`,
        keys,
        dependsOn: (Array.isArray(svc.depends_on)
          ? svc.depends_on.filter((x): x is string =>
            x !== undefined
          )
          : Object.keys(svc.depends_on ?? {})).map((x) => x.toLowerCase()),
      });
    }
  }
  if (imageIgnored.length > 0) {
    const commands = imageIgnored.filter((x) => x.command).length;
    const what = imageIgnored.some((x) => x.build) ? '"image" and "build"' : '"image"';
    diags.warn(
      positions.keyOf([...imageIgnored[0].path, "image"]),
      `${what} ignored: nslab builds only the network (runtime netns; set runtime: docker to ` +
        "use it)" + (imageIgnored.length > 1 ? ` (${imageIgnored.length} places)` : "") +
        (commands > 0
          ? `; the image's command is not run either (${commands} service(s)): nslab's ` +
            "responder answers on their ports"
          : ""),
    );
  }
  return drafts;
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

/**
 * A service-level `mac_address` is the MAC of the container's first interface (Compose gives it
 * to the primary network); a per-network one wins.
 */
function applyServiceMac(
  svc: RawService,
  attachments: Omit<Attachment, "ipv4" | "ipv6">[],
  path: (string | number)[],
  ctx: ServiceContext,
): void {
  if (svc.mac_address === undefined || attachments.length === 0) return;
  const pos = ctx.positions.of([...path, "mac_address"]);
  if (!MAC.test(svc.mac_address) || (parseInt(svc.mac_address.slice(0, 2), 16) & 1) === 1) {
    ctx.diags.error(
      pos,
      `invalid mac_address "${svc.mac_address}"`,
      "write six hex bytes of a unicast MAC, e.g. 02:42:ac:14:00:0a",
    );
    return;
  }
  attachments[0].mac ??= svc.mac_address.toLowerCase();
}

/**
 * Resolves `container:X` / `service:X` to the container whose namespace is shared (following
 * chains, refusing cycles and unknown names), and moves the sharer to X's host.
 */
export function resolveContainerModes(drafts: Draft[], ctx: ServiceContext): void {
  // container:NAME names a Docker container: Compose's name or container_name works too.
  const byName = new Map(drafts.flatMap((d) => [[d.composeName, d], [d.name, d]]));
  const firstOfService = new Map<string, Draft>();
  for (const d of drafts) if (!firstOfService.has(d.service)) firstOfService.set(d.service, d);
  const reported = new Set<string>();
  for (const d of drafts) {
    if (!d.modeRef) continue;
    const pos = ctx.positions.of([...d.path, "network_mode"]);
    const target = d.modeRef.service
      ? firstOfService.get(d.modeRef.target)
      : byName.get(d.modeRef.target) ??
        (firstOfService.get(d.modeRef.target)?.replicas === 1
          ? firstOfService.get(d.modeRef.target)
          : undefined);
    if (!target) {
      if (reported.has(d.service)) continue;
      reported.add(d.service);
      const candidates = d.modeRef.service ? [...firstOfService.keys()] : [...byName.keys()];
      ctx.diags.error(
        pos,
        `network_mode refers to ${d.modeRef.service ? "service" : "container"} ` +
          `"${d.modeRef.target}", which is not defined${suggestion(d.modeRef.target, candidates)}`,
        `use the name of a container in this file (${candidates.slice(0, 8).join(", ")})`,
      );
      continue;
    }
    // Follow chains to the namespace owner.
    let owner = target;
    const chain = [d.name];
    while (owner.modeRef && owner.mode.kind === "container") {
      if (chain.includes(owner.name)) break;
      chain.push(owner.name);
      const next = owner.modeRef.service
        ? firstOfService.get(owner.modeRef.target)
        : byName.get(owner.modeRef.target) ?? firstOfService.get(owner.modeRef.target);
      if (!next) break;
      owner = next;
    }
    if (chain.includes(owner.name) || owner.name === d.name) {
      const cycle = [...new Set([...chain, owner.name])].sort().join(" ");
      if (!reported.has(d.service) && !reported.has(cycle)) {
        reported.add(d.service);
        reported.add(cycle);
        ctx.diags.error(
          pos,
          `network_mode of "${d.name}" forms a cycle (${[...chain, owner.name].join(" → ")})`,
          "let one container of the cycle have its own network",
        );
      }
      continue;
    }
    d.mode = owner.mode.kind === "host" ? { kind: "host" } : { kind: "container", of: owner.name };
    if (d.host !== owner.host) {
      if (d.hostExplicit) {
        ctx.diags.error(
          ctx.positions.of([...d.path, "host"]),
          `"${d.name}" shares the network of "${owner.name}", which runs on host ${owner.host}, ` +
            `but is placed on host ${d.host}`,
          `remove host:, or set host: ${owner.host}`,
        );
      }
      d.host = owner.host;
    }
  }
}
