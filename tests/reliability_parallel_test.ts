/**
 * SPEC §9 / issue 9 "parallel": labs from the same file with different names, uplinks ON, brought
 * up, checked and torn down concurrently by separate `nslab` processes, round after round. Every
 * lab passes all its checks, every lab's underlay is its own (the kernel routes each lab's hosts
 * through that lab's uplink, and a packet from the root namespace gets there), and nothing is
 * left after the concurrent `down`s.
 *
 * Counts: `NSLAB_PARALLEL_LABS` labs (8) × `NSLAB_PARALLEL_ROUNDS` rounds (CI 2, long 10).
 */
import assert from "node:assert/strict";
import {
  alive,
  cli,
  comm,
  count,
  leftovers,
  MID,
  rlName,
  ROOT,
  until,
} from "./_reliability/support.ts";
import { loadTopology } from "../core/model/load.ts";
import { upLab } from "../core/lab/lab.ts";
import { downLab } from "../core/lab/down.ts";
import { digest } from "../core/lab/state.ts";

const LABS = count("NSLAB_PARALLEL_LABS", 8, 8);
const ROUNDS = count("NSLAB_PARALLEL_ROUNDS", 2, 10);

interface IpRoute {
  dev?: string;
}

/** The interface the root namespace sends `addr` out of (`ip -j route get ADDR`). */
async function routeDev(addr: string): Promise<string | null> {
  const out = await new Deno.Command("ip", {
    args: ["-j", "route", "get", addr],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return null;
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as IpRoute[])[0]?.dev ?? null;
}

/** One ICMP echo from the root namespace to `addr` (a lab host, through its uplink). */
async function ping(addr: string): Promise<boolean> {
  const out = await new Deno.Command("ping", {
    args: ["-c", "1", "-W", "2", "-n", "-q", addr],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

interface LabState {
  model: { underlay: { subnet: string }; hosts: { address: string }[] };
}

Deno.test(`${LABS} labs from one file, uplinks on, up/check/down concurrently for ${ROUNDS} rounds`, async () => {
  for (let round = 1; round <= ROUNDS; round++) {
    const labs = Array.from({ length: LABS }, () => rlName("p"));
    const hostsOf = new Map<string, string>();
    try {
      const ups = await Promise.all(
        labs.map((lab) => cli(["up", "-f", MID, "-p", lab, "--progress", "quiet"])),
      );
      ups.forEach((u, i) => assert.equal(u.code, 0, `round ${round} up ${labs[i]}: ${u.stderr}`));

      const checks = await Promise.all(
        labs.map((lab) => cli(["check", "-p", lab, "--format", "json"])),
      );
      checks.forEach((c, i) => {
        const report = JSON.parse(c.stdout) as { passed: number; failed: number };
        assert.equal(
          report.failed,
          0,
          `round ${round} check ${labs[i]}: ${c.stdout.slice(0, 2000)}`,
        );
        assert.ok(report.passed > 300, `round ${round} check ${labs[i]} ran its checks`);
        assert.equal(c.code, 0);
      });

      // Each lab's underlay is its own: distinct subnets, routed through the lab's own uplink.
      const states = labs.map((lab) =>
        JSON.parse(Deno.readTextFileSync(`/run/nslab/${lab}/state.json`)) as LabState
      );
      const subnets = states.map((s) => s.model.underlay.subnet);
      assert.equal(new Set(subnets).size, LABS, `distinct underlays: ${subnets.join(" ")}`);
      for (const [i, lab] of labs.entries()) {
        const h1 = states[i].model.hosts[0].address;
        hostsOf.set(lab, h1);
        assert.equal(await routeDev(h1), `nsl-${lab}`, `${h1} of ${lab} goes out of its uplink`);
        assert.ok(await ping(h1), `the root namespace reaches ${lab}'s host ${h1}`);
      }
    } finally {
      const downs = await Promise.all(labs.map((lab) => cli(["down", "-p", lab])));
      downs.forEach((d, i) =>
        assert.equal(d.code, 0, `round ${round} down ${labs[i]}: ${d.stderr}`)
      );
      for (const lab of labs) assert.deepEqual(await leftovers(lab), [], `round ${round} ${lab}`);
    }
    // Control: the routing assertion can fail — with the labs gone, no uplink carries them.
    for (const [lab, h1] of hostsOf) assert.notEqual(await routeDev(h1), `nsl-${lab}`);
  }
});

Deno.test("two labs that loaded the same underlay at the same instant get different ones at up", async () => {
  const file = MID;
  const text = Deno.readTextFileSync(file);
  const a = rlName("r");
  const b = rlName("r");
  // Both loads happen before either lab exists: the race the allocation lock must resolve.
  const ma = loadTopology({ file, text }, { project: a }).model;
  const mb = loadTopology({ file, text }, { project: b }).model;
  assert.equal(ma.underlay.subnet, mb.underlay.subnet, "the race is real: the same subnet");
  const d = await digest(text);
  let upA: Awaited<ReturnType<typeof upLab>> | null = null;
  let upB: Awaited<ReturnType<typeof upLab>> | null = null;
  try {
    [upA, upB] = await Promise.all([
      upLab(ma, { file, digest: d, supervisor: { kind: "in-process" } }),
      upLab(mb, { file, digest: d, supervisor: { kind: "in-process" } }),
    ]);
    const sa = upA.state.model.underlay.subnet;
    const sb = upB.state.model.underlay.subnet;
    assert.notEqual(sa, sb, "up re-chose one of them");
    assert.equal(await routeDev(upA.state.model.hosts[0].address), `nsl-${a}`);
    assert.equal(await routeDev(upB.state.model.hosts[0].address), `nsl-${b}`);

    // A model that cannot be re-resolved (fixed `reserved`) is refused clearly, not shared.
    const c = rlName("r");
    // (its loader was told the machine routes nothing, so it picks the first pool, 10.77.0.0/24,
    // which a or b holds unless another lab on the machine already did)
    const mc = loadTopology({ file, text }, { project: c, reserved: [] }).model;
    await assert.rejects(
      upLab(mc, { file, digest: d, supervisor: { kind: "in-process" } }),
      /underlay 10\.77\.\d+\.0\/24 is taken \(/,
    );
    assert.deepEqual(await leftovers(c), [], "the refused up made nothing");
  } finally {
    await downLab(a, { supervisor: upA?.supervisor });
    await downLab(b, { supervisor: upB?.supervisor });
    assert.deepEqual(await leftovers(a), []);
    assert.deepEqual(await leftovers(b), []);
  }
});

Deno.test("down kills processes living in its lab, not another process visiting it on one thread", async () => {
  const lab = rlName("v");
  const stop = await Deno.makeTempFile({ prefix: "rl-visitor-" });
  await Deno.remove(stop);
  const up = await cli(["up", "-f", MID, "-p", lab, "--progress", "quiet", "--no-uplink"]);
  let visitor: Deno.ChildProcess | null = null;
  let resident: Deno.ChildProcess | null = null;
  try {
    assert.equal(up.code, 0, up.stderr);
    visitor = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}tests/_reliability/visitor.ts`, `${lab}-web`, stop],
      stdout: "piped",
    }).spawn();
    const reader = visitor.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "in\n", "the visitor is inside the namespace");
    reader.releaseLock();
    resident = new Deno.Command("ip", { args: ["netns", "exec", `${lab}-web`, "sleep", "600"] })
      .spawn();
    const pid = resident.pid;
    assert.ok(
      await until(() => comm(pid) === "sleep", 10_000),
      "the resident runs sleep in the namespace",
    );
    const down = await cli(["down", "-p", lab]);
    assert.equal(down.code, 0, down.stderr);
    const r = await resident.status;
    assert.equal(r.signal, "SIGKILL", "the resident was killed by down");
    assert.ok(alive(visitor.pid), "the visitor survived down");
    Deno.writeTextFileSync(stop, "");
    assert.equal((await visitor.status).code, 0, "the visitor left and exited normally");
  } finally {
    Deno.writeTextFileSync(stop, "");
    await visitor?.stdout.cancel().catch(() => {});
    await visitor?.status;
    try {
      resident?.kill("SIGKILL");
    } catch { /* gone */ }
    await resident?.status;
    await Deno.remove(stop).catch(() => {});
    await cli(["down", "-p", lab]);
    assert.deepEqual(await leftovers(lab), []);
  }
});
