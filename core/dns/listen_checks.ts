/**
 * Why the DNS server cannot listen in a namespace: a probe that the address is reachable (binding
 * succeeds even while `lo` is down), and the error that says what failed and how to fix it.
 *
 * @module
 */

import { NslabError } from "../errors.ts";
import {
  EADDRINUSE,
  EADDRNOTAVAIL,
  errno,
  libc,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  sockaddrIn,
  SyscallError,
} from "../kernel/sys/ffi.ts";
import { socketIn } from "../kernel/netns/netns.ts";

/**
 * Binding 127.0.0.11 succeeds even while `lo` is down, but then nothing can reach it: send an
 * empty datagram from inside the namespace (the server drops it) and throw a `sendto`
 * SyscallError if it cannot leave.
 */
export function checkReachable(netns: string, address: string, port: number): void {
  const c = libc();
  const sa = sockaddrIn(address, port);
  const fd = socketIn(netns, SOCK_DGRAM);
  const rc = c.sendto(fd, new Uint8Array(0), 0n, MSG_DONTWAIT, sa, sa.length);
  const code = errno();
  c.close(fd);
  if (rc < 0) throw new SyscallError("sendto", code, `${address}:${port}`);
}

/** The errno behind a failed bind or reachability check (0 when it is not one of those). */
function errnoOf(e: unknown): number {
  if (e instanceof SyscallError) return e.errno;
  if (e instanceof Deno.errors.AddrInUse) return EADDRINUSE;
  if (e instanceof Deno.errors.AddrNotAvailable) return EADDRNOTAVAIL;
  return 0;
}

/** The error for a listener that could not open at `address:port` in `netns`, with the fix. */
export function listenError(netns: string, address: string, port: number, e: unknown): NslabError {
  const where = `${address}:${port} in namespace "${netns}"`;
  const code = errnoOf(e);
  // The reachability probe's send fails (ENETUNREACH) when lo is down.
  if (code === EADDRNOTAVAIL || (e instanceof SyscallError && e.call === "sendto")) {
    return new NslabError(
      `Cannot serve DNS at ${where}: the address is not available (loopback is down); ` +
        `bring it up: ip -n ${netns} link set lo up`,
      1,
      { cause: e },
    );
  }
  if (code === EADDRINUSE) {
    return new NslabError(
      `Cannot serve DNS at ${where}: another socket already uses it; stop that server ` +
        `(ip netns exec ${netns} ss -lunp sport = :${port})`,
      1,
      { cause: e },
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new NslabError(`Cannot serve DNS at ${where}: ${msg}`, 1, { cause: e });
}
