import assert, { throws } from "node:assert/strict";
import { loadTopology } from "../model/load.ts";
import type { Model } from "../model/types.ts";
import { checkKernelFeatures, setProbeResult } from "./features.ts";
import { UnsupportedError } from "../errors.ts";

function load(yaml: string): Model {
  return loadTopology({ file: "lab.yaml", text: yaml }, { reserved: [], uplink: false }).model;
}

/** Runs `fn` with the probes answering as given, then forgets the answers. */
function withProbes(esp: boolean, vlan: boolean, fn: () => void): void {
  setProbeResult("esp", esp);
  setProbeResult("8021q", vlan);
  try {
    fn();
  } finally {
    setProbeResult("esp", null);
    setProbeResult("8021q", null);
  }
}

function refusal(model: Model, ...parts: (string | RegExp)[]): void {
  throws(() => checkKernelFeatures(model), (e: unknown) => {
    assert(e instanceof UnsupportedError, `expected UnsupportedError, got ${e}`);
    assert.equal(e.exitCode, 2);
    for (const p of parts) assert.match(e.message, typeof p === "string" ? new RegExp(p) : p);
    return true;
  });
}

const ENCRYPTED = `name: t
hosts: { h1: {}, h2: {} }
networks:
  mesh: { driver: overlay, encrypted: true }
containers:
  a: { host: h1, networks: [mesh] }
  b: { host: h2, networks: [mesh] }
`;

const VLAN = `name: t
networks:
  lan: { driver: macvlan, driver_opts: { parent: eth0.50 }, ipam: { config: [{ subnet: 192.168.50.0/24 }] } }
containers:
  a: { networks: [lan] }
`;

const passthru = (parent: string, hosts: string[]) =>
  `name: t
hosts: { h1: {}, h2: {} }
networks:
  lan: { driver: macvlan, driver_opts: { parent: ${parent}, macvlan_mode: passthru }, ipam: { config: [{ subnet: 192.168.50.0/24 }] } }
containers:
${hosts.map((h, i) => `  c${i}: { host: ${h}, networks: [lan] }`).join("\n")}
`;

Deno.test("an encrypted overlay is refused at its line on every kernel: naming ESP where it is missing, the missing IPsec applier where it is not", () => {
  withProbes(
    false,
    true,
    () => refusal(load(ENCRYPTED), "^lab.yaml:4:3: ", "no IPsec ESP", "encrypted: true"),
  );
  // A kernel with ESP: nslab would otherwise build the overlay in clear text (no applier reads
  // plan.xfrm), so it refuses there too.
  withProbes(
    true,
    true,
    () => refusal(load(ENCRYPTED), "^lab.yaml:4:3: ", "does not program IPsec", "clear text"),
  );
});

Deno.test("a macvlan parent eth0.<vid> is refused naming 8021q when the kernel has no VLANs", () => {
  withProbes(
    true,
    false,
    () =>
      refusal(load(VLAN), "^lab.yaml:3:3: ", "8021q", '"eth0.50"', 'parent: eth0" \\(untagged\\)'),
  );
  withProbes(true, true, () => checkKernelFeatures(load(VLAN)));
});

Deno.test("macvlan passthru is refused on eth0 (the host's only link) and for two containers on one host", () => {
  withProbes(true, true, () => {
    refusal(load(passthru("eth0", ["h1"])), "passthru", "only", "lose the other hosts");
    refusal(load(passthru("eth0.50", ["h1", "h1"])), 'host "h1" has 2', "c0, c1", "EINVAL");
    checkKernelFeatures(load(passthru("eth0.50", ["h1", "h2"])));
  });
});
