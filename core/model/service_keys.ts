/**
 * Compose's per-service networking keys that are not about attachments: `container_name`,
 * `links`, `extra_hosts`, `dns`, `dns_search`, `dns_opt`, `domainname`. Read and checked here;
 * the container names become DNS names on the container's networks, links and extra hosts lines
 * of its `/etc/hosts`, the DNS keys its `resolv.conf`.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { ContainerDns, ExtraHost } from "./types.ts";
import { parseIp } from "./ip.ts";

/** The keys as left by the shape check. */
export interface RawServiceKeys {
  container_name?: string;
  links?: (string | undefined)[];
  extra_hosts?:
    | (string | undefined)[]
    | Record<string, string | (string | undefined)[] | undefined>;
  dns?: string | (string | undefined)[];
  dns_search?: string | (string | undefined)[];
  dns_opt?: (string | undefined)[];
  domainname?: string;
}

/** What {@link readServiceKeys} found. */
export interface ServiceKeys {
  containerName: string | null;
  links: { service: string; alias: string; path: (string | number)[] }[];
  extraHosts: ExtraHost[];
  dns: ContainerDns;
  domainname: string;
}

const HOST_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

function list(v: string | (string | undefined)[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => x !== undefined);
}

/** `name:ip`, `name=ip` (Compose accepts both; `:` splits at the first colon, so IPv6 works). */
function splitExtraHost(entry: string): [string, string] | null {
  const eq = entry.indexOf("=");
  const colon = entry.indexOf(":");
  const at = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
  if (at <= 0) return null;
  return [entry.slice(0, at), entry.slice(at + 1).replace(/^\[(.*)\]$/, "$1")];
}

function readExtraHosts(
  raw: RawServiceKeys["extra_hosts"],
  path: (string | number)[],
  diags: Diagnostics,
  positions: Positions,
): ExtraHost[] {
  const pairs: { name: string; address: string; at: (string | number)[] }[] = [];
  if (Array.isArray(raw)) {
    raw.forEach((entry, i) => {
      if (entry === undefined) return;
      const at = [...path, "extra_hosts", i];
      const kv = splitExtraHost(entry);
      if (kv === null) {
        diags.error(
          positions.of(at),
          `invalid extra_hosts entry "${entry}"`,
          'write it as "name:address" or "name=address", e.g. "db.local:10.0.0.5"',
        );
      } else pairs.push({ name: kv[0], address: kv[1], at });
    });
  } else if (raw) {
    for (const [name, v] of Object.entries(raw)) {
      for (const address of list(v)) {
        pairs.push({ name, address, at: [...path, "extra_hosts", name] });
      }
    }
  }
  const out: ExtraHost[] = [];
  for (const p of pairs) {
    const ok = p.address === "host-gateway" || parseIp(p.address) !== null ||
      /^[0-9a-fA-F:]+$/.test(p.address) && p.address.includes(":");
    if (!HOST_LABEL.test(p.name) || !ok) {
      diags.error(
        positions.of(p.at),
        `invalid extra_hosts entry ${p.name}:${p.address}: ` +
          (ok ? "not a host name" : "the address is not an IP address or host-gateway"),
        'e.g. "db.local:10.0.0.5" or "host.docker.internal:host-gateway"',
      );
      continue;
    }
    out.push({ name: p.name, address: p.address });
  }
  return out;
}

function readLinks(
  raw: RawServiceKeys["links"],
  path: (string | number)[],
): ServiceKeys["links"] {
  const out: ServiceKeys["links"] = [];
  (raw ?? []).forEach((entry, i) => {
    if (entry === undefined) return;
    const [service, alias] = entry.split(":", 2);
    out.push({ service, alias: alias ?? service, path: [...path, "links", i] });
  });
  return out;
}

/**
 * Reads a service's `container_name`, `links`, `extra_hosts`, DNS keys and `domainname`,
 * reporting malformed values at their position.
 */
export function readServiceKeys(
  svc: RawServiceKeys,
  path: (string | number)[],
  replicas: number,
  diags: Diagnostics,
  positions: Positions,
): ServiceKeys {
  let containerName: string | null = null;
  if (svc.container_name !== undefined) {
    const at = positions.of([...path, "container_name"]);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(svc.container_name)) {
      diags.error(
        at,
        `Invalid container name (${svc.container_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
        "use letters, digits, '_', '.' and '-', e.g. my-web",
      );
    } else if (replicas > 1) {
      diags.error(
        at,
        `services.${path[1]}: can't set container_name and ${path[1]} as container name must be ` +
          `unique (${replicas} replicas)`,
        "remove container_name, or use one replica",
      );
    } else containerName = svc.container_name;
  }
  for (const server of list(svc.dns)) {
    if (parseIp(server) === null && !server.includes(":")) {
      diags.error(
        positions.of([...path, "dns"]),
        `dns server "${server}" is not an IP address`,
        "e.g. dns: [1.1.1.1]",
      );
    }
  }
  return {
    containerName,
    links: readLinks(svc.links, path),
    extraHosts: readExtraHosts(svc.extra_hosts, path, diags, positions),
    dns: {
      servers: list(svc.dns).filter((s) => parseIp(s) !== null || s.includes(":")),
      search: list(svc.dns_search),
      options: list(svc.dns_opt),
    },
    domainname: svc.domainname ?? "",
  };
}
