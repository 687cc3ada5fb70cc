/**
 * The only `Deno.dlopen` in nslab: the few libc calls the kernel layer needs.
 *
 * Everything here is synchronous and runs on the calling (main) thread, which matters for
 * `setns`/`unshare`: they change the namespace of the calling thread only, and Deno creates
 * sockets on the main thread, so "enter, create socket, leave" works.
 *
 * @module
 */

const symbols = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  /** `recvfrom(fd, buf, len, flags, src_addr, addrlen_ptr)`: a datagram and its sender. */
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  unshare: { parameters: ["i32"], result: "i32" },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  sethostname: { parameters: ["buffer", "usize"], result: "i32" },
  /** `getrlimit(resource, struct rlimit *)`: two 64-bit values, soft then hard. */
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  /**
   * `epoll_wait` on a worker thread (returns a Promise), so the main thread keeps running while it
   * waits; errno is not readable afterwards (it belongs to the worker).
   */
  epoll_wait_async: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const;

let lib: Deno.DynamicLibrary<typeof symbols> | null = null;

/** libc, opened on first use. */
export function libc(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  if (lib === null) lib = Deno.dlopen("libc.so.6", symbols);
  return lib.symbols;
}

/** The calling thread's errno. */
export function errno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return new Deno.UnsafePointerView(p).getInt32();
}

/** Errno names for the values nslab meets (Linux x86_64/aarch64 numbering). */
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  115: "EINPROGRESS",
};

/** The symbolic name of an errno value, e.g. `EEXIST`. */
export function errnoName(code: number): string {
  return ERRNO_NAMES[code] ?? `errno ${code}`;
}

/** libc's text for an errno value. */
export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? `errno ${code}` : new Deno.UnsafePointerView(p).getCString();
}

/** A NUL-terminated C string buffer. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes);
  return buf;
}

/** `struct sockaddr_in` for `address:port`. */
export function sockaddrIn(address: string, port: number): Uint8Array<ArrayBuffer> {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new Error(`not an IPv4 address: ${address}`);
  }
  const sa = new Uint8Array(16);
  sa[0] = AF_INET; // sin_family, little endian
  sa[2] = port >> 8; // sin_port, network order
  sa[3] = port & 0xff;
  sa.set(parts, 4);
  return sa;
}

/** `struct sockaddr_in6` for the 16 bytes of an IPv6 address and a port (no flow, no scope). */
export function sockaddrIn6(address: Uint8Array, port: number): Uint8Array<ArrayBuffer> {
  if (address.length !== 16) throw new Error(`not an IPv6 address: ${address.length} bytes`);
  const sa = new Uint8Array(28);
  sa[0] = AF_INET6; // sin6_family, little endian
  sa[2] = port >> 8; // sin6_port, network order
  sa[3] = port & 0xff;
  sa.set(address, 8); // after sin6_flowinfo
  return sa;
}

/** A failed system call, with its errno. */
export class SyscallError extends Error {
  readonly errno: number;
  readonly call: string;
  constructor(call: string, code: number, what: string) {
    super(`${call}(${what}) failed: ${errnoName(code)} (${strerror(code)})`);
    this.name = "SyscallError";
    this.errno = code;
    this.call = call;
  }
}

/** Throws a {@link SyscallError} when a libc call returned a negative value. */
export function check(call: string, rc: number | bigint, what = ""): number {
  const n = Number(rc);
  if (n < 0) throw new SyscallError(call, errno(), what);
  return n;
}

// Flags and constants (Linux).
export const O_RDONLY = 0;
export const O_CLOEXEC = 0o2000000;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWNS = 0x00020000;
export const MS_BIND = 4096;
export const MS_REC = 16384;
export const MS_SHARED = 1 << 20;
export const MS_SLAVE = 1 << 19;
export const MS_PRIVATE = 1 << 18;
export const MNT_DETACH = 2;
export const RLIMIT_NOFILE = 7;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_ICMP = 1;
export const SOL_RAW = 255;
/** Raw ICMP socket option: bit mask of ICMP types NOT delivered to the socket. */
export const ICMP_FILTER = 1;
export const IPPROTO_ICMPV6 = 58;
/** Raw ICMPv6 socket option (level IPPROTO_ICMPV6): 256-bit mask of types NOT delivered. */
export const ICMP6_FILTER = 1;
export const MSG_DONTWAIT = 0x40;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const SO_RCVBUF = 8;
/** SO_RCVBUF past net.core.rmem_max (CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
export const SO_LINGER = 13;
export const IPPROTO_TCP = 6;
export const TCP_QUICKACK = 12;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;
export const SO_REUSEADDR = 2;
export const EPOLL_CTL_ADD = 1;
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 1 << 31;
export const EINPROGRESS = 115;
export const EAGAIN = 11;
export const ECONNREFUSED = 111;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
