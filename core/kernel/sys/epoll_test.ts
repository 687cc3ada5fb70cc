import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { Epoll } from "./epoll.ts";
import { EPOLLIN, libc } from "./ffi.ts";
import { ROOT, solo } from "./_solo.ts";

const EFD_NONBLOCK = 0o4000;
const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

/** An eventfd to watch: readable once something is written to it. */
function eventfd(): number {
  const fd = libc().eventfd(0, EFD_NONBLOCK);
  assert(fd >= 0, "eventfd");
  return fd;
}

Deno.test("a watched fd's handler runs when the kernel reports it readable", async () => {
  const loop = new Epoll(1000);
  const fd = eventfd();
  try {
    const seen = Promise.withResolvers<number>();
    loop.watch(fd, EPOLLIN, (mask) => {
      libc().read(fd, new Uint8Array(8), 8n);
      seen.resolve(mask);
    });
    libc().write(fd, ONE, 8n);
    assertEquals((await seen.promise) & EPOLLIN, EPOLLIN);
  } finally {
    loop.forget(fd);
    libc().close(fd);
    await loop.close();
  }
});

Deno.test("deadlines fire in order after the timeout; a cancelled one never fires", async () => {
  const loop = new Epoll(50);
  const fd = eventfd(); // the loop waits only while something is watched
  const fired: string[] = [];
  try {
    loop.watch(fd, EPOLLIN, () => {});
    const all = Promise.withResolvers<void>();
    loop.deadline(() => fired.push("first"));
    loop.deadline(() => fired.push("cancelled")).cancel();
    loop.deadline(() => {
      fired.push("last");
      all.resolve();
    });
    await all.promise;
    assertEquals(fired, ["first", "last"]);
  } finally {
    loop.forget(fd);
    libc().close(fd);
    await loop.close();
  }
});

Deno.test("close() ends a long wait at once and closes the loop's own fds", async () => {
  // Descriptors are counted in a process of its own (see _solo.ts).
  const seen = JSON.parse(
    await solo(`
      import { Epoll } from "${ROOT}core/kernel/sys/epoll.ts";
      import { EPOLLIN, libc } from "${ROOT}core/kernel/sys/ffi.ts";
      const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
      const loop = new Epoll(60_000);
      const fd = libc().eventfd(0, 0o4000);
      const before = fds();
      loop.watch(fd, EPOLLIN, () => {});
      const watching = fds();
      let timer;
      const late = new Promise((r) => timer = setTimeout(() => r("still waiting"), 5000));
      const how = await Promise.race([loop.close().then(() => "closed"), late]);
      clearTimeout(timer);
      console.log(JSON.stringify({ opened: watching - before, how, left: fds() - before }));
    `),
  );
  assertEquals(seen, { opened: 2, how: "closed", left: 0 }, "the epoll fd and its eventfd");
  const loop = new Epoll(1000);
  await loop.close();
  assert(loop.closed);
  throws(() => loop.watch(0, EPOLLIN, () => {}), /closed/);
});
