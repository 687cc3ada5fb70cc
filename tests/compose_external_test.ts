/**
 * Two Compose projects on one machine share a network, as with Docker: project cpexa declares
 * `shared` (`name: cpexshared`), project cpexb joins it as `external: true` (by key). Both come up
 * through the CLI from their own folders. From inside the namespaces, with real clients (ping,
 * dig against 127.0.0.11): the projects' containers reach each other on the shared network and
 * resolve each other's names and addresses (PTR), while the projects' other networks stay
 * isolated (no reach, NXDOMAIN). Removing the owner while the other project is attached is refused
 * with Docker's text; deleting the cross-lab veth turns exactly the cross-project reach rows red;
 * `down` of cpexb leaves the network and cpexa's containers working and no trace in cpexa's host;
 * a name not found keeps Compose's error. Everything is removed in `finally`.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { nslab } from "./_support/nslab.ts";
import { run } from "./_support/run.ts";
import { readState } from "../core/lab/state.ts";
import { listNetns } from "../core/kernel/netns/netns.ts";

const OWNER = `
services:
  web: { image: nginx, expose: [80], networks: [shared, back] }
  db: { image: postgres, expose: [5432], networks: [back] }
networks:
  shared: { name: cpexshared }
  back: { ipam: { config: [{ subnet: 10.231.40.0/24 }] } }
`;

const USER = `
services:
  app: { image: example/app, expose: [8000], networks: [cpexshared, default] }
  worker: { image: example/worker }
networks:
  cpexshared: { external: true }
`;

const MISSING = `
services:
  app: { image: example/app, networks: [elsewhere] }
networks:
  elsewhere: { external: true, name: cpexnowhere }
`;

/** A container's address on a network, from the lab's recorded model. */
function addr(lab: string, container: string, network: string): string {
  const c = readState(lab)!.model.containers.find((x) => x.name === container)!;
  return c.endpoints.find((e) => e.network === network)!.address!;
}

async function ping(ns: string, ip: string): Promise<boolean> {
  return (await run(["ip", "netns", "exec", ns, "ping", "-c1", "-W1", ip])).code === 0;
}

async function dig(ns: string, ...q: string[]): Promise<string> {
  const r = await run(["ip", "netns", "exec", ns, "dig", "+short", "+time=1", "+tries=1", ...q]);
  return r.stdout.trim();
}

/** Every row: its name → whether it holds now. */
async function rows(): Promise<Record<string, boolean>> {
  const web = addr("cpexa", "web", "shared");
  const app = addr("cpexb", "app", "cpexshared");
  const db = addr("cpexa", "db", "back");
  const dns = "@127.0.0.11";
  return {
    "reach: cpexb app -> cpexa web (shared)": await ping("cpexb-app", web),
    "reach: cpexa web -> cpexb app (shared)": await ping("cpexa-web", app),
    "dns: app resolves web": (await dig("cpexb-app", dns, "web")) === web,
    "dns: app resolves cpexa-web-1": (await dig("cpexb-app", dns, "cpexa-web-1")) === web,
    "dns: web resolves app": (await dig("cpexa-web", dns, "app")) === app,
    "ptr: app names web": (await dig("cpexb-app", dns, "-x", web)) === "cpexa-web-1.cpexshared.",
    "ptr: web names app": (await dig("cpexa-web", dns, "-x", app)) === "cpexb-app-1.cpexshared.",
    "isolation: app cannot reach db (back)": !(await ping("cpexb-app", db)),
    "isolation: app gets no name for db": (await dig("cpexb-app", dns, "db")) === "",
    "isolation: web gets no name for worker": (await dig("cpexa-web", dns, "worker")) === "",
    "isolation: worker cannot reach web": !(await ping("cpexb-worker", web)),
    "owner: web reaches db (back)": await ping("cpexa-web", db),
  };
}

const failing = (r: Record<string, boolean>) => Object.keys(r).filter((k) => !r[k]).sort();

Deno.test({
  name: "two Compose projects share an external network: reach, DNS, isolation, down, refusal",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "nslab-cpex-" });
    const folder = async (name: string, text: string) => {
      await Deno.mkdir(`${root}/${name}`);
      await Deno.writeTextFile(`${root}/${name}/compose.yaml`, text);
      return `${root}/${name}`;
    };
    const [a, b, c] = [
      await folder("cpexa", OWNER),
      await folder("cpexb", USER),
      await folder("cpexc", MISSING),
    ];
    try {
      const missing = await nslab(["validate"], c);
      equal(missing.code, 2);
      match(missing.err, /network cpexnowhere declared as external, but could not be found/);
      equal((await nslab(["up", "--progress", "plain"], a)).code, 0);
      const hostLinks = (await run(["ip", "-n", "cpexa-host", "-o", "link"])).stdout;
      const up = await nslab(["up"], b);
      equal(up.code, 0, up.err);

      deepEqual(failing(await rows()), []);
      equal((await nslab(["check", "-p", "cpexb"])).code, 0);
      equal((await nslab(["check", "-p", "cpexa"])).code, 0);

      const refused = await nslab(["down", "-p", "cpexa"]);
      equal(refused.code, 1);
      match(refused.err, /network cpexshared has active endpoints \(name:"cpexb-app-1"/);
      ok(listNetns().includes("cpexa-web"), "the refused down touched nothing");

      // The break: cpexb app's veth, whose host end sits on cpexa's bridge.
      const vethName = readState("cpexb")!.model.containers.find((x) => x.name === "app")!
        .endpoints.find((e) => e.network === "cpexshared")!.hostIfname;
      equal((await run(["ip", "-n", "cpexa-host", "link", "del", vethName])).code, 0);
      deepEqual(failing(await rows()), [
        "reach: cpexa web -> cpexb app (shared)",
        "reach: cpexb app -> cpexa web (shared)",
      ]);

      equal((await nslab(["down", "-p", "cpexb"])).code, 0);
      // cpexa as it was before cpexb came: same links in its host, names of cpexb gone.
      equal(
        (await run(["ip", "-n", "cpexa-host", "-o", "link"])).stdout.split("\n").length,
        hostLinks.split("\n").length,
      );
      equal(await dig("cpexa-web", "@127.0.0.11", "app"), "");
      ok(await ping("cpexa-web", addr("cpexa", "db", "back")));
      equal((await nslab(["check", "-p", "cpexa"])).code, 0);
      deepEqual(listNetns().filter((n) => n.startsWith("cpexb-")), []);
    } finally {
      await nslab(["down", "-p", "cpexb"]);
      await nslab(["down", "-p", "cpexa"]);
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
    deepEqual(listNetns().filter((n) => n.startsWith("cpex")), []);
  },
});
