/**
 * The topology file format as TypeScript types, for topologies written as objects
 * (`Lab.up({ containers: { web: {} } })`) and for editor completion. It mirrors the table in
 * `schema.ts`, which is what validates both files and objects.
 *
 * @module
 */

/** Long-form port: `{ target: 80, published: 8080, protocol: "udp" }`. */
export interface PortInput {
  target: number;
  /** Host port or range; omitted: nslab picks a free port from 49153 up. */
  published?: number | string;
  host_ip?: string;
  protocol?: "tcp" | "udp" | "sctp";
  /** Port name; makes an SRV record. */
  name?: string;
  mode?: "host" | "ingress";
}

/** A container's attachment to one network (map form of `networks:`). */
export interface NetworkAttachmentInput {
  aliases?: string[];
  /** Fixed address; the replicas of a service take this and the following addresses. */
  ipv4_address?: string;
  mac_address?: string;
  /** Higher first: orders the interfaces eth0, eth1, … */
  priority?: number;
}

/** A container, or a service of several replicas. */
export interface ContainerInput {
  host?: string;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  hostname?: string;
  ports?: (string | number | PortInput)[];
  expose?: (string | number)[];
  networks?: string[] | Record<string, NetworkAttachmentInput | null>;
  network_mode?: string;
  deploy?: { replicas?: number; [key: string]: unknown };
  scale?: number;
  runtime?: "netns" | "docker";
  image?: string;
  restart?: "no" | "always" | "on-failure" | "unless-stopped" | string;
  /** Other Compose keys are accepted and reported as ignored. */
  [composeKey: string]: unknown;
}

/** A network. */
export interface NetworkInput {
  driver?: "bridge" | "overlay" | "macvlan";
  driver_opts?: Record<string, string | number | boolean>;
  ipam?: { config?: { subnet?: string; gateway?: string; ip_range?: string }[] };
  internal?: boolean;
  encrypted?: boolean;
  enable_ipv6?: boolean;
  [composeKey: string]: unknown;
}

/** An explicit check: reachability (`to`) or DNS (`dns`). */
export interface CheckInput {
  from: string;
  to?: string | number;
  dns?: string;
  type?: "A" | "AAAA" | "PTR" | "SRV";
  expect: string | string[];
}

/**
 * A whole topology, as in a YAML file.
 *
 * @example
 * ```ts
 * const t: TopologyInput = {
 *   name: "t1",
 *   networks: { front: {} },
 *   containers: { web: { networks: ["front"], ports: ["8080:80"] } },
 * };
 * ```
 */
export interface TopologyInput {
  name?: string;
  underlay?: { subnet?: string };
  hosts?: Record<string, { address?: string } | null>;
  dns?: { upstream?: string[]; ttl?: number };
  networks?: Record<string, NetworkInput | null>;
  containers?: Record<string, ContainerInput | null>;
  services?: Record<string, ContainerInput | null>;
  checks?: CheckInput[];
  [composeKey: string]: unknown;
}
