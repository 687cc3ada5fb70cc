/**
 * `applyNetwork` + `teardown` against the real kernel (root): a ~20-namespace lab is built without
 * spawning a process, carries traffic, and leaves nothing behind; rollback, EEXIST, discovery
 * without a journal, and the prefix trap (`x` vs `x-2`).
 */
import assert from "node:assert/strict";
import { applyNetwork, readJournal } from "../core/kernel/apply.ts";
import { listLabs } from "../core/kernel/discover.ts";
import { teardown } from "../core/kernel/teardown.ts";
import { ApplyError } from "../core/errors.ts";
import { NetlinkError } from "../core/kernel/netlink/errors.ts";
import { createNetns, deleteNetns, listNetns } from "../core/kernel/netns/netns.ts";
import {
  buildTestPlan,
  eventually,
  ipJson,
  labName,
  leftovers,
  pings,
  run,
} from "./_nlt_support.ts";

const octet = () => 1 + Math.floor(Math.random() * 250);

/** Runs `fn` with Deno.Command replaced by a counter, so a spawn anywhere inside is seen. */
async function countingSpawns<T>(fn: () => Promise<T>): Promise<{ value: T; spawns: number }> {
  const original = Deno.Command;
  let spawns = 0;
  const Counting = class extends original {
    constructor(cmd: string | URL, opts?: Deno.CommandOptions) {
      spawns++;
      super(cmd, opts);
    }
  };
  Object.defineProperty(Deno, "Command", { value: Counting, configurable: true, writable: true });
  try {
    return { value: await fn(), spawns };
  } finally {
    Object.defineProperty(Deno, "Command", { value: original, configurable: true, writable: true });
  }
}

Deno.test("a 19-namespace lab is applied without spawning a process, carries traffic, and teardown leaves nothing", async () => {
  const lab = labName();
  const plan = buildTestPlan(lab, { hosts: 2, containers: 16, uplinkOctet: octet() });
  const rootIf = plan.root.links[0].name;
  let sleeper: Deno.ChildProcess | null = null;
  try {
    const steps: string[] = [];
    const { value: applied, spawns } = await countingSpawns(() =>
      applyNetwork(plan, { onStep: (s) => steps.push(s) })
    );
    assert.equal(spawns, 0, "apply runs no ip, no shell, nothing");
    assert.equal(applied.namespaces.length, 19);
    assert.deepEqual(applied.rootLinks, [rootIf]);
    assert.ok(
      applied.sends < applied.requests / 3,
      `${applied.sends} sends for ${applied.requests} requests`,
    );
    assert.deepEqual(steps, ["Namespaces (19)", "Links", "Addresses, routes, neighbours"]);

    // Every namespace and the uplink carry the lab's tag; listLabs groups them.
    for (const ns of applied.namespaces) {
      const lo = ipJson<{ ifalias?: string }[]>(["-n", ns, "link", "show", "lo"]);
      assert.equal(lo[0].ifalias, `nslab:${lab}`, ns);
    }
    const found = listLabs().find((l) => l.lab === lab)!;
    assert.deepEqual([found.namespaces.length, found.rootLinks], [19, [rootIf]]);

    // The journal lists every object before it was made; its files are private.
    const journal = readJournal(applied.journal);
    assert.equal(journal.filter((e) => e.t === "netns").length, 19);
    assert.ok(journal.some((e) => e.t === "link" && e.ns === "" && e.name === rootIf));
    assert.ok(journal.some((e) => e.t === "fdb"));
    assert.equal(Deno.statSync(applied.journal).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(`/run/nslab/${lab}`).mode! & 0o777, 0o700);

    // Objects as ip sees them.
    const vx = ipJson<{ master: string; linkinfo: { info_data: Record<string, unknown> } }[]>([
      "-n",
      `${lab}-h0`,
      "-d",
      "link",
      "show",
      "vx0",
    ])[0];
    assert.deepEqual([vx.master, vx.linkinfo.info_data.id, vx.linkinfo.info_data.learning], [
      "ov0",
      4096,
      false,
    ]);
    const routes = ipJson(["-n", `${lab}-c3`, "route", "show"]);
    assert.ok(routes.some((r) => r.dst === "default" && r.gateway === "172.20.0.1"));

    // Traffic: same-host bridge, overlay across hosts over VXLAN, root uplink into the underlay.
    assert.ok(pings(`${lab}-c0`, "172.20.0.12"), "c0 → c2 on br0");
    assert.ok(pings(`${lab}-c0`, "10.0.9.11"), "c0 (h0) → c1 (h1) over the overlay");
    assert.ok(pings(`${lab}-h1`, plan.root.addrs[0].address), "h1 → root uplink");
    // Break the overlay on purpose: the same probe must now fail.
    run("ip", ["-n", `${lab}-h1`, "link", "del", "vx0"]);
    assert.equal(pings(`${lab}-c0`, "10.0.9.11"), false, "no overlay without h1's vx0");

    // Things others add later: /etc/netns files, a process in a lab namespace, a listed pid.
    Deno.mkdirSync(`/etc/netns/${lab}-c0`, { recursive: true });
    Deno.writeTextFileSync(`/etc/netns/${lab}-c0/resolv.conf`, "nameserver 127.0.0.11\n");
    sleeper = new Deno.Command("ip", { args: ["netns", "exec", `${lab}-c5`, "sleep", "600"] })
      .spawn();
    const pid = sleeper.pid;
    assert.ok(
      await eventually(() => run("ip", ["netns", "pids", `${lab}-c5`]).out.includes(`${pid}`)),
    );

    const report = await teardown(lab);
    assert.deepEqual(report.errors.map((e) => e.message), []);
    assert.equal(report.namespaces.length, 19);
    assert.deepEqual(report.rootLinks, [rootIf]);
    assert.ok(report.pids.includes(pid), "the process living in a lab namespace is killed");
    assert.equal((await sleeper.status).signal, "SIGKILL");
    sleeper = null;
    assert.deepEqual(leftovers(lab, [rootIf]), []);
    assert.deepEqual(listLabs().filter((l) => l.lab === lab), []);

    // Idempotent: a second teardown finds nothing and fails nothing.
    const again = await teardown(lab);
    assert.deepEqual([again.errors, again.namespaces, again.rootLinks], [[], [], []]);
  } finally {
    if (sleeper) {
      try {
        sleeper.kill("SIGKILL");
      } catch { /* gone */ }
      await sleeper.status;
    }
    await teardown(lab);
    assert.deepEqual(leftovers(lab, [rootIf]), []);
  }
});

Deno.test("teardown finds a lab by its tags without a journal and never touches a lab sharing its prefix", async () => {
  const lab = labName();
  const other = `${lab}-2`;
  try {
    await applyNetwork(buildTestPlan(lab, { hosts: 1, containers: 2, uplinkOctet: octet() }), {});
    await applyNetwork(buildTestPlan(other, { hosts: 1, containers: 2, uplinkOctet: null }), {});
    // `${lab}-2-ul` starts with `${lab}-`: a prefix-based teardown would take it.
    assert.ok(listNetns().some((n) => n.startsWith(`${other}-`)));
    Deno.removeSync(`/run/nslab/${lab}`, { recursive: true });
    const report = await teardown(lab);
    assert.deepEqual(report.errors, []);
    assert.equal(report.namespaces.length, 4);
    assert.deepEqual(report.namespaces.filter((n) => n.startsWith(`${other}-`)), []);
    assert.equal(
      listNetns().filter((n) => n.startsWith(`${other}-`)).length,
      4,
      "the other lab is intact",
    );
    assert.ok(pings(`${other}-c0`, "172.20.0.11"), "and still works");
    assert.deepEqual(listLabs().filter((l) => l.lab === lab), []);
    assert.deepEqual(listLabs().find((l) => l.lab === other)?.namespaces.length, 4);
  } finally {
    await teardown(lab);
    await teardown(other);
    assert.deepEqual([...leftovers(lab), ...leftovers(other)], []);
  }
});

Deno.test("a failed apply rolls back everything it made and reports the kernel's error", async () => {
  const lab = labName();
  const plan = buildTestPlan(lab, { hosts: 2, containers: 6, uplinkOctet: octet() });
  const last = plan.namespaces[plan.namespaces.length - 1];
  last.routes.push({ dst: "10.200.0.0/16", via: "10.201.0.1", dev: "eth0" }); // gateway not on-link
  try {
    await assert.rejects(applyNetwork(plan, {}), (e: unknown) => {
      assert.ok(e instanceof ApplyError);
      assert.ok(e.cause instanceof NetlinkError, "the original error is kept as the cause");
      assert.equal(e.cleanupErrors.length, 0);
      assert.match(
        e.message,
        /^Cannot apply the network of lab "nlt-.*": Cannot replace route "10\.200\.0\.0\/16 via 10\.201\.0\.1" on "eth0" in namespace ".*-c5": .*\(ENETUNREACH\)/,
      );
      return true;
    });
    assert.deepEqual(leftovers(lab, [plan.root.links[0].name]), [`path /run/nslab/${lab}`]);
    assert.deepEqual(
      [...Deno.readDirSync(`/run/nslab/${lab}`)],
      [],
      "the journal goes once rollback is complete",
    );
  } finally {
    await teardown(lab);
    assert.deepEqual(leftovers(lab), []);
  }
});

Deno.test("apply refuses a namespace that already exists, names the fix, and leaves the stranger alone", async () => {
  const lab = labName();
  const plan = buildTestPlan(lab, { hosts: 1, containers: 4, uplinkOctet: null });
  const stranger = `${lab}-c2`;
  createNetns(stranger);
  try {
    await assert.rejects(
      applyNetwork(plan, {}),
      new RegExp(
        `Cannot create namespace "${stranger}": it already exists \\(EEXIST\\); another lab or a leftover uses it — run "nslab down -p ${lab}"`,
      ),
    );
    assert.deepEqual(
      listNetns().filter((n) => n.startsWith(`${lab}-`)),
      [stranger],
      "rollback removed only ours",
    );
    // Untagged and not in any journal: teardown must not take it either.
    const report = await teardown(lab);
    assert.deepEqual(report.namespaces, []);
    assert.ok(listNetns().includes(stranger));
  } finally {
    deleteNetns(stranger);
    await teardown(lab);
    assert.deepEqual(leftovers(lab), []);
  }
});
