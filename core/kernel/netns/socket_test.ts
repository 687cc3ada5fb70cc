import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { libc, SOCK_DGRAM, SyscallError } from "../sys/ffi.ts";
import { socketIn } from "./netns.ts";
import { ROOT, solo } from "../sys/_solo.ts";

Deno.test("socketIn makes a socket in the namespace and reports socket(2)'s own errno", () => {
  const fd = socketIn("", SOCK_DGRAM); // "" = the namespace nslab runs in
  assert(fd >= 0);
  libc().close(fd);
  let err: unknown = null;
  try {
    socketIn("", 0x7f); // no such socket type
  } catch (e) {
    err = e;
  }
  assert(err instanceof SyscallError, String(err));
  assertEquals([err.call, err.errno], ["socket", 22 /* EINVAL */]);
});

Deno.test("boundSocketIn binds, and closes the socket again when the address is taken", async () => {
  // Descriptors are counted in a process of its own (see core/kernel/sys/_solo.ts).
  const seen = JSON.parse(
    await solo(`
      import { boundSocketIn } from "${ROOT}core/kernel/netns/netns.ts";
      import { libc, SOCK_DGRAM } from "${ROOT}core/kernel/sys/ffi.ts";
      const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
      const holder = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const before = fds();
      let error = null;
      try {
        boundSocketIn("", SOCK_DGRAM, "127.0.0.1", holder.addr.port);
      } catch (e) {
        error = [e.name, e.call, e.errno];
      }
      const afterFailure = fds() - before;
      const fd = boundSocketIn("", SOCK_DGRAM, "127.0.0.1", 0);
      const afterSuccess = fds() - before;
      libc().close(fd);
      console.log(JSON.stringify({ error, afterFailure, afterSuccess }));
    `),
  );
  assertEquals(seen, {
    error: ["SyscallError", "bind", 98 /* EADDRINUSE */],
    afterFailure: 0,
    afterSuccess: 1,
  });
});
