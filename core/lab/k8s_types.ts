/**
 * The Kubernetes API objects `nslab k8s` writes, typed with the field names and shapes of the
 * Kubernetes API (core/v1 and batch/v1), limited to the fields nslab sets. Written here instead
 * of importing `@kubernetes/client-node`'s models: that package type-checks under Deno, but its
 * `@types/node` changes the typing of `node:assert` for every test checked with it. The output is
 * checked against Kubernetes' own types by kubectl (tests/k8s_kubectl_test.ts).
 *
 * @module
 */

/** `metadata`. */
export interface V1ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** `volumeMounts[]`. */
export interface V1VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  mountPropagation?: "None" | "HostToContainer" | "Bidirectional";
}

/** `containers[]`, `initContainers[]`. */
export interface V1Container {
  name: string;
  image?: string;
  command?: string[];
  env?: { name: string; value?: string }[];
  securityContext?: { privileged?: boolean };
  volumeMounts?: V1VolumeMount[];
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
}

/** `volumes[]`: a ConfigMap or a folder of the node. */
export interface V1Volume {
  name: string;
  configMap?: { name?: string };
  hostPath?: { path: string; type?: "DirectoryOrCreate" | "Directory" };
}

/** A Pod's `spec`. */
export interface V1PodSpec {
  containers: V1Container[];
  initContainers?: V1Container[];
  hostNetwork?: boolean;
  dnsPolicy?: "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None";
  nodeSelector?: Record<string, string>;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  terminationGracePeriodSeconds?: number;
  volumes?: V1Volume[];
}

/** `v1` Pod. */
export interface V1Pod {
  apiVersion?: "v1";
  kind?: "Pod";
  metadata?: V1ObjectMeta;
  spec?: V1PodSpec;
}

/** `v1` ConfigMap. */
export interface V1ConfigMap {
  apiVersion?: "v1";
  kind?: "ConfigMap";
  metadata?: V1ObjectMeta;
  data?: Record<string, string>;
}

/** `batch/v1` Job. */
export interface V1Job {
  apiVersion?: "batch/v1";
  kind?: "Job";
  metadata?: V1ObjectMeta;
  spec?: {
    backoffLimit?: number;
    template: { metadata?: V1ObjectMeta; spec?: V1PodSpec };
  };
}
