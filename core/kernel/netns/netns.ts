/**
 * Network namespaces, pinned at `/run/netns/<name>` exactly as iproute2 pins them, so
 * `ip netns exec`, `ip -n` and nslab see the same namespaces.
 *
 * Entering a namespace changes the calling thread only; nslab always enters on the main thread,
 * creates its sockets, and leaves at once ({@link withNetns}).
 *
 * @module
 */

import { parseIp6 } from "../../model/ip6.ts";
import {
  AF_INET,
  AF_INET6,
  check,
  CLONE_NEWNET,
  CLONE_NEWUTS,
  cstr,
  errno,
  libc,
  MNT_DETACH,
  MS_BIND,
  MS_REC,
  MS_SHARED,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  sockaddrIn,
  sockaddrIn6,
  SOL_SOCKET,
  SyscallError,
} from "../sys/ffi.ts";

/** Where iproute2 (and nslab) pin named namespaces. */
export const NETNS_RUN_DIR = "/run/netns";

/** Namespace names that reach the file system: safe characters only, no path tricks. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;

/** Throws unless `name` is a safe namespace name (no `/`, no `..`, no spaces). */
export function assertNetnsName(name: string): void {
  if (!SAFE_NAME.test(name) || name.includes("..")) {
    throw new Error(
      `Invalid namespace name ${JSON.stringify(name)}: use letters, digits, '-', '_' and '.'`,
    );
  }
}

let originalFd = -1;

/** fd of the namespace the process started in (opened once, on first use). */
function original(): number {
  if (originalFd < 0) {
    originalFd = check(
      "open",
      libc().open(cstr("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC, 0),
      "/proc/thread-self/ns/net",
    );
  }
  return originalFd;
}

/**
 * fd of the namespace nslab started in (the machine's root namespace, `""` in plans). Kept open
 * for the life of the process; pass it as `IFLA_NET_NS_FD` to put a link there.
 */
export function originalNetnsFd(): number {
  return original();
}

const fds = new Map<string, number>();

/** An fd for the pinned namespace `name`, cached until {@link deleteNetns}/{@link closeNetns}. */
export function netnsFd(name: string): number {
  let fd = fds.get(name);
  if (fd === undefined) {
    assertNetnsName(name);
    const path = `${NETNS_RUN_DIR}/${name}`;
    fd = check("open", libc().open(cstr(path), O_RDONLY | O_CLOEXEC, 0), path);
    fds.set(name, fd);
  }
  return fd;
}

/** Forget (close) the cached fd of `name`, if any. */
export function closeNetns(name: string): void {
  const fd = fds.get(name);
  if (fd !== undefined) {
    libc().close(fd);
    fds.delete(name);
  }
}

/**
 * Closes every cached namespace fd and the original-namespace fd. For a worker thread that is
 * about to end: its fds belong to the process and would otherwise stay open.
 */
export function closeAllNetns(): void {
  for (const name of [...fds.keys()]) closeNetns(name);
  if (originalFd >= 0) libc().close(originalFd);
  originalFd = -1;
}

/**
 * Runs `fn` with the main thread inside namespace `name` (`""` = the original namespace), then
 * switches back, also when `fn` throws. `fn` must be synchronous; sockets it creates stay in
 * `name`.
 *
 * @example
 * ```ts
 * const listener = withNetns("shop-web", () => Deno.listen({ hostname: "0.0.0.0", port: 80 }));
 * ```
 */
export function withNetns<T>(name: string, fn: () => T): T {
  if (name === "") return fn();
  const fd = netnsFd(name);
  const back = original();
  check("setns", libc().setns(fd, CLONE_NEWNET), name);
  try {
    return fn();
  } finally {
    check("setns", libc().setns(back, CLONE_NEWNET), "original namespace");
  }
}

/**
 * An `AF_INET` socket of `type` (e.g. `SOCK_STREAM | SOCK_NONBLOCK`; close-on-exec is added) made
 * inside namespace `name`: it stays there. Throws a {@link SyscallError}.
 * Equivalent to: `socket(2)` under `ip netns exec NAME`.
 */
export function socketIn(name: string, type: number, protocol = 0, family = AF_INET): number {
  const c = libc();
  const fd = withNetns(name, () => {
    const fd = c.socket(family, type | SOCK_CLOEXEC, protocol);
    return fd < 0 ? -errno() : fd;
  });
  if (fd < 0) throw new SyscallError("socket", -fd, `in namespace "${name}"`);
  return fd;
}

/**
 * {@link socketIn}, bound to `address:port` (with `SO_REUSEADDR` first when `reuseAddr`); closed
 * again when binding fails. Throws a {@link SyscallError}.
 */
export function boundSocketIn(
  name: string,
  type: number,
  address: string,
  port: number,
  reuseAddr = false,
): number {
  const c = libc();
  const { sa, family } = sockaddrOf(address, port);
  const fd = socketIn(name, type, 0, family);
  if (reuseAddr) c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, ONE, ONE.length);
  if (c.bind(fd, sa, sa.length) < 0) {
    const code = errno();
    c.close(fd);
    throw new SyscallError("bind", code, `${address}:${port} in namespace "${name}"`);
  }
  return fd;
}

/**
 * The socket address of `address:port` (IPv4 dotted quad or IPv6 text) and its family, for
 * {@link socketIn} and `connect`/`bind`/`sendto`. Throws on anything else.
 */
export function sockaddrOf(
  address: string,
  port: number,
): { sa: Uint8Array<ArrayBuffer>; family: number } {
  const v6 = parseIp6(address);
  return v6 === null
    ? { sa: sockaddrIn(address, port), family: AF_INET }
    : { sa: sockaddrIn6(ip6Bytes(v6), port), family: AF_INET6 };
}

/** The 16 bytes of an IPv6 address, network order. */
function ip6Bytes(n: bigint): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => Number((n >> BigInt(120 - 8 * i)) & 0xffn));
}

/** An `int` 1 for `setsockopt`. */
const ONE = new Uint8Array(new Int32Array([1]).buffer);

/**
 * Like {@link withNetns}, but does not keep the namespace's fd cached afterwards (unless it was
 * cached before), so probing other labs' namespaces never holds them alive.
 */
export function withNetnsTransient<T>(name: string, fn: () => T): T {
  const cached = fds.has(name);
  try {
    return withNetns(name, fn);
  } finally {
    if (!cached) closeNetns(name);
  }
}

let runDirReady = false;

/** Makes /run/netns a shared mount point, as `ip netns add` does. */
function prepareRunDir(): void {
  if (runDirReady) return;
  Deno.mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
  const c = libc();
  const dir = cstr(NETNS_RUN_DIR);
  const none = cstr("none");
  if (c.mount(none, dir, none, BigInt(MS_SHARED | MS_REC), null) !== 0) {
    if (errno() !== 22 /* EINVAL: not a mount point yet */) {
      throw new SyscallError("mount", errno(), `--make-rshared ${NETNS_RUN_DIR}`);
    }
    check("mount", c.mount(dir, dir, none, BigInt(MS_BIND | MS_REC), null), NETNS_RUN_DIR);
    check(
      "mount",
      c.mount(none, dir, none, BigInt(MS_SHARED | MS_REC), null),
      `--make-rshared ${NETNS_RUN_DIR}`,
    );
  }
  runDirReady = true;
}

/**
 * Makes a new namespace of `type` on the calling thread, runs `inside` in it, pins it at `path`
 * (a file that must exist) with a bind mount of `/proc/thread-self/ns/<type>`, and puts the
 * thread back into `back` (default: the namespace it was in). The one place namespaces are pinned.
 * Equivalent to: `unshare --net=PATH` (or `--uts=PATH`).
 */
export function unsharePinned(
  type: "net" | "uts",
  path: string,
  opts: { inside?: () => void; back?: number } = {},
): void {
  const c = libc();
  const flag = type === "net" ? CLONE_NEWNET : CLONE_NEWUTS;
  const self = `/proc/thread-self/ns/${type}`;
  const back = opts.back ?? check("open", c.open(cstr(self), O_RDONLY | O_CLOEXEC, 0), self);
  try {
    check("unshare", c.unshare(flag), type === "net" ? "CLONE_NEWNET" : "CLONE_NEWUTS");
    try {
      opts.inside?.();
      check(
        "mount",
        c.mount(cstr(self), cstr(path), cstr("none"), BigInt(MS_BIND), null),
        `--bind ${self} ${path}`,
      );
    } finally {
      check("setns", c.setns(back, flag), `original ${type} namespace`);
    }
  } finally {
    if (opts.back === undefined) c.close(back);
  }
}

/**
 * Creates the pin file `/run/netns/<name>` (failing with EEXIST when it exists), lets `mount`
 * bind a namespace onto it, and removes the file again when that fails.
 */
function pinAt(name: string, mount: (path: string) => void): void {
  prepareRunDir();
  const c = libc();
  const path = `${NETNS_RUN_DIR}/${name}`;
  const fd = check("open", c.open(cstr(path), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0), path);
  c.close(fd);
  try {
    mount(path);
  } catch (e) {
    try {
      Deno.removeSync(path);
    } catch { /* best effort */ }
    throw e;
  }
}

/**
 * Creates a new network namespace and pins it at `/run/netns/<name>`.
 * Equivalent to: `ip netns add NAME`. Fails with EEXIST when it exists.
 */
export function createNetns(name: string): void {
  assertNetnsName(name);
  pinAt(name, (path) => unsharePinned("net", path, { back: original() }));
}

/**
 * Pins an existing network namespace (e.g. a Docker container's `/proc/<pid>/ns/net`) at
 * `/run/netns/<name>`, so it outlives the process and nslab (and `ip -n`) can enter it.
 * Equivalent to: `touch /run/netns/NAME && mount --bind SOURCE /run/netns/NAME` (what
 * `ip netns attach NAME PID` does). Fails with EEXIST when `name` is pinned already.
 */
export function adoptNetns(name: string, source: string): void {
  assertNetnsName(name);
  if (!/^\/proc\/[0-9]+\/ns\/net$/.test(source) && !source.startsWith(`${NETNS_RUN_DIR}/`)) {
    throw new Error(
      `Cannot adopt namespace "${name}" from ${
        JSON.stringify(source)
      }: expected /proc/<pid>/ns/net`,
    );
  }
  const c = libc();
  pinAt(name, (path) =>
    check(
      "mount",
      c.mount(cstr(source), cstr(path), cstr("none"), BigInt(MS_BIND), null),
      `--bind ${source} ${path}`,
    ));
}

/**
 * Unpins and removes namespace `name` (the kernel frees it when its last user goes).
 * Equivalent to: `ip netns del NAME`. Missing namespaces are not an error.
 */
export function deleteNetns(name: string): void {
  assertNetnsName(name);
  closeNetns(name);
  const path = `${NETNS_RUN_DIR}/${name}`;
  const c = libc();
  if (c.umount2(cstr(path), MNT_DETACH) !== 0) {
    const e = errno();
    if (e !== 22 /* EINVAL: not mounted */ && e !== 2 /* ENOENT */) {
      throw new SyscallError("umount2", e, path);
    }
  }
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Names of the pinned namespaces, sorted. Equivalent to: `ip netns list`. */
export function listNetns(): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(NETNS_RUN_DIR)) names.push(entry.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

/**
 * Writes a sysctl inside namespace `ns` (path relative to /proc/sys, e.g. `net/ipv4/ip_forward`).
 * Equivalent to: `ip netns exec NS sysctl -w net.ipv4.ip_forward=1`.
 */
export function setSysctl(ns: string, key: string, value: string): void {
  if (!/^[a-z0-9_/.-]+$/.test(key) || key.includes("..")) throw new Error(`Invalid sysctl ${key}`);
  // /proc/sys/net reflects the namespace of the thread that opens the file.
  withNetns(ns, () => {
    const f = Deno.openSync(`/proc/sys/${key}`, { write: true });
    try {
      f.writeSync(new TextEncoder().encode(value));
    } finally {
      f.close();
    }
  });
}
