/**
 * SPEC §9 / issue 9 "safety": nothing runs through a shell (source scan + a topology command full
 * of shell syntax run literally); hostile names are refused at load with exit 2, a located
 * message, no stack trace and nothing created; state is 0700/0600 under /run/nslab; and a real
 * `up` + `down` traced with strace writes, renames, deletes and mounts only inside the lab's own
 * files and namespaces.
 */
import assert from "node:assert/strict";
import { cli, labNamespaces, leftovers, MID, rlName, ROOT, until } from "./_reliability/support.ts";
import { MAX_LAB } from "../core/model/names.ts";

// ---------------------------------------------------------------------------------------------
// No shell.

/** Places in TypeScript source that would run something through a shell. */
export function shellUses(source: string): string[] {
  const patterns: [RegExp, string][] = [
    [/Deno\.Command\(\s*["'`](?:\/bin\/|\/usr\/bin\/)?(?:ba|da|z|k)?sh["'`]/, "Deno.Command(sh)"],
    [/spawn(?:Sync)?\(\s*["'`](?:\/bin\/|\/usr\/bin\/)?(?:ba|da|z|k)?sh["'`]/, "spawn(sh)"],
    [/["'`](?:\/bin\/)?(?:ba|da|z|k)?sh["'`]\s*,\s*["'`]-c["'`]/, '["sh", "-c", …]'],
    [/shell:\s*true/, "shell: true"],
    [
      /\{[^}]*\b(?:exec|execSync)\b[^}]*\}\s*=\s*(?:await\s+import\(|require\()\s*["'`]node:child_process/,
      "child_process.exec",
    ],
    [
      /import\s*\{[^}]*\b(?:exec|execSync)\b[^}]*\}\s*from\s*["'`]node:child_process/,
      "child_process.exec",
    ],
  ];
  const out: string[] = [];
  source.split("\n").forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "");
    if (/^\s*\*/.test(code)) return; // JSDoc prose
    for (const [re, what] of patterns) if (re.test(code)) out.push(`${i + 1}: ${what}`);
  });
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sourceFiles(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(p);
  }
  return out;
}

Deno.test("no production source runs anything through a shell", () => {
  const files = [...sourceFiles(`${ROOT}core`), ...sourceFiles(`${ROOT}cli`), `${ROOT}mod.ts`];
  assert.ok(files.length > 50, `scanned ${files.length} files`);
  const found = files.flatMap((f) => shellUses(Deno.readTextFileSync(f)).map((u) => `${f}:${u}`));
  assert.deepEqual(found, []);
  // The scan sees each way of doing it.
  for (
    const bad of [
      'new Deno.Command("sh", { args: ["-c", cmd] })',
      "new Deno.Command(`/bin/bash`, { args })",
      'spawn("bash", ["-c", x])',
      'const argv = ["sh", "-c", text];',
      "spawn(bin, args, { shell: true })",
      'const { exec } = await import("node:child_process");',
      'import { execSync } from "node:child_process";',
    ]
  ) assert.equal(shellUses(bad).length, 1, bad);
  assert.deepEqual(shellUses('spawn(Deno.execPath(), args, { detached: true }) // "sh" -c'), []);
});

Deno.test("a container command full of shell syntax is run literally, not by a shell", async () => {
  const lab = rlName("c");
  const marker = `/tmp/rl-pwned-${crypto.randomUUID().slice(0, 8)}`;
  const dir = await Deno.makeTempDir({ prefix: "rl-safety-" });
  const file = `${dir}/shell.yaml`;
  // Every shell would run `touch` here ($(), backticks, ;, &&, |); nslab splits words only.
  const command = `echo $(touch ${marker}) \`touch ${marker}\` ; touch ${marker} && ` +
    `touch ${marker} | touch ${marker}`;
  Deno.writeTextFileSync(
    file,
    `containers:\n  job:\n    command: '${command}'\n  peer: {}\n`,
  );
  try {
    const up = await cli(["up", "-f", file, "-p", lab, "--no-uplink", "--progress", "quiet"]);
    assert.equal(up.code, 0, up.stderr);
    const log = `/run/nslab/${lab}/logs/job.log`;
    assert.ok(
      await until(() => {
        try {
          return Deno.readTextFileSync(log).includes("touch");
        } catch {
          return false;
        }
      }, 10_000),
      "echo ran",
    );
    assert.equal(
      Deno.readTextFileSync(log).trim(),
      `$(touch ${marker}) \`touch ${marker}\` ; touch ${marker} && touch ${marker} | touch ${marker}`,
      "echo printed its arguments verbatim",
    );
    assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound, "no shell ran touch");
  } finally {
    await cli(["down", "-p", lab]);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(marker).catch(() => {});
    assert.deepEqual(await leftovers(lab), []);
  }
});

// ---------------------------------------------------------------------------------------------
// Hostile names.

const TOO_LONG = "toolong" + "x".repeat(MAX_LAB + 1 - "toolong".length);

const HOSTILE: [string, string][] = [
  ["container ../../etc", 'containers: {"../../etc": {}}'],
  ["container a;rm", 'containers: {"a;rm -rf x": {}}'],
  ["container with a space", 'containers: {"a b": {}}'],
  ["container with a NUL", 'containers: {"web\\u0000x": {}}'],
  ["container starting with -", 'containers: {"-web": {}}'],
  ["container of 64 bytes", `containers: {"${"a".repeat(64)}": {}}`],
  ["host ../h", 'hosts: {"../h": {}}\ncontainers: {w: {host: "../h"}}'],
  ["host of 12 bytes (u-<host> > 15)", 'hosts: {"abcdefghijkl": {}}\ncontainers: {w: {}}'],
  ["host a;b", 'hosts: {"a;b": {}}\ncontainers: {w: {}}'],
  ["network ../x", 'networks: {"../x": {}}\ncontainers: {w: {networks: ["../x"]}}'],
  ["network with a space", 'networks: {"a b": {}}\ncontainers: {w: {networks: ["a b"]}}'],
  [
    "macvlan parent eth0;rm",
    'networks: {l: {driver: macvlan, driver_opts: {parent: "eth0;rm"}}}\n' +
    "containers: {w: {networks: [l]}}",
  ],
  [
    "macvlan parent ../../etc",
    'networks: {l: {driver: macvlan, driver_opts: {parent: "../../etc"}}}\n' +
    "containers: {w: {networks: [l]}}",
  ],
  [
    "macvlan parent of 16 bytes",
    'networks: {l: {driver: macvlan, driver_opts: {parent: "eth0.4094abcdefg"}}}\n' +
    "containers: {w: {networks: [l]}}",
  ],
  [
    "alias ../../etc/passwd",
    'networks: {n: {}}\ncontainers: {w: {networks: {n: {aliases: ["../../etc/passwd"]}}}}',
  ],
  [
    "alias with a newline",
    'networks: {n: {}}\ncontainers: {w: {networks: {n: {aliases: ["a\\nb"]}}}}',
  ],
  ["hostname ../../x", 'containers: {w: {hostname: "../../x"}}'],
  ["lab name ../../etc in the file", 'name: "../../etc"\ncontainers: {w: {}}'],
  // Compose allows long project names; nslab's ceiling is what keeps `<lab>-<name>-10000` a
  // valid /run/netns name (MAX_LAB bytes).
  [`lab name of ${TOO_LONG.length} bytes in the file`, `name: "${TOO_LONG}"\ncontainers: {w: {}}`],
];

Deno.test(`${HOSTILE.length} hostile names are refused at load: exit 2, located, nothing created`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "rl-safety-" });
  const netnsBefore = new Set(Deno.readDirSync("/run/netns").map((e) => e.name));
  try {
    for (const [what, yaml] of HOSTILE) {
      const file = `${dir}/hostile.yaml`;
      Deno.writeTextFileSync(file, yaml + "\n");
      // Without -p where the file's own name is the point; with an rl name otherwise.
      const lab = rlName("h");
      const args = what.startsWith("lab name") ? ["up", "-f", file] : ["up", "-f", file, "-p", lab];
      const r = await cli(args);
      assert.equal(r.code, 2, `${what}: exit 2\n${r.stderr}`);
      assert.match(r.stderr, /hostile\.yaml:\d+:\d+: /, `${what}: a located message`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
      assert.deepEqual(await leftovers(lab), [], `${what}: nothing created`);
      assert.throws(() => Deno.statSync(`/run/nslab/${lab}`), Deno.errors.NotFound);
    }
    // The same through -p: refused as usage (exit 2) by up and by down.
    for (const bad of ["../../etc", "a;rm", "a b", TOO_LONG]) {
      Deno.writeTextFileSync(`${dir}/ok.yaml`, "containers: {w: {}}\n");
      const up = await cli(["up", "-f", `${dir}/ok.yaml`, "-p", bad]);
      assert.equal(up.code, 2, `up -p ${bad}: ${up.stderr}`);
      assert.doesNotMatch(up.stderr, /^\s+at /m);
      if (bad === TOO_LONG) continue; // too long for a new lab, still a name `down` accepts
      const down = await cli(["down", "-p", bad]);
      assert.equal(down.code, 2, `down -p ${bad}: ${down.stderr}`);
    }
    // Control: the same file with a good name does get built (the refusals were about names).
    const lab = rlName("h");
    Deno.writeTextFileSync(`${dir}/ok.yaml`, "containers: {w: {}}\n");
    const ok = await cli(["up", "-f", `${dir}/ok.yaml`, "-p", lab, "--no-uplink"]);
    try {
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(labNamespaces(lab).length > 0, true);
    } finally {
      await cli(["down", "-p", lab]);
    }
    // No namespace with a hostile fragment appeared on the machine.
    const added = [...Deno.readDirSync("/run/netns")].map((e) => e.name).filter((n) =>
      !netnsBefore.has(n) && /\.\.|;| |etc|toolongx/.test(n)
    );
    assert.deepEqual(added, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// File modes.

/**
 * Entries under `dir` whose mode is not 0700 (directories) or 0600 (files). Mount points (the
 * UTS namespace pins under `uts/`, bind mounts of nsfs files whose 0444 mode the kernel fixes)
 * are skipped: they are not files nslab writes.
 */
export function badModes(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const dev = Deno.statSync(d).dev;
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      const st = Deno.lstatSync(p);
      if (st.dev !== dev) continue;
      const mode = (st.mode ?? 0) & 0o777;
      if (st.isDirectory) {
        if (mode !== 0o700) out.push(`${p} ${mode.toString(8)}`);
        walk(p);
      } else if (mode !== 0o600) out.push(`${p} ${mode.toString(8)}`);
    }
  };
  const top = (Deno.statSync(dir).mode ?? 0) & 0o777;
  if (top !== 0o700) out.push(`${dir} ${top.toString(8)}`);
  walk(dir);
  return out;
}

Deno.test("a running lab's state is 0700 directories and 0600 files under /run/nslab", async () => {
  const lab = rlName("m");
  try {
    const up = await cli(["up", "-f", MID, "-p", lab, "--progress", "quiet"]);
    assert.equal(up.code, 0, up.stderr);
    const dir = `/run/nslab/${lab}`;
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const f of ["journal", "pids", "ready", "state.json", "supervisor.log"]) {
      assert.ok(names.includes(f), `${f} in ${names.join(" ")}`);
    }
    assert.deepEqual(badModes(dir), []);
    const root = (Deno.statSync("/run/nslab").mode ?? 0) & 0o777;
    assert.equal(root & 0o022, 0, "/run/nslab is writable by root only");
    // Control: the mode check sees a file anyone can read.
    Deno.writeTextFileSync(`${dir}/.rl-probe`, "", { mode: 0o644 });
    Deno.chmodSync(`${dir}/.rl-probe`, 0o644);
    assert.deepEqual(badModes(dir), [`${dir}/.rl-probe 644`]);
  } finally {
    const down = await cli(["down", "-p", lab]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await leftovers(lab), []);
  }
});

// ---------------------------------------------------------------------------------------------
// Writes confined to the lab's own files (strace).

/**
 * A path-changing syscall seen in an strace line (`strace -y`: fd arguments carry their path, as
 * `21</run/nslab/lab/logs>`): the syscall and the absolute paths it names.
 */
function writes(line: string): { call: string; paths: string[] } | null {
  const m = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line.replace(/^\d+\s+/, ""));
  if (!m) return null;
  const [, call, args] = m;
  // Each string argument, made absolute against the dirfd just before it (or the cwd).
  const paths = [...args.matchAll(/(?:(\d+)<([^>]*)>|AT_FDCWD)?,?\s*"((?:[^"\\]|\\.)*)"/g)].map(
    (x) => x[3].startsWith("/") ? x[3] : `${x[2] ?? ROOT.replace(/\/$/, "")}/${x[3]}`,
  );
  if (/^(open|openat|openat2)$/.test(call)) {
    if (!/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/.test(args)) return null;
    return { call, paths: paths.slice(0, 1) };
  }
  if (/^(creat|mkdir|mkdirat|rmdir|unlink|unlinkat|truncate|chmod|fchmodat|umount2)$/.test(call)) {
    return { call, paths: paths.slice(0, 1) };
  }
  if (/^(rename|renameat|renameat2|link|linkat|symlink|symlinkat)$/.test(call)) {
    return { call, paths };
  }
  if (call === "mount") return { call, paths: paths.slice(1, 2) }; // the target
  return null;
}

/** Where `nslab up`/`down` of lab `lab` may write. */
function allowed(lab: string, path: string, denoDir: string): boolean {
  const within = (p: string) => path === p || path.startsWith(`${p}/`);
  return within(`/run/nslab/${lab}`) || path === "/run/nslab" ||
    path === "/run/netns" || path.startsWith(`/run/netns/${lab}-`) ||
    path === "/etc/netns" || path.startsWith(`/etc/netns/${lab}-`) ||
    within(denoDir) || path === "/dev/null" || path === "/run/xtables.lock" ||
    /^\/proc\/(self|thread-self|\d+)\/(task\/\d+\/)?(uid_map|gid_map|setgroups|comm|oom_score_adj)$/
      .test(path) ||
    // sysctls, written from inside the lab's namespaces (setns before the write)
    path.startsWith("/proc/sys/net/");
}

function strace(args: string[], dir: string, prefix: string): Deno.ChildProcess {
  return new Deno.Command("strace", {
    args: [
      "-f",
      "-ff",
      "-qq",
      "-y",
      "-s",
      "4096",
      "-e",
      "trace=open,openat,openat2,creat,mkdir,mkdirat,rmdir,unlink,unlinkat,rename,renameat," +
      "renameat2,link,linkat,symlink,symlinkat,truncate,chmod,fchmodat,mount,umount2,unshare",
      "-o",
      `${dir}/${prefix}`,
      Deno.execPath(),
      "run",
      "-A",
      `${ROOT}cli/main.ts`,
      ...args,
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

Deno.test("up and down of a lab (strace -f) write, delete and mount only inside the lab's own files", async () => {
  const lab = rlName("w");
  const dir = await Deno.makeTempDir({ prefix: "rl-strace-" });
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
  let traced: Deno.ChildProcess | null = null;
  try {
    // strace follows the detached supervisor too, so it exits only after `down` stops it.
    traced = strace(["up", "-f", MID, "-p", lab, "--progress", "quiet"], dir, "up");
    assert.ok(
      await until(() => {
        try {
          return Deno.statSync(`/run/nslab/${lab}/ready`).isFile;
        } catch {
          return false;
        }
      }, 60_000),
      "the traced up became ready",
    );
    const down = strace(["down", "-p", lab], dir, "down");
    const [d] = await Promise.all([down.status, down.stderr.cancel()]);
    assert.equal(d.code, 0);
    const [u] = await Promise.all([traced.status, traced.stderr.cancel()]);
    assert.equal(u.code, 0);
    traced = null;

    const seen: string[] = [];
    const outside: string[] = [];
    for (const e of Deno.readDirSync(dir)) {
      let privateMounts = false;
      for (const line of Deno.readTextFileSync(`${dir}/${e.name}`).split("\n")) {
        if (/^unshare\([^)]*CLONE_NEWNS/.test(line)) privateMounts = true;
        const w = writes(line);
        if (!w) continue;
        for (const p of w.paths) {
          seen.push(p);
          // `ip netns exec` (container commands) mounts in the private mount namespace it
          // unshared first, as iproute2 does: invisible outside that process.
          if (w.call.includes("mount") && privateMounts) continue;
          if (!allowed(lab, p, denoDir)) outside.push(`${e.name}: ${line.trim()}`);
        }
      }
    }
    assert.ok(seen.some((p) => p.startsWith(`/run/nslab/${lab}/`)), "the trace saw state writes");
    assert.ok(seen.some((p) => p.startsWith(`/run/netns/${lab}-`)), "the trace saw namespace pins");
    assert.deepEqual(outside, [], "writes outside the lab's own files");
    // Control: the filter does flag a write elsewhere.
    const probe = writes(`openat(AT_FDCWD, "/etc/passwd", O_WRONLY|O_APPEND) = 3`);
    assert.ok(probe && !allowed(lab, probe.paths[0], denoDir));
  } finally {
    await cli(["down", "-p", lab]);
    if (traced) {
      await traced.stderr.cancel().catch(() => {});
      await traced.status;
    }
    await Deno.remove(dir, { recursive: true });
    assert.deepEqual(await leftovers(lab), []);
  }
});
