/**
 * Kubernetes as the engine that places a lab's parts (`nslab k8s`): from a resolved bundle, the
 * objects a cluster needs, typed with the Kubernetes API's own field names (`k8s_types.ts`):
 *
 * - a ConfigMap `<lab>-bundle` holding the bundle;
 * - per lab host, a privileged host-network Pod `<lab>-<host>` pinned to its node, which runs
 *   `nslab up --bundle … --only-host HOST --underlay-dev DEV --attach` (so the part lives as long
 *   as the Pod), with `nslab down` before (an init container, for what a killed Pod left) and on
 *   termination (preStop, and `--attach` tears down on SIGTERM);
 * - per lab host, a Job `<lab>-check-<host>` on the same node running `nslab check --only-host`
 *   (what that machine's part can probe: its containers to every other part).
 *
 * Pure: the same bundle and options give the same objects.
 *
 * @module
 */

import type {
  V1ConfigMap,
  V1Container,
  V1Job,
  V1ObjectMeta,
  V1Pod,
  V1PodSpec,
  V1Volume,
  V1VolumeMount,
} from "./k8s_types.ts";
import type { Bundle } from "./bundle.ts";
import { UsageError } from "../errors.ts";

/** Where each host's part runs, and with what. */
export interface K8sOptions {
  /** Namespace of every object. */
  namespace: string;
  /** Container image with `nslab` on its PATH (and iproute2, iptables). */
  image: string;
  /** Host → node name (the file's `hosts.<h>.node` unless a flag says otherwise). */
  nodes: Record<string, string>;
  /** Host → the node's interface on the underlay (the file's `underlay_dev` unless flagged). */
  underlayDevs: Record<string, string>;
}

/** The objects, in the order they should be applied. */
export type K8sObject = V1ConfigMap | V1Pod | V1Job;

/** File name of the bundle inside the ConfigMap and where Pods see it. */
const BUNDLE_KEY = "lab.bundle.json";
const BUNDLE_DIR = "/etc/nslab";
/** A ConfigMap holds at most 1 MiB. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** The machine folders a part's objects live in, shared with the node (and the check Job). */
const HOST_DIRS: { name: string; path: string }[] = [
  { name: "run-netns", path: "/run/netns" },
  { name: "run-nslab", path: "/run/nslab" },
  { name: "etc-netns", path: "/etc/netns" },
];

/**
 * An object name Kubernetes accepts (a DNS label: lowercase letters, digits, '-', ≤ 63) made of
 * lab and host names, which may also hold '_' and '.'.
 */
export function k8sName(...parts: string[]): string {
  const name = parts.join("-").toLowerCase().replace(/[_.]/g, "-");
  if (name.length > 63) {
    throw new UsageError(`Cannot name a Kubernetes object "${name}": longer than 63 characters`);
  }
  return name;
}

function meta(
  name: string,
  opts: K8sOptions,
  labels: Record<string, string>,
  digest: string,
): V1ObjectMeta {
  return {
    name,
    namespace: opts.namespace,
    labels: { "app.kubernetes.io/name": "nslab", ...labels },
    annotations: { "nslab/digest": digest },
  };
}

/** Volumes of a part or check Pod: the bundle, and the node's netns/state folders. */
function volumes(lab: string): V1Volume[] {
  return [
    { name: "bundle", configMap: { name: k8sName(lab, "bundle") } },
    ...HOST_DIRS.map((d): V1Volume => ({
      name: d.name,
      hostPath: { path: d.path, type: "DirectoryOrCreate" },
    })),
  ];
}

/**
 * Mounts: the part's Pod makes namespaces (bind mounts under /run/netns) that the node and the
 * check Job must see, hence Bidirectional; the Job only reads them.
 */
function mounts(propagation: "Bidirectional" | "HostToContainer"): V1VolumeMount[] {
  return [
    { name: "bundle", mountPath: BUNDLE_DIR, readOnly: true },
    ...HOST_DIRS.map((d) => ({ name: d.name, mountPath: d.path, mountPropagation: propagation })),
  ];
}

/** A privileged container running `nslab ARGS…`, with the lab's name in its environment. */
function nslab(name: string, lab: string, opts: K8sOptions, args: string[]): V1Container {
  return {
    name,
    image: opts.image,
    command: ["nslab", ...args],
    env: [{ name: "NSLAB_LAB", value: lab }],
    securityContext: { privileged: true },
  };
}

/** The Pod spec shared by a part and its check: host network, privileged, pinned to the node. */
function nodeSpec(lab: string, node: string, containers: V1Container[]): V1PodSpec {
  return {
    hostNetwork: true,
    dnsPolicy: "ClusterFirstWithHostNet",
    nodeSelector: { "kubernetes.io/hostname": node },
    containers,
    volumes: volumes(lab),
  };
}

/** The Pod running host `host`'s part. */
function partPod(bundle: Bundle, host: string, opts: K8sOptions): V1Pod {
  const lab = bundle.lab;
  const down = ["down", "-p", lab];
  const part = nslab("part", lab, opts, [
    "up",
    "--bundle",
    `${BUNDLE_DIR}/${BUNDLE_KEY}`,
    "--only-host",
    host,
    "--underlay-dev",
    opts.underlayDevs[host],
    "--attach",
    "--progress",
    "plain",
  ]);
  part.volumeMounts = mounts("Bidirectional");
  part.lifecycle = { preStop: { exec: { command: ["nslab", ...down] } } };
  const clean = nslab("down-leftovers", lab, opts, down);
  clean.volumeMounts = mounts("Bidirectional");
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta(k8sName(lab, host), opts, labelsOf(lab, host), bundle.digest),
    spec: {
      ...nodeSpec(lab, opts.nodes[host], [part]),
      initContainers: [clean],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
    },
  };
}

/** Labels naming the lab and host (label values: ≤ 63 of [A-Za-z0-9_.-], as lab names are). */
function labelsOf(lab: string, host: string): Record<string, string> {
  return { "nslab/lab": lab, "nslab/host": host };
}

/** The Job checking what host `host`'s part can probe. */
function checkJob(bundle: Bundle, host: string, opts: K8sOptions): V1Job {
  const lab = bundle.lab;
  const check = nslab("check", lab, opts, ["check", "-p", lab, "--only-host", host]);
  check.volumeMounts = mounts("HostToContainer");
  const labels = { ...labelsOf(lab, host), "nslab/role": "check" };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(k8sName(lab, "check", host), opts, labels, bundle.digest),
    spec: {
      // the part may still be coming up at the first tries
      backoffLimit: 6,
      template: {
        metadata: { labels: { "app.kubernetes.io/name": "nslab", ...labels } },
        spec: { ...nodeSpec(lab, opts.nodes[host], [check]), restartPolicy: "Never" },
      },
    },
  };
}

/** Refuses (exit 2) when a host has no node or no underlay interface, naming the fix. */
function assertPlaced(bundle: Bundle, opts: K8sOptions): void {
  const hosts = bundle.model.hosts.map((h) => h.name);
  const missing = (what: Record<string, string>) => hosts.filter((h) => !what[h]);
  const noNode = missing(opts.nodes);
  const noDev = missing(opts.underlayDevs);
  // `nslab down -p LAB` (preStop) removes every part of the lab on its machine
  const shared = hosts.filter((h, i) =>
    opts.nodes[h] && hosts.findIndex((x) => opts.nodes[x] === opts.nodes[h]) !== i
  );
  if (noNode.length === 0 && noDev.length === 0 && shared.length === 0) return;
  const lines = [
    ...shared.map((h) =>
      `host "${h}" shares node "${opts.nodes[h]}" with another host: a node runs one part of ` +
      "a lab (stopping one Pod downs every part on its node); give each host its own node"
    ),
    ...noNode.map((h) => `host "${h}" has no node: give --node ${h}=NODE or hosts.${h}.node`),
    ...noDev.map((h) =>
      `host "${h}" has no underlay interface: give --underlay-dev ${h}=DEV (or --underlay-dev ` +
      `DEV for every host) or hosts.${h}.underlay_dev`
    ),
  ];
  throw new UsageError(`Cannot place lab "${bundle.lab}" on Kubernetes:\n  ${lines.join("\n  ")}`);
}

/**
 * The objects that run `bundle` on a cluster.
 *
 * @example
 * ```ts
 * const objects = k8sObjects(bundle, {
 *   namespace: "labs", image: "registry.example/nslab:0.1",
 *   nodes: { h1: "worker-1", h2: "worker-2" }, underlayDevs: { h1: "ens4", h2: "ens4" },
 * });
 * ```
 */
export function k8sObjects(bundle: Bundle, opts: K8sOptions): K8sObject[] {
  assertPlaced(bundle, opts);
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  const size = new TextEncoder().encode(text).length;
  if (size > CONFIGMAP_MAX_BYTES) {
    throw new UsageError(
      `Cannot put the bundle of lab "${bundle.lab}" in a ConfigMap: it has ${size} bytes and a ` +
        "ConfigMap holds at most 1 MiB; split the lab or ship the bundle in the image",
    );
  }
  const lab = bundle.lab;
  const configMap: V1ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(k8sName(lab, "bundle"), opts, { "nslab/lab": lab }, bundle.digest),
    data: { [BUNDLE_KEY]: text },
  };
  const hosts = bundle.model.hosts.map((h) => h.name);
  const names = hosts.map((h) => k8sName(lab, h));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) {
    throw new UsageError(
      `Cannot name the Pods of lab "${lab}": two hosts become "${twice}" in Kubernetes (which ` +
        "has no '_' or '.' in names); rename one of them",
    );
  }
  return [
    configMap,
    ...hosts.map((h) => partPod(bundle, h, opts)),
    ...hosts.map((h) => checkJob(bundle, h, opts)),
  ];
}
