/**
 * Compose's `dns:` on a service: the embedded DNS forwards that container's names outside the lab
 * to its own servers, as Docker's does, while its peers keep the lab's (none here: their outside
 * names fail). The "outside" server is a dnsmasq running as another container of the lab, so no
 * query leaves the lab's namespaces. Needs root and dnsmasq; cleans up through `await using`.
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { Lab } from "../mod.ts";
import { run } from "./_support/run.ts";

Deno.test({
  name: "a service's dns: servers answer its outside names; its peers do not use them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using lab = await Lab.up({
      name: `cpdns${crypto.randomUUID().slice(0, 4)}`,
      networks: { default: { ipam: { config: [{ subnet: "10.233.4.0/24" }] } } },
      services: {
        resolver: {
          command: [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces", // leave 127.0.0.11:53 to the embedded DNS
            "--listen-address=10.233.4.53",
            "--address=/outside.test/192.0.2.77",
            "--pid-file=",
            "--user=root",
          ],
          networks: { default: { ipv4_address: "10.233.4.53" } },
          expose: ["53/udp"],
        },
        client: { dns: ["10.233.4.53"] },
        peer: {},
      },
    }, { uplink: false });
    // up waits for a listener on 53/udp, which the embedded DNS at 127.0.0.11 already is:
    // wait (with a deadline) until dnsmasq itself answers.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const direct = await run([
        "ip",
        "netns",
        "exec",
        `${lab.name}-client`,
        "dig",
        "+short",
        "+tries=1",
        "+time=1",
        "@10.233.4.53",
        "outside.test",
      ]);
      if (direct.stdout.trim() === "192.0.2.77") break;
      if (Date.now() > deadline) throw new Error(`dnsmasq never answered: ${direct.out}`);
    }
    const ask = async (c: string) => {
      const r = await run([
        "ip",
        "netns",
        "exec",
        `${lab.name}-${c}`,
        "dig",
        "+short",
        "+tries=1",
        "+time=2",
        "@127.0.0.11",
        "outside.test",
      ]);
      return r.stdout.trim();
    };
    assertEquals(await ask("client"), "192.0.2.77");
    assertEquals(await ask("peer"), ""); // no upstream for peer: the name fails
  },
});
