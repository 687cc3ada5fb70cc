/**
 * Compose port syntax: `ports:` short form (`80`, `8080:80`, `8080-8081:80-81`,
 * `127.0.0.1:8080:80`, `53:53/udp`) and long form, and `expose:` entries. Pure parsing; the
 * choice of free host ports happens later, per host.
 *
 * @module
 */

import type { Protocol } from "./types.ts";
import { parseIp } from "./ip.ts";
import { formatIp6, parseIp6 } from "./ip6.ts";

/** First port of Docker's ephemeral range, used when no host port is given. */
export const EPHEMERAL_FIRST = 49153;
/** Last port of Docker's ephemeral range. */
export const EPHEMERAL_LAST = 65535;

/** One container port to publish; the host port is fixed or to be chosen from a range. */
export interface PortRequest {
  hostIp: string;
  /** true when the file named no host address: the network's host_binding_ipv4 may apply. */
  anyHost?: true;
  containerPort: number;
  protocol: Protocol;
  name: string | null;
  /**
   * A fixed host port, or a range to take the first free port from (`ephemeral` when the file gave
   * no host port and the range is Docker's 49153-65535).
   */
  host:
    | { kind: "fixed"; port: number }
    | { kind: "range"; first: number; last: number; ephemeral: boolean };
}

/** A parse failure: what is wrong and how to fix it. */
export interface PortError {
  error: string;
  hint: string;
}

const PROTOCOLS: readonly Protocol[] = ["tcp", "udp", "sctp"];
const SHORT_HINT =
  'use Compose syntax, e.g. "8080:80", "127.0.0.1:8080:80/udp" or "8080-8081:80-81"';

function parseRange(text: string, what: string): { first: number; last: number } | PortError {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) {
    return { error: `invalid ${what} "${text}": not a port number or range`, hint: SHORT_HINT };
  }
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  for (const p of [first, last]) {
    if (p < 1 || p > 65535) {
      return {
        error: `invalid ${what} "${text}": port ${p} is outside 1-65535`,
        hint: "use a port between 1 and 65535",
      };
    }
  }
  if (last < first) {
    return {
      error: `invalid ${what} "${text}": the range ends before it starts`,
      hint: `write it as ${last}-${first}`,
    };
  }
  return { first, last };
}

function parseProtocol(text: string): Protocol | PortError {
  const p = text.toLowerCase();
  if ((PROTOCOLS as readonly string[]).includes(p)) return p as Protocol;
  return { error: `invalid proto: ${text}`, hint: "use tcp, udp or sctp" };
}

function isError<T>(x: T | PortError): x is PortError {
  return typeof x === "object" && x !== null && "error" in x;
}

/** The IPv6 loopback address, which ip6tables cannot DNAT from (no `route_localnet` for IPv6). */
export const IPV6_LOOPBACK = "::1";

/**
 * A port on `::1` is carried by a userland proxy in the host namespace (Docker's docker-proxy
 * does it; the kernel cannot DNAT IPv6 loopback traffic out to a bridge), and nslab's proxy
 * carries TCP only: an error for UDP and SCTP there.
 */
function loopback6Only(protocol: Protocol, hostIp: string): PortError | null {
  if (hostIp !== IPV6_LOOPBACK || protocol === "tcp") return null;
  return {
    error: `host_ip "[::1]" with ${protocol}: nslab's IPv6 loopback proxy carries TCP only`,
    hint: "publish it on 127.0.0.1 or [::] instead, or use tcp",
  };
}

/**
 * The host address of a port in its canonical text, or why it cannot be one. IPv6 (`[::]`, `::`,
 * an address of a lab bridge) is published by ip6tables; `::1` by a userland proxy, as Docker's
 * docker-proxy does (see {@link loopback6Only}).
 */
function hostIpOf(text: string): string | PortError {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (bare.includes(":") || bare !== text) {
    const v6 = parseIp6(bare);
    if (v6 === null) {
      return { error: `invalid host_ip "${text}": not an IPv6 address`, hint: "e.g. [::]" };
    }
    return formatIp6(v6);
  }
  return checkHostIp(text) ?? text;
}

/**
 * `host_ip:host:container` split in three (or fewer) parts, the host address kept whole when it
 * is IPv6: `[::]:8080:80` (Compose's form) or `::1:80:80` (the last two parts are the ports).
 * Null for an opening bracket without its `]:`.
 */
function splitHostIp(rest: string): string[] | null {
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]:");
    if (close < 0) return null;
    return [rest.slice(0, close + 1), ...rest.slice(close + 2).split(":")];
  }
  const parts = rest.split(":");
  if (parts.length <= 3 || !parts.slice(0, -2).join(":").includes("::")) return parts;
  return [parts.slice(0, -2).join(":"), ...parts.slice(-2)];
}

function checkHostIp(ip: string): PortError | null {
  if (parseIp(ip) === null) {
    return { error: `invalid host_ip "${ip}": not an IPv4 address`, hint: "e.g. 127.0.0.1" };
  }
  return null;
}

function withAnyHost(r: PortRequest[] | PortError, any: boolean): PortRequest[] | PortError {
  if (!any || isError(r)) return r;
  return r.map((p) => ({ ...p, anyHost: true }));
}

function expand(
  hostIp: string,
  host: { first: number; last: number } | null,
  container: { first: number; last: number },
  protocol: Protocol,
  name: string | null,
  spec: string,
): PortRequest[] | PortError {
  const n = container.last - container.first + 1;
  /** One request per container port, its host side chosen by `hostSide(i)`. */
  const each = (hostSide: (i: number) => PortRequest["host"]): PortRequest[] =>
    Array.from({ length: n }, (_, i) => ({
      hostIp,
      containerPort: container.first + i,
      protocol,
      name,
      host: hostSide(i),
    }));
  if (host === null) {
    return each(() => ({
      kind: "range",
      first: EPHEMERAL_FIRST,
      last: EPHEMERAL_LAST,
      ephemeral: true,
    }));
  }
  const m = host.last - host.first + 1;
  if (m === n) return each((i) => ({ kind: "fixed", port: host.first + i }));
  if (n === 1) {
    return each(() => ({ kind: "range", first: host.first, last: host.last, ephemeral: false }));
  }
  return {
    error: `invalid ranges specified for container and host Ports in "${spec}" ` +
      `(${m} host ports, ${n} container ports)`,
    hint: "give both ranges the same length, e.g. 8080-8081:80-81",
  };
}

/**
 * Parses one `ports:` entry into one request per container port.
 *
 * @example
 * ```ts
 * parsePort("127.0.0.1:8080-8081:80-81/udp"); // two requests, host ports 8080 and 8081
 * ```
 */
export function parsePort(
  spec: string | number | {
    target?: number;
    published?: number | string;
    host_ip?: string;
    protocol?: string;
    name?: string;
  },
): PortRequest[] | PortError {
  if (typeof spec === "object") return parseLong(spec);
  const text = String(spec).trim();
  if (text === "") return { error: "empty port entry", hint: SHORT_HINT };
  let rest = text;
  let protocol: Protocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const p = parseProtocol(rest.slice(slash + 1));
    if (isError(p)) return p;
    protocol = p;
    rest = rest.slice(0, slash);
  }
  const parts = splitHostIp(rest);
  if (parts === null) {
    return { error: `invalid port "${text}": bad IPv6 host_ip`, hint: SHORT_HINT };
  }
  if (parts.length > 3) return { error: `invalid port "${text}": too many ":"`, hint: SHORT_HINT };
  let hostIp = "0.0.0.0";
  let hostText: string | null = null;
  if (parts.length === 3) {
    // ":80:80" (an empty host_ip, often left by an unset variable) binds every address.
    const ip = parts[0] === "" ? "0.0.0.0" : hostIpOf(parts[0]);
    if (isError(ip)) return ip;
    hostIp = ip;
    hostText = parts[1] === "" ? null : parts[1];
  } else if (parts.length === 2) {
    hostText = parts[0];
  }
  const loopback = loopback6Only(protocol, hostIp);
  if (loopback) return loopback;
  const containerText = parts[parts.length - 1];
  const container = parseRange(containerText, "container port");
  if (isError(container)) return container;
  let host: { first: number; last: number } | null = null;
  if (hostText !== null) {
    const h = parseRange(hostText, "host port");
    if (isError(h)) return h;
    host = h;
  }
  return withAnyHost(
    expand(hostIp, host, container, protocol, null, text),
    parts.length < 3 || parts[0] === "",
  );
}

function parseLong(spec: {
  target?: number;
  published?: number | string;
  host_ip?: string;
  protocol?: string;
  name?: string;
}): PortRequest[] | PortError {
  if (spec.target === undefined) {
    return { error: "long-form port without target", hint: "add target: <container port>" };
  }
  const protocol = spec.protocol === undefined ? "tcp" : parseProtocol(spec.protocol);
  if (isError(protocol)) return protocol;
  const hostIp = spec.host_ip === undefined || spec.host_ip === ""
    ? "0.0.0.0"
    : hostIpOf(spec.host_ip);
  if (isError(hostIp)) return hostIp;
  const loopback = loopback6Only(protocol, hostIp);
  if (loopback) return loopback;
  let host: { first: number; last: number } | null = null;
  if (spec.published !== undefined && String(spec.published) !== "") {
    const h = parseRange(String(spec.published), "published port");
    if (isError(h)) return h;
    host = h;
  }
  const target = { first: spec.target, last: spec.target };
  return withAnyHost(
    expand(hostIp, host, target, protocol, spec.name ?? null, String(spec.target)),
    spec.host_ip === undefined || spec.host_ip === "",
  );
}

/**
 * Parses one `expose:` entry (`8000`, `"8000/udp"`, `"8000-8002"`).
 *
 * @example
 * ```ts
 * parseExpose("53/udp"); // [{ port: 53, protocol: "udp" }]
 * ```
 */
export function parseExpose(
  spec: string | number,
): { port: number; protocol: Protocol }[] | PortError {
  let text = String(spec).trim();
  let protocol: Protocol = "tcp";
  const slash = text.lastIndexOf("/");
  if (slash >= 0) {
    const p = parseProtocol(text.slice(slash + 1));
    if (isError(p)) return p;
    protocol = p;
    text = text.slice(0, slash);
  }
  const r = parseRange(text, "exposed port");
  if (isError(r)) {
    return { error: r.error, hint: 'e.g. expose: [8000, "53/udp", "9000-9002"]' };
  }
  const out: { port: number; protocol: Protocol }[] = [];
  for (let p = r.first; p <= r.last; p++) out.push({ port: p, protocol });
  return out;
}

/** Whether a parse result is an error. */
export function isPortError<T>(x: T | PortError): x is PortError {
  return isError(x);
}
