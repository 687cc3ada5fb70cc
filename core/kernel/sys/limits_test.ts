import { deepStrictEqual as assertEquals, match, ok as assert, throws } from "node:assert/strict";
import { NslabError } from "../../errors.ts";
import {
  BASE_DESCRIPTORS,
  ensureOpenFiles,
  openFileCeiling,
  openFileLimit,
  planFileLimit,
  tooManyFiles,
} from "./limits.ts";
import { ROOT, solo } from "./_solo.ts";

Deno.test("a lab's descriptors fit while open + needed + the base stays under the ceiling", () => {
  const limit = { soft: 1024, hard: 20_000 };
  assertEquals(planFileLimit(28_000, 40, limit, 1_048_576), {
    target: 28_040 + BASE_DESCRIPTORS,
    fits: true,
  });
  assertEquals(planFileLimit(1_048_576, 40, limit, 1_048_576).fits, false);
  // Without CAP_SYS_RESOURCE the ceiling is the hard limit.
  assertEquals(planFileLimit(30_000, 0, { soft: 1024, hard: 20_000 }, 20_000).fits, false);
});

Deno.test("the refusal names who needs how many files, what the machine allows and the fix", () => {
  const text = tooManyFiles('the supervisor of lab "big"', 28_512, {
    soft: 20_000,
    hard: 20_000,
  }, 20_000);
  match(text, /Cannot open the 28,512 files the supervisor of lab "big" needs/);
  match(
    text,
    /may open 20,000, and at most 20,000 \(hard limit 20,000; above it only with CAP_SYS_RESOURCE/,
  );
  match(text, /ulimit -n 28512/);
  match(text, /--only-host/);
});

Deno.test("more descriptors than fs.nr_open allows are refused without changing the limit", () => {
  const before = openFileLimit();
  throws(
    () => ensureOpenFiles(openFileCeiling() + 1, "a test"),
    (e: unknown) => e instanceof NslabError && /fs\.nr_open/.test(e.message),
  );
  assertEquals(openFileLimit(), before);
});

Deno.test("ensureOpenFiles raises a low limit so that many sockets open (EMFILE without it)", async () => {
  // In a process of its own: the limit is the whole process's.
  const snippet = (raise: boolean) => `
    import { libc, RLIMIT_NOFILE } from "${ROOT}core/kernel/sys/ffi.ts";
    import { ensureOpenFiles, openFileLimit } from "${ROOT}core/kernel/sys/limits.ts";
    const hard = BigInt(openFileLimit().hard);
    libc().setrlimit(RLIMIT_NOFILE, new BigUint64Array([300n, hard]));
    if (${raise}) ensureOpenFiles(600, "the test");
    const fds = [];
    try {
      for (let i = 0; i < 600; i++) {
        const fd = libc().socket(2, 2, 0);
        if (fd < 0) break;
        fds.push(fd);
      }
    } finally {
      for (const fd of fds) libc().close(fd);
    }
    console.log(fds.length, openFileLimit().soft);`;
  const [opened, soft] = (await solo(snippet(true))).trim().split(" ").map(Number);
  assertEquals(opened, 600);
  assert(soft >= 600 + BASE_DESCRIPTORS, `soft limit ${soft}`);
  const [without] = (await solo(snippet(false))).trim().split(" ").map(Number);
  assert(without < 300, `without raising, ${without} sockets opened under a limit of 300`);
});
