/**
 * Labs that need many open files. The supervisor holds what `up` counts for it (four descriptors
 * per container of a lab without commands, plus one per extra port); when the hard limit is too
 * low and may not be raised (no CAP_SYS_RESOURCE: `setpriv` drops it here), `up` refuses with the
 * numbers before touching the kernel, instead of a supervisor dying with EMFILE.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const N = 30;
/** Ports each container answers on: the supervisor needs far more descriptors than the apply. */
const PORTS = Array.from({ length: 20 }, (_, i) => 8000 + i);

/** Runs the CLI after `prefix` (e.g. `ulimit -Sn 300`) in a shell, optionally under `setpriv`. */
async function nslab(
  args: string[],
  prefix: string,
  dropSysResource = false,
): Promise<{ code: number; err: string }> {
  const cli = [Deno.execPath(), "run", "--allow-all", "--config", `${ROOT}deno.json`];
  const shell = ["bash", "-c", `${prefix} && exec "$@"`, "bash", ...cli, `${ROOT}cli/main.ts`];
  const argv = dropSysResource ? ["setpriv", "--bounding-set", "-sys_resource", ...shell] : shell;
  const o = await new Deno.Command(argv[0], {
    args: [...argv.slice(1), ...args],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: o.code, err: new TextDecoder().decode(o.stderr) };
}

/** A lab of N containers on two networks, each answering on 20 ports. */
async function labFile(dir: string): Promise<string> {
  const containers: Record<string, unknown> = {};
  for (let i = 1; i <= N; i++) containers[`c${i}`] = { networks: ["a", "b"], expose: PORTS };
  const file = `${dir}/lab.json`;
  await Deno.writeTextFile(file, JSON.stringify({ networks: { a: {}, b: {} }, containers }));
  return file;
}

async function netnsOf(lab: string): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith(`${lab}-`));
}

Deno.test("the supervisor holds the descriptors up counts for it, not more", async () => {
  const lab = `pflim${(Date.now() % 1e5).toString(36)}`;
  const dir = await Deno.makeTempDir({ prefix: "pflim" });
  try {
    const up = await nslab(["up", "-f", await labFile(dir), "-p", lab, "--no-uplink"], "true");
    assertEquals(up.code, 0, up.err);
    const state = JSON.parse(Deno.readTextFileSync(`/run/nslab/${lab}/state.json`));
    const open = [...Deno.readDirSync(`/proc/${state.supervisorPid}/fd`)].length;
    // Counted: DNS (3) and one wildcard socket per port (20) per container; the base of 256
    // covers the runtime. Really open: DNS UDP + TCP and the 20 responders of each container.
    const counted = N * (3 + PORTS.length);
    assert(open >= N * (2 + PORTS.length), `only ${open} descriptors open`);
    assert(open <= counted + 256, `${open} descriptors open, ${counted} counted`);
    // Every container's sockets are open: the last one's name resolves from the first.
    const dig = await new Deno.Command("ip", {
      args: ["netns", "exec", `${lab}-c1`, "dig", "+short", "+time=1", "@127.0.0.11", `c${N}`],
      stdout: "piped",
    }).output();
    assertMatch(new TextDecoder().decode(dig.stdout), /^\d+\.\d+\.\d+\.\d+$/m);
  } finally {
    const down = await nslab(["down", "-p", lab], "true");
    await Deno.remove(dir, { recursive: true });
    assertEquals(down.code, 0, down.err);
  }
});

/** `up` under `ulimit -n LIMIT` without CAP_SYS_RESOURCE: refused, nothing made. */
async function refused(limit: number, who: RegExp): Promise<void> {
  const lab = `pfref${(Date.now() % 1e5).toString(36)}`;
  const dir = await Deno.makeTempDir({ prefix: "pfref" });
  try {
    const up = await nslab(
      ["up", "-f", await labFile(dir), "-p", lab, "--no-uplink"],
      `ulimit -n ${limit}`,
      true,
    );
    assertEquals(up.code, 1, up.err);
    assertMatch(up.err, who);
    assertMatch(up.err, new RegExp(`may open ${limit}, and at most ${limit}`));
    assertEquals(await netnsOf(lab), []);
    let stateLeft = true;
    try {
      Deno.statSync(`/run/nslab/${lab}`);
    } catch {
      stateLeft = false;
    }
    assertEquals(stateLeft, false, "the refused up left its state directory");
  } finally {
    await nslab(["down", "-p", lab], "true");
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a hard limit too low for the apply is refused before the kernel is touched", async () => {
  await refused(300, /Cannot open the [\d,]+ files applying lab "pfref\w+" needs/);
});

Deno.test("a hard limit the apply fits but the supervisor does not is refused up front too", async () => {
  // The apply needs about 340 (two per namespace and the base), the supervisor about 950.
  await refused(600, /Cannot open the [\d,]+ files the supervisor of lab "pfref\w+" needs/);
});
