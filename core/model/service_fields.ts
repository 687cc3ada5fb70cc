/**
 * Service fields: the settings of one service besides its name, host and networks — published
 * and exposed ports, hostname, command, environment and runtime — read and checked against the
 * service's network mode, as Docker checks them.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Container, ExposedPort, NetworkMode } from "./types.ts";
import { HOSTNAME_PATTERN } from "./names.ts";
import { isPortError, parseExpose, parsePort, type PortRequest } from "./ports.ts";
import { splitWords } from "./shellwords.ts";

/** Where a service's fields report their problems. */
export interface FieldContext {
  diags: Diagnostics;
  positions: Positions;
}

/** One published port request, with the `ports:` entry it came from. */
export interface PublishedPort {
  req: PortRequest;
  path: (string | number)[];
}

/**
 * The service's `ports:`, parsed. Host and none modes publish nothing (Docker warns and drops
 * them); a container sharing another's network cannot publish (an error).
 */
export function readPublishedPorts(
  specs: unknown[] | undefined,
  service: string,
  mode: NetworkMode,
  path: (string | number)[],
  ctx: FieldContext,
): PublishedPort[] {
  const { diags, positions } = ctx;
  const ports: PublishedPort[] = [];
  (specs ?? []).forEach((spec, i) => {
    if (spec === undefined) return;
    const r = parsePort(spec as Parameters<typeof parsePort>[0]);
    if (isPortError(r)) {
      diags.error(positions.of([...path, "ports", i]), r.error, r.hint);
      return;
    }
    for (const req of r) ports.push({ req, path: [...path, "ports", i] });
  });
  if (specs === undefined || specs.length === 0) return ports;
  const pp = positions.keyOf([...path, "ports"]);
  if (mode.kind === "host") {
    diags.warn(pp, `${service}: Published ports are discarded when using host network mode`);
    return [];
  }
  if (mode.kind === "none") {
    diags.warn(pp, `${service}: published ports are discarded with network_mode none`);
    return [];
  }
  if (mode.kind === "container") {
    diags.error(
      pp,
      "conflicting options: port publishing and the container type network mode",
      `remove ports: from "${service}" and publish them on "${mode.of}", whose network it uses`,
    );
  }
  return ports;
}

/** The service's `expose:`, parsed; a container sharing another's network cannot expose. */
export function readExpose(
  specs: (string | number | undefined)[] | undefined,
  service: string,
  mode: NetworkMode,
  path: (string | number)[],
  ctx: FieldContext,
): ExposedPort[] {
  const { diags, positions } = ctx;
  const expose: ExposedPort[] = [];
  (specs ?? []).forEach((spec, i) => {
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
  return expose;
}

/** A container sharing another's network has that one's host name: it cannot set its own. */
export function checkSharedHostname(
  hostname: string | undefined,
  service: string,
  mode: NetworkMode,
  path: (string | number)[],
  ctx: FieldContext,
): void {
  if (mode.kind === "container" && hostname !== undefined) {
    ctx.diags.error(
      ctx.positions.keyOf([...path, "hostname"]),
      "conflicting options: hostname and the container type network mode",
      `remove hostname: from "${service}" (it shares "${mode.of}"'s UTS and network)`,
    );
  }
}

/** `hostname:` must be a DNS host name of at most 64 characters. */
export function checkHostname(
  hostname: string | undefined,
  path: (string | number)[],
  ctx: FieldContext,
): void {
  if (hostname !== undefined && (!HOSTNAME_PATTERN.test(hostname) || hostname.length > 64)) {
    ctx.diags.error(
      ctx.positions.of([...path, "hostname"]),
      `hostname "${hostname}" is not a valid host name (at most 64 characters)`,
      "use letters, digits, '-' and '.', e.g. web-1",
    );
  }
}

/** `command:` as words (a string is split like a shell would); null when empty or absent. */
export function readCommand(
  command: string | (string | undefined)[] | undefined,
  path: (string | number)[],
  ctx: FieldContext,
): string[] | null {
  if (typeof command === "string") {
    const words = splitWords(command);
    if (!Array.isArray(words)) {
      ctx.diags.error(
        ctx.positions.of([...path, "command"]),
        `cannot split command: ${words.error}`,
        "close the quote, or write the command as a list",
      );
      return null;
    }
    return words.length > 0 ? words : null;
  }
  if (Array.isArray(command)) {
    const words = command.filter((w): w is string => w !== undefined);
    return words.length > 0 ? words : null;
  }
  return null;
}

/** `environment:` in map or `NAME=value` list form, as a map. */
export function readEnvironment(
  env: Record<string, string | undefined> | (string | undefined)[] | undefined,
  path: (string | number)[],
  ctx: FieldContext,
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

/** The runtime-related keys of a service. */
export interface RawRuntime {
  runtime?: string;
  image?: string;
  network_mode?: string;
}

/**
 * The runtime that runs the service: `docker` when asked for, else nslab's own `netns`. Compose's
 * OCI runtimes are ignored with a warning; `docker` needs an image and its own network namespace.
 */
export function readRuntime(
  svc: RawRuntime,
  service: string,
  mode: NetworkMode,
  path: (string | number)[],
  ctx: FieldContext,
): Container["runtime"] {
  const { diags, positions } = ctx;
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
      positions.of([...path, "network_mode"]),
      `runtime docker cannot use network_mode "${svc.network_mode}": nslab wires a Docker ` +
        `container's own network namespace`,
      "give it networks: (or network_mode: none), or use runtime: netns",
    );
  }
  return runtime;
}

/** `restart:`, with `on-failure:N` read as plain `on-failure`. */
export function readRestart(restart: string | undefined): Container["restart"] {
  return (restart ?? "no").replace(/^on-failure:\d+$/, "on-failure") as Container["restart"];
}
