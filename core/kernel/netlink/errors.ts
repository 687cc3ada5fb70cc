/**
 * `NetlinkError`: a refused rtnetlink request, told the way a person needs it — what was being
 * done to which object in which namespace, the errno name, the kernel's own extended-ack text, and
 * a hint that says how to fix it. Never a bare "File exists".
 *
 * @module
 */

import { NslabError } from "../../errors.ts";
import { errnoName } from "../sys/ffi.ts";

/** What a request was doing, for error messages: `add` + `link` + `"veth0"`. */
export interface RequestInfo {
  /** Verb: `add`, `delete`, `set`, `replace`, `append`, `dump`, `find`. */
  op: string;
  /** Object kind: `link`, `address`, `route`, `neighbour`, `fdb entry`. */
  object: string;
  /** The object, as a user would name it: `"veth0"`, `"10.0.0.1/24" on "eth0"`. */
  target: string;
}

/** Context that makes hints concrete (the lab whose apply failed). */
export interface ErrorContext {
  lab?: string;
}

/** What an errno means for one kind of object, and what to do about it. */
interface Hint {
  /** What is true now. */
  now: (object: string) => string;
  /** The fix. */
  fix: (ctx: ErrorContext) => string;
}

const leftover = (ctx: ErrorContext) =>
  ctx.lab
    ? `another lab or a leftover uses it — run "nslab down -p ${ctx.lab}" or pick another lab name`
    : `another lab or a leftover uses it — "nslab doctor" lists leftovers, "nslab down -p LAB" removes them`;

/** errno name → hint. One table, used by every verb. */
export const HINTS: Record<string, Hint> = {
  EEXIST: {
    now: (o) => o === "link" ? "a link with that name already exists" : `that ${o} already exists`,
    fix: leftover,
  },
  EPERM: {
    now: () => "the operation is not permitted",
    fix: () => "run nslab as root (or with CAP_NET_ADMIN and CAP_SYS_ADMIN)",
  },
  EACCES: {
    now: () => "permission was denied",
    fix: () => "run nslab as root (or with CAP_NET_ADMIN and CAP_SYS_ADMIN)",
  },
  ENODEV: {
    now: () => "a device it refers to does not exist in that namespace",
    fix: () =>
      "create the parent, master or peer device first (apply order), or check the device name",
  },
  ENOENT: {
    now: (o) => `no such ${o} exists`,
    fix: () => "it may already have been removed; list what exists with `ip -n NS link`",
  },
  EBUSY: {
    now: () => "the device or index is in use",
    fix: () => "another object holds it (an enslaved port, a taken ifindex); remove that first",
  },
  EADDRINUSE: {
    now: () => "the address or port is already in use",
    fix: () => "pick another address or VNI/port, or remove the object holding it",
  },
  EADDRNOTAVAIL: {
    now: () => "the address is not available on that device",
    fix: () => "add the address first, or check the device and prefix",
  },
  EOPNOTSUPP: {
    now: () => "this kernel does not support the operation",
    fix: () => "load the needed module (veth, bridge, vxlan, macvlan, 8021q) or use a newer kernel",
  },
  EINVAL: {
    now: () => "the kernel rejected an argument",
    fix: () => "see the kernel's message above; this is likely an nslab bug — please report it",
  },
  ENETUNREACH: {
    now: () => "the gateway is not reachable from that device",
    fix: () => "add an address on the gateway's subnet to the device before the route",
  },
  ERANGE: {
    now: () => "a value is out of range (MTU, VLAN id, …)",
    fix: () => "use a value the device accepts",
  },
  ENOBUFS: {
    now: () => "the kernel ran out of socket buffer space",
    fix: () => "retry with a smaller batch; this is likely an nslab bug — please report it",
  },
};

/** A request the kernel refused. */
export class NetlinkError extends NslabError {
  readonly info: RequestInfo;
  /** Namespace the request ran in (`""` = the machine's root namespace). */
  readonly ns: string;
  /** Positive errno value. */
  readonly errno: number;
  /** `EEXIST`, `ENODEV`, … */
  readonly errnoName: string;
  /** The kernel's extended-ack message, "" when it gave none. */
  readonly extAck: string;

  constructor(info: RequestInfo, ns: string, errno: number, extAck = "", ctx: ErrorContext = {}) {
    super(NetlinkError.describe(info, ns, errno, extAck, ctx), 1);
    this.name = "NetlinkError";
    this.info = info;
    this.ns = ns;
    this.errno = errno;
    this.errnoName = errnoName(errno);
    this.extAck = extAck;
  }

  /** The message text: action, what is true now (errno, kernel text), fix. */
  static describe(
    info: RequestInfo,
    ns: string,
    errno: number,
    extAck: string,
    ctx: ErrorContext = {},
  ): string {
    const name = errnoName(errno);
    const where = ns === "" ? "the root namespace" : `namespace "${ns}"`;
    const hint = HINTS[name];
    const now = hint ? hint.now(info.object) : "the kernel refused it";
    const kernel = extAck ? ` (kernel: ${extAck})` : "";
    const fix = hint ? hint.fix(ctx) : "see the kernel's message; this may be an nslab bug";
    return `Cannot ${info.op} ${info.object} ${info.target} in ${where}: ${now} (${name})${kernel}; ${fix}`;
  }
}
