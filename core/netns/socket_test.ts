import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { libc, SOCK_DGRAM, SyscallError } from "../netlink/ffi.ts";
import { boundSocketIn, socketIn } from "./netns.ts";

const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;

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

Deno.test("boundSocketIn binds, and closes the socket again when the address is taken", () => {
  const holder = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const port = (holder.addr as Deno.NetAddr).port;
    const before = fds();
    let err: unknown = null;
    try {
      boundSocketIn("", SOCK_DGRAM, "127.0.0.1", port);
    } catch (e) {
      err = e;
    }
    assert(err instanceof SyscallError, String(err));
    assertEquals([err.call, err.errno], ["bind", 98 /* EADDRINUSE */]);
    assertEquals(fds(), before, "the socket that could not bind is closed");
    const fd = boundSocketIn("", SOCK_DGRAM, "127.0.0.1", 0);
    assertEquals(fds(), before + 1);
    libc().close(fd);
  } finally {
    holder.close();
  }
});
