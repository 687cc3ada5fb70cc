/**
 * The topology format as one table of keys and types (a data table). The same table drives the
 * structural validator (`checkShape` in shape.ts: wrong types, unknown keys with did-you-mean,
 * ignored Compose keys) and the JSON Schema that `nslab schema` prints (json_schema.ts), so they
 * cannot drift.
 *
 * @module
 */

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

/** Why most ignored Compose keys are ignored; keys with this reason share one warning. */
export const IGNORED_TEXT = "ignored: nslab builds only the network";

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
    priority: {
      type: { t: "int" },
      doc: "Connect order (the primary network first); the engine orders eth0, eth1, … by name",
    },
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
    enable_ipv4: {
      type: { t: "bool" },
      doc: "false: an IPv6-only bridge network (needs enable_ipv6: true; no IPv4 subnet).",
    },
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
    daemon: {
      type: {
        t: "object",
        fields: {
          ipv6: { type: { t: "bool" }, doc: "docker0 (network_mode: bridge) is dual-stack." },
          "fixed-cidr-v6": {
            type: str,
            doc: "docker0's IPv6 subnet (default: a /64 of the lab's ULA /48).",
            example: "fixed-cidr-v6: fd00:d0c::/64",
          },
        },
      },
      doc: "Docker daemon settings as in daemon.json (only the default bridge's IPv6).",
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
