/**
 * The topology format as one table of keys and types. The same table drives the structural
 * validator ({@link checkShape}: wrong types, unknown keys with did-you-mean, ignored Compose keys)
 * and the JSON Schema that `nslab schema` prints ({@link topologySchema}), so they cannot drift.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Located } from "./source.ts";
import { pathText } from "./source.ts";
import { suggestion } from "./names.ts";
import type { SourcePos } from "./types.ts";

/** A type in the table. Alternatives of a `oneOf` accept disjoint YAML kinds. */
export type Type =
  | { t: "string"; enum?: readonly string[]; pattern?: string }
  | { t: "scalar" } // string, number or boolean, read as a string
  | { t: "int"; min?: number; max?: number }
  | { t: "bool" }
  | { t: "object"; fields: Record<string, Field>; nullable?: boolean }
  | { t: "map"; values: Type; nullable?: boolean }
  | { t: "list"; items: Type }
  | { t: "oneOf"; of: Type[] }
  | { t: "any" };

/** One key of an object: its type, what it means, and an example for error hints. */
export interface Field {
  type: Type;
  doc: string;
  example?: string;
  /** A Compose key nslab accepts and does not use: reported once as a warning. */
  ignored?: boolean;
}

const IGNORED_TEXT = "ignored: nslab builds only the network";

function ignored(doc = IGNORED_TEXT): Field {
  return { type: { t: "any" }, doc, ignored: true };
}

const str: Type = { t: "string" };
const scalar: Type = { t: "scalar" };
const strList: Type = { t: "list", items: scalar };
const portNumber: Type = { t: "int", min: 1, max: 65535 };

const SERVICE_IGNORED = [
  "volumes",
  "volumes_from",
  "healthcheck",
  "labels",
  "label_file",
  "entrypoint",
  "working_dir",
  "user",
  "logging",
  "secrets",
  "configs",
  "env_file",
  "cap_add",
  "cap_drop",
  "privileged",
  "stdin_open",
  "tty",
  "ulimits",
  "devices",
  "device_cgroup_rules",
  "external_links",
  "init",
  "platform",
  "pull_policy",
  "stop_signal",
  "stop_grace_period",
  "sysctls",
  "tmpfs",
  "security_opt",
  "shm_size",
  "cpus",
  "cpu_count",
  "cpu_percent",
  "cpu_shares",
  "cpu_period",
  "cpu_quota",
  "cpu_rt_runtime",
  "cpu_rt_period",
  "cpuset",
  "mem_limit",
  "mem_reservation",
  "mem_swappiness",
  "memswap_limit",
  "oom_kill_disable",
  "oom_score_adj",
  "pids_limit",
  "pid",
  "ipc",
  "uts",
  "userns_mode",
  "isolation",
  "read_only",
  "annotations",
  "attach",
  "cgroup",
  "cgroup_parent",
  "develop",
  "blkio_config",
  "group_add",
  "storage_opt",
  "credential_spec",
  "gpus",
  "models",
  "provider",
  "post_start",
  "pre_stop",
  "stop_grace",
  "use_api_socket",
  "pre_start",
  "pull_refresh_after",
];

const portLong: Type = {
  t: "object",
  fields: {
    target: { type: portNumber, doc: "Container port.", example: "target: 80" },
    published: {
      type: { t: "oneOf", of: [portNumber, str] },
      doc: "Host port or range (`8080`, `8080-8081`); omitted: a free port from 49153 up.",
    },
    host_ip: { type: str, doc: "Host address to bind (IPv4); default 0.0.0.0." },
    protocol: { type: { t: "string", enum: ["tcp", "udp", "sctp"] }, doc: "Transport protocol." },
    name: { type: str, doc: "Port name; makes an SRV record." },
    mode: { type: { t: "string", enum: ["host", "ingress"] }, doc: "Accepted, not used." },
    app_protocol: ignored(),
  },
};

/** The keys as schema fields, shared by a network attachment and a host. */
const IMPAIR_FIELDS: Record<string, Field> = {
  delay: {
    type: { t: "scalar" },
    doc: "Added delay in each direction (a userspace relay; this kernel may lack netem).",
    example: "delay: 50ms",
  },
  jitter: {
    type: { t: "scalar" },
    doc: "± random variation of the delay.",
    example: "jitter: 5ms",
  },
  loss: { type: { t: "scalar" }, doc: "Packets dropped in each direction.", example: "loss: 2%" },
  rate: {
    type: { t: "scalar" },
    doc: "Rate limit in each direction (tc units).",
    example: "rate: 1mbit",
  },
  down: { type: { t: "bool" }, doc: "The link is down.", example: "down: true" },
};

/** The keys of a measured `expect:` as schema fields. */
const MEASURE_FIELDS: Record<string, Field> = {
  rtt: {
    type: { t: "scalar" },
    doc: "Round-trip time (ping, median), e.g. `>= 50ms`, `100ms ± 10%`.",
  },
  loss: { type: { t: "scalar" }, doc: "Round-trip loss of ICMP echoes, e.g. `2% ± 1%`, `<= 5%`." },
  rate: { type: { t: "scalar" }, doc: "TCP throughput from → to (iperf3), e.g. `<= 1mbit`." },
};

const networkAttachment: Type = {
  t: "object",
  nullable: true,
  fields: {
    aliases: { type: strList, doc: "Extra DNS names on this network.", example: "aliases: [www]" },
    ipv4_address: { type: str, doc: "Fixed address (replicas take the following addresses)." },
    mac_address: { type: str, doc: "Fixed MAC address of the interface." },
    priority: { type: { t: "int" }, doc: "Higher first: orders the interfaces eth0, eth1, …" },
    ipv6_address: {
      type: str,
      doc: "Fixed IPv6 address, inside the network's IPv6 subnet (needs enable_ipv6: true).",
    },
    link_local_ips: ignored("ignored: link-local addresses are not assigned"),
    gw_priority: {
      type: { t: "int" },
      doc: "Highest first: which network's gateway carries the default route.",
    },
    driver_opts: ignored("ignored: endpoint driver options have no effect on a veth"),
    interface_name: {
      type: str,
      doc: "Interface name inside the container (default eth0, eth1, … in connect order).",
    },
    ...IMPAIR_FIELDS,
  },
};

const service: Type = {
  t: "object",
  nullable: true,
  fields: {
    host: { type: str, doc: "The host (simulated machine) this container runs on." },
    command: {
      type: { t: "oneOf", of: [str, strList] },
      doc: "Command to run; a string is split like a shell would (no expansion).",
      example: 'command: ["python3", "-m", "http.server", "80"]',
    },
    environment: {
      type: { t: "oneOf", of: [{ t: "map", values: scalar, nullable: true }, strList] },
      doc: "Environment: a map, or a list of K=V.",
    },
    hostname: { type: str, doc: "Hostname inside the container (default: the container name)." },
    ports: {
      type: { t: "list", items: { t: "oneOf", of: [{ t: "int" }, str, portLong] } },
      doc: 'Published ports, Compose syntax: "8080:80", "127.0.0.1:53:53/udp", long form.',
      example: 'ports: ["8080:80"]',
    },
    expose: {
      type: { t: "list", items: { t: "oneOf", of: [{ t: "int" }, str] } },
      doc: "Ports the container listens on without publishing them.",
      example: "expose: [8000]",
    },
    networks: {
      type: {
        t: "oneOf",
        of: [{ t: "list", items: str }, { t: "map", values: networkAttachment }],
      },
      doc: "Networks to join, as a list or as a map with aliases/ipv4_address/mac_address.",
      example: "networks: [front, back]",
    },
    network_mode: {
      type: { t: "string", pattern: "^(host|none|bridge|default|container:.+|service:.+)$" },
      doc: "host | none | bridge | container:NAME | service:NAME.",
      example: "network_mode: host",
    },
    deploy: {
      type: {
        t: "object",
        nullable: true,
        fields: {
          // Capped: a typo like 99999999999 must be a located error, not an out-of-memory crash.
          replicas: {
            type: { t: "int", min: 0, max: 10000 },
            doc: "Number of containers: NAME-1 … NAME-n (at most 10000).",
          },
          mode: ignored(),
          resources: ignored(),
          placement: ignored(),
          restart_policy: ignored(),
          update_config: ignored(),
          rollback_config: ignored(),
          labels: ignored(),
          endpoint_mode: ignored(),
        },
      },
      doc: "Compose deploy section; only `replicas` is used.",
    },
    scale: { type: { t: "int", min: 0, max: 10000 }, doc: "Same as deploy.replicas." },
    runtime: {
      type: str,
      doc: "netns (default): a namespace and a process; docker: a Docker container from " +
        "`image`. Any other value is Compose's OCI runtime (runc, …): ignored.",
    },
    container_name: { type: str, doc: "Container name (a DNS name on its networks)." },
    links: { type: strList, doc: "SERVICE or SERVICE:ALIAS: DNS names of another service." },
    extra_hosts: {
      type: {
        t: "oneOf",
        of: [strList, { t: "map", values: { t: "oneOf", of: [scalar, strList] } }],
      },
      doc: 'Lines of /etc/hosts: ["name:ip"], ["name=ip"] or { name: ip }.',
    },
    dns: { type: { t: "oneOf", of: [scalar, strList] }, doc: "Upstream servers of the DNS." },
    dns_search: { type: { t: "oneOf", of: [scalar, strList] }, doc: "resolv.conf search." },
    dns_opt: { type: strList, doc: "resolv.conf options." },
    domainname: { type: str, doc: "Domain name of the container." },
    mac_address: { type: str, doc: "MAC address of the first interface." },
    profiles: { type: strList, doc: "Profiles that enable the service (--profile)." },
    depends_on: {
      type: { t: "oneOf", of: [strList, { t: "map", values: { t: "any" } }] },
      doc: "Services started first: their containers take addresses first, as in Compose.",
    },
    extends: {
      type: { t: "oneOf", of: [str, { t: "map", values: scalar }] },
      doc: "Service to extend (handled before validation).",
    },
    image: { type: str, doc: "Image for runtime docker; ignored with runtime netns." },
    build: {
      type: { t: "oneOf", of: [str, { t: "map", values: { t: "any" } }] },
      doc: "Ignored with runtime netns (the image's command is not run either).",
    },
    restart: {
      type: { t: "string", pattern: "^(no|always|unless-stopped|on-failure(:\\d+)?)$" },
      doc: "Restart policy of the command: no | always | on-failure | unless-stopped.",
      example: "restart: no | always | on-failure | unless-stopped",
    },
    ...Object.fromEntries(SERVICE_IGNORED.map((k) => [k, ignored()])),
  },
};

const ipamConfig: Type = {
  t: "object",
  fields: {
    subnet: { type: str, doc: "Subnet, e.g. 172.20.0.0/24.", example: "subnet: 172.20.0.0/24" },
    gateway: { type: str, doc: "Gateway address (default: first usable)." },
    ip_range: { type: str, doc: "Range containers are allocated from (inside the subnet)." },
    aux_addresses: { type: { t: "map", values: str }, doc: "Addresses IPAM never hands out." },
  },
};

const network: Type = {
  t: "object",
  nullable: true,
  fields: {
    driver: {
      type: { t: "string" },
      doc: "bridge (default) | overlay | macvlan.",
      example: "driver: bridge",
    },
    driver_opts: {
      type: { t: "map", values: scalar },
      doc: "Driver options: vni, port (overlay); parent, macvlan_mode, host_shim (macvlan); " +
        "com.docker.network.driver.mtu.",
    },
    ipam: {
      type: {
        t: "object",
        fields: {
          config: { type: { t: "list", items: ipamConfig }, doc: "One IPv4 subnet." },
          driver: ignored(),
          options: ignored(),
        },
      },
      doc: "Address management.",
    },
    internal: { type: { t: "bool" }, doc: "No route out of the network." },
    encrypted: { type: { t: "bool" }, doc: "Overlay: IPsec ESP between hosts." },
    enable_ipv6: {
      type: { t: "bool" },
      doc: "Dual-stack: an IPv6 subnet too (from ipam, else a /64 of the lab's ULA /48).",
    },
    enable_ipv4: { type: { t: "bool" }, doc: "false (IPv6-only) is refused: not built yet." },
    attachable: ignored(),
    labels: ignored(),
    external: {
      type: { t: "oneOf", of: [{ t: "bool" }, { t: "map", values: str }] },
      doc: "A network made outside the file.",
    },
    name: { type: str, doc: "The name Docker gives the network (default <project>_<key>)." },
  },
};

const check: Type = {
  t: "object",
  fields: {
    from: { type: str, doc: "Container, host, or `outside` (the machine's root namespace)." },
    to: {
      type: scalar,
      doc: "`name:port[/proto]`, `ip:port`, or a bare name/ip (ICMP).",
      example: 'to: "web:80"',
    },
    dns: { type: str, doc: "A name to resolve (DNS check)." },
    type: { type: { t: "string", enum: ["A", "AAAA", "PTR", "SRV"] }, doc: "DNS record type." },
    expect: {
      type: { t: "oneOf", of: [str, strList, { t: "object", fields: MEASURE_FIELDS }] },
      doc: "open | closed | unreachable | nxdomain | a container name | a list of addresses | " +
        "measured: { rtt, loss, rate }.",
      example: "expect: open",
    },
  },
};

/** The whole topology file. */
export const TOPOLOGY: Type = {
  t: "object",
  fields: {
    name: { type: str, doc: "Lab name (≤ 11 bytes); -p/--project-name overrides it." },
    underlay: {
      type: {
        t: "object",
        fields: { subnet: { type: str, doc: "Subnet of the hosts' segment." } },
      },
      doc: 'The L2 segment joining the hosts ("the physical network").',
    },
    hosts: {
      type: {
        t: "map",
        values: {
          t: "object",
          nullable: true,
          fields: {
            address: { type: str, doc: "Underlay address of the host." },
            ...IMPAIR_FIELDS,
            underlay_dev: {
              type: str,
              doc: "Machine interface this host's part binds to (`up --only-host`; see docs).",
            },
            node: { type: str, doc: "Kubernetes node that runs this host's part (`nslab k8s`)." },
          },
        },
      },
      doc: "Simulated machines; omitted: one host named `host`.",
    },
    dns: {
      type: {
        t: "object",
        fields: {
          upstream: { type: strList, doc: "Resolvers names outside the lab are forwarded to." },
          ttl: { type: { t: "int", min: 0 }, doc: "TTL of answers (Docker: 600)." },
        },
      },
      doc: "The embedded DNS at 127.0.0.11.",
    },
    networks: {
      type: { t: "map", values: network, nullable: true },
      doc: "Networks besides `default` (docker0).",
    },
    containers: {
      type: { t: "map", values: service, nullable: true },
      doc: "Containers; `services` is a synonym.",
    },
    services: {
      type: { t: "map", values: service, nullable: true },
      doc: "Synonym of `containers` (Compose files).",
    },
    checks: { type: { t: "list", items: check }, doc: "Explicit expectations." },
    version: ignored("ignored: the Compose file version is obsolete"),
    volumes: ignored(),
    secrets: ignored(),
    configs: ignored(),
    include: ignored(),
    models: ignored(),
  },
};

/** Where each value of the cleaned tree came from. */
export class Positions {
  readonly #map = new Map<string, { key?: SourcePos; value: SourcePos }>();
  constructor(readonly file: string) {}

  /** Records the position of the value (and key) at `path`. */
  set(path: readonly (string | number)[], value: SourcePos, key?: SourcePos): void {
    const id = JSON.stringify(path);
    this.#map.set(id, { key: key ?? this.#map.get(id)?.key, value });
  }

  /** Position of the value at `path` (or of its nearest recorded ancestor). */
  of(path: readonly (string | number)[]): SourcePos {
    for (let n = path.length; n >= 0; n--) {
      const hit = this.#map.get(JSON.stringify(path.slice(0, n)));
      if (hit) return hit.value;
    }
    return { file: this.file, line: 1, col: 1 };
  }

  /** Position of the key at `path` (falls back to the value). */
  keyOf(path: readonly (string | number)[]): SourcePos {
    const hit = this.#map.get(JSON.stringify(path));
    return hit?.key ?? this.of(path);
  }
}

function kindName(v: Located): string {
  if (v.kind === "map") return "a map";
  if (v.kind === "seq") return "a list";
  if (v.value === null) return "empty";
  if (typeof v.value === "number") return Number.isInteger(v.value) ? "an integer" : "a number";
  if (typeof v.value === "boolean") return "a boolean";
  return "a string";
}

function typeName(t: Type): string {
  switch (t.t) {
    case "string":
      return t.enum ? `one of ${t.enum.join(", ")}` : "a string";
    case "scalar":
      return "a string";
    case "int":
      return "an integer";
    case "bool":
      return "true or false";
    case "object":
    case "map":
      return "a map";
    case "list":
      return "a list";
    case "oneOf":
      return [...new Set(t.of.map(typeName))].join(" or ");
    case "any":
      return "anything";
  }
}

/** An interpolated `"42"` where Compose expects a number: 42 (Compose casts after interpolation). */
function castInt(v: Located): number | null {
  if (v.kind !== "scalar" || !v.interpolated || typeof v.value !== "string") return null;
  return /^-?\d+$/.test(v.value.trim()) ? Number(v.value) : null;
}

/** An interpolated `"true"`/`"false"` where Compose expects a boolean. */
function castBool(v: Located): boolean | null {
  if (v.kind !== "scalar" || !v.interpolated || typeof v.value !== "string") return null;
  const t = v.value.trim().toLowerCase();
  return t === "true" ? true : t === "false" ? false : null;
}

function accepts(t: Type, v: Located): boolean {
  switch (t.t) {
    case "string":
      return v.kind === "scalar" && typeof v.value === "string";
    case "scalar":
      return v.kind === "scalar" && v.value !== null;
    case "int":
      return v.kind === "scalar" &&
        (typeof v.value === "number" || castInt(v) !== null);
    case "bool":
      return v.kind === "scalar" && (typeof v.value === "boolean" || castBool(v) !== null);
    case "object":
    case "map":
      return v.kind === "map" || (t.nullable === true && v.kind === "scalar" && v.value === null);
    case "list":
      return v.kind === "seq";
    case "oneOf":
      return t.of.some((x) => accepts(x, v));
    case "any":
      return true;
  }
}

/** Context of one structural check. */
interface Walk {
  diags: Diagnostics;
  positions: Positions;
  /** Ignored Compose keys seen, by `section:key`, for one warning each. */
  ignoredSeen: Map<string, { pos: SourcePos; count: number; message: string }>;
}

function quoteIfNeeded(v: Located): string {
  return v.kind === "scalar" && typeof v.value === "string" ? ` "${v.value}"` : "";
}

function walk(t: Type, v: Located, path: (string | number)[], w: Walk, example?: string): unknown {
  w.positions.set(path, v.pos);
  const where = pathText(path) || "the topology";
  if (!accepts(t, v)) {
    const hint = example
      ? `write it as ${typeName(t)}, e.g. ${example}`
      : `write it as ${typeName(t)}`;
    w.diags.error(
      v.pos,
      `${where} must be ${typeName(t)}, not ${kindName(v)}${quoteIfNeeded(v)}`,
      hint,
    );
    return undefined;
  }
  switch (t.t) {
    case "oneOf": {
      const alt = t.of.find((x) => accepts(x, v))!;
      return walk(alt, v, path, w, example);
    }
    case "string": {
      const s = (v as { value: string }).value;
      if (t.enum && !t.enum.includes(s)) {
        w.diags.error(
          v.pos,
          `${where} must be one of ${t.enum.join(", ")}, not "${s}"${suggestion(s, t.enum)}`,
          `use one of ${t.enum.join(", ")}`,
        );
        return undefined;
      }
      if (t.pattern && !new RegExp(t.pattern).test(s)) {
        w.diags.error(
          v.pos,
          `${where} "${s}" is not valid`,
          example ? `e.g. ${example}` : "see `nslab schema` for the accepted forms",
        );
        return undefined;
      }
      return s;
    }
    case "scalar":
      return String((v as { value: unknown }).value);
    case "int": {
      const n = castInt(v) ?? (v as { value: number }).value;
      if (!Number.isInteger(n)) {
        w.diags.error(v.pos, `${where} must be an integer, not ${n}`, "write a whole number");
        return undefined;
      }
      if ((t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max)) {
        const range = t.max === undefined ? `≥ ${t.min}` : `between ${t.min} and ${t.max}`;
        w.diags.error(v.pos, `${where} must be ${range}, not ${n}`, `use a number ${range}`);
        return undefined;
      }
      return n;
    }
    case "bool":
      return castBool(v) ?? (v as { value: boolean }).value;
    case "any":
      return undefined;
    case "list": {
      const items = (v as { items: Located[] }).items;
      const out: unknown[] = [];
      items.forEach((item, i) => {
        out.push(walk(t.items, item, [...path, i], w));
      });
      return out;
    }
    case "map": {
      if (v.kind !== "map") return {};
      const out: Record<string, unknown> = {};
      for (const e of v.entries) {
        const p = [...path, e.key];
        w.positions.set(p, e.value.pos, e.keyPos);
        if (e.key === "") {
          w.diags.error(e.keyPos, `${where}: a key must be a plain name`, "write a plain word");
          continue;
        }
        // Extension fields are the user's own (Compose ignores them without a word).
        if (e.key.startsWith("x-")) continue;
        if (e.value.kind === "scalar" && e.value.value === null) {
          // `front:` with no body is `front: {}`; `VAR:` with no value is unset, as in Compose.
          if (t.values.t === "object") out[e.key] = {};
          if (t.values.t === "object" || t.values.t === "scalar") continue;
        }
        out[e.key] = walk(t.values, e.value, p, w);
      }
      return out;
    }
    case "object": {
      if (v.kind !== "map") return {};
      const out: Record<string, unknown> = {};
      const names = Object.keys(t.fields).filter((k) => !t.fields[k].ignored);
      for (const e of v.entries) {
        const p = [...path, e.key];
        w.positions.set(p, e.value.pos, e.keyPos);
        const field = Object.hasOwn(t.fields, e.key) ? t.fields[e.key] : undefined;
        // Extension fields are the user's own (Compose ignores them without a word).
        if (e.key.startsWith("x-")) continue;
        if (!field) {
          const label = e.key === "" ? "a key that is not a plain name" : `unknown key "${e.key}"`;
          w.diags.error(
            e.keyPos,
            `${label} in ${where}${e.key === "" ? "" : suggestion(e.key, names)}`,
            `valid keys here: ${names.join(", ")}`,
          );
          continue;
        }
        if (field.ignored) {
          const section = path.filter((s) => typeof s === "string").length > 0
            ? genericSection(path)
            : "top";
          // Keys ignored for the usual reason share one line; others keep their own reason.
          if (field.doc === IGNORED_TEXT) recordIgnored(w, `generic:${e.key}`, e.keyPos, e.key);
          else recordIgnored(w, `${section}:${e.key}`, e.keyPos, `"${e.key}" ${field.doc}`);
          continue;
        }
        const r = walk(field.type, e.value, p, w, field.example);
        if (r !== undefined) out[e.key] = r;
      }
      return out;
    }
  }
}

/** `services.*.deploy` for `services.web.deploy`: ignored keys are reported once per section. */
function genericSection(path: (string | number)[]): string {
  const out: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (typeof seg === "number") continue;
    const isMapKey = i > 0 &&
      ["hosts", "networks", "containers", "services"].includes(String(path[i - 1]));
    out.push(isMapKey ? "*" : seg);
  }
  return out.join(".");
}

function recordIgnored(w: Walk, key: string, pos: SourcePos, message: string): void {
  const seen = w.ignoredSeen.get(key);
  if (seen) seen.count++;
  else w.ignoredSeen.set(key, { pos, count: 1, message });
}

/**
 * Checks the located tree against {@link TOPOLOGY}: wrong types and unknown keys become errors,
 * ignored Compose keys one warning each. Returns the tree with every invalid part left out, and
 * where each value came from.
 */
export function checkShape(
  root: Located,
  diags: Diagnostics,
  file: string,
): { value: Record<string, unknown>; positions: Positions } {
  const positions = new Positions(file);
  const w: Walk = { diags, positions, ignoredSeen: new Map() };
  if (root.kind !== "map") {
    const empty = root.kind === "scalar" && root.value === null;
    diags.error(
      root.pos,
      empty ? "the topology is empty" : `the topology must be a map of keys, not ${kindName(root)}`,
      "start with `containers:` (or `services:`), e.g. containers: { web: {} }",
    );
    return { value: {}, positions };
  }
  const value = walk(TOPOLOGY, root, [], w) as Record<string, unknown>;
  const generic: { pos: SourcePos; text: string }[] = [];
  for (const [key, { pos, count, message }] of w.ignoredSeen) {
    const text = count > 1 ? `${message} (${count} places)` : message;
    if (key.startsWith("generic:")) generic.push({ pos, text });
    else diags.warn(pos, text);
  }
  if (generic.length > 0) {
    const keys = generic.map((g) => g.text).sort().join(", ");
    diags.warn(generic[0].pos, `${IGNORED_TEXT.replace(/^ignored: /, "ignored (")}): ${keys}`);
  }
  return { value: value ?? {}, positions };
}

function jsonSchemaOf(t: Type, doc?: string): Record<string, unknown> {
  const d = doc ? { description: doc } : {};
  switch (t.t) {
    case "string":
      return {
        type: "string",
        ...(t.enum ? { enum: [...t.enum] } : {}),
        ...(t.pattern ? { pattern: t.pattern } : {}),
        ...d,
      };
    case "scalar":
      return { type: ["string", "number", "boolean"], ...d };
    case "int":
      return {
        type: "integer",
        ...(t.min !== undefined ? { minimum: t.min } : {}),
        ...(t.max !== undefined ? { maximum: t.max } : {}),
        ...d,
      };
    case "bool":
      return { type: "boolean", ...d };
    case "list":
      return { type: "array", items: jsonSchemaOf(t.items), ...d };
    case "oneOf":
      return { oneOf: t.of.map((x) => jsonSchemaOf(x)), ...d };
    case "any":
      return { ...d };
    case "map":
      return {
        type: t.nullable ? ["object", "null"] : "object",
        additionalProperties: jsonSchemaOf(t.values),
        ...d,
      };
    case "object": {
      const properties: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(t.fields)) properties[k] = jsonSchemaOf(f.type, f.doc);
      return {
        type: t.nullable ? ["object", "null"] : "object",
        properties,
        patternProperties: { "^x-": {} },
        additionalProperties: false,
        ...d,
      };
    }
  }
}

/**
 * A JSON Schema (draft-07) of the topology format, generated from the validator's own table.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(topologySchema(), null, 2)); // what `nslab schema` prints
 * ```
 */
export function topologySchema(): Record<string, unknown> {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://nslab.dev/schema/topology.json",
    title: "nslab topology",
    ...jsonSchemaOf(TOPOLOGY, "A Compose-like lab: hosts, networks, containers and checks."),
  };
}
