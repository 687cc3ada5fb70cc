/**
 * nslab as a test fixture — copy this file into your project.
 *
 * Each test gets a real lab (namespaces, bridges, DNS at 127.0.0.11, responders) that is torn
 * down when the `await using` scope ends, also when the test throws. Labs with different names
 * never collide, so this file can run in parallel with copies of itself.
 *
 * Run (as root): deno test -A examples/fixture_test.ts
 */

import assert, { deepEqual } from "node:assert/strict";
import { Lab, type TopologyInput } from "../mod.ts";

/** A unique lab name per test and process. */
const name = (tag: string) =>
  `${tag}${(Deno.pid % 1000).toString(36)}${crypto.randomUUID().slice(0, 4)}`;

/** A topology written as a TypeScript object: the editor completes and checks the keys. */
const shop: TopologyInput = {
  name: "shop",
  networks: { front: {}, back: { internal: true } },
  containers: {
    web: { networks: ["front"], ports: ["8080:80"] },
    api: { networks: ["front", "back"], expose: [8000] },
    db: { networks: ["back"], expose: [5432] },
  },
};

Deno.test("web finds api by name, and db stays out of its sight", async () => {
  await using lab = await Lab.up(shop, { name: name("ex"), uplink: false });
  const found = await lab.exec("web", ["getent", "hosts", "api"]);
  assert.equal(found.code, 0, found.stderr);
  const api = lab.inspect("api").endpoints.find((e) => e.network === "front")!;
  assert.match(found.stdout, new RegExp(`^${api.address!.replaceAll(".", "\\.")}\\s`));
  const hidden = await lab.exec("web", ["getent", "hosts", "db"]);
  assert.notEqual(hidden.code, 0, "db shares no network with web");
});

Deno.test("the lab's own checks pass: reach, isolation, DNS, published ports", async () => {
  await using lab = await Lab.up(shop, { name: name("ex"), uplink: false });
  const report = await lab.check();
  deepEqual(report.results.filter((r) => !r.pass).map((r) => r.expectation.id), []);
});
