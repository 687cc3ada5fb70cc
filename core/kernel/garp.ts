/**
 * Gratuitous ARP: a container announces its own IPv4 address and MAC on one of its interfaces, as
 * `arping -U -c1 -I DEV ADDRESS` does inside its namespace. Neighbours whose interface accepts
 * gratuitous ARP (`arp_accept`) make a STALE entry from it: an ordinary learned entry that the
 * kernel re-verifies (and drops) like any other, never a static one.
 *
 * @module
 */

import { cstr, errno, libc, SOCK_CLOEXEC, SOCK_DGRAM, SyscallError } from "./sys/ffi.ts";
import { withNetns } from "./netns/netns.ts";

const AF_PACKET = 17;
/** errno: no buffer space (the frame was dropped on its way out). */
const ENOBUFS = 105;
/** `htons(ETH_P_ARP)` as the socket calls read it (little-endian machine). */
const ETH_P_ARP_BE = 0x0608;
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

function macBytes(mac: string): number[] {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`Invalid MAC ${mac}`);
  return b;
}

function ipv4Bytes(address: string): number[] {
  const b = address.split(".").map(Number);
  if (b.length !== 4 || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new Error(`Invalid IPv4 address ${address}`);
  }
  return b;
}

/**
 * The ARP payload of a gratuitous request (pure): Ethernet/IPv4, operation 1, sender and target
 * protocol address both `address`, target hardware address zero (RFC 5227's announcement).
 *
 * @example
 * ```ts
 * garpPayload("02:42:ac:12:00:02", "172.18.0.2").length; // 28
 * ```
 */
export function garpPayload(mac: string, address: string): Uint8Array<ArrayBuffer> {
  const ip = ipv4Bytes(address);
  return new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, ...macBytes(mac), ...ip, 0, 0, 0, 0, 0, 0, ...ip]);
}

/**
 * Sends one gratuitous ARP request for `address` (owned by `mac`) to the broadcast address out of
 * `dev` in namespace `ns`; throws a SyscallError when the interface or the socket is missing (a
 * frame the device drops for lack of buffers is lost, not an error).
 * The frame is out when this returns; the returned promise settles once the socket is closed,
 * on a worker thread, because closing a packet socket waits for an RCU grace period (~10 ms
 * each, one after the other: 100 containers took 0.6-1.4 s; together they share one).
 */
export function sendGarp(ns: string, dev: string, mac: string, address: string): Promise<void> {
  const c = libc();
  const frame = garpPayload(mac, address);
  const { fd, index } = withNetns(ns, () => {
    const index = c.if_nametoindex(cstr(dev));
    // Protocol 0: a socket that only sends (the protocol is given with each frame), so the
    // kernel hands it no incoming frames.
    const fd = c.socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return { fd: fd < 0 ? -errno() : fd, index };
  });
  if (fd < 0) throw new SyscallError("socket", -fd, `AF_PACKET in namespace "${ns}"`);
  let sent = false;
  try {
    if (index === 0) throw new Error(`"${dev}" does not exist in namespace "${ns}"`);
    const sll = new Uint8Array(20);
    const v = new DataView(sll.buffer);
    v.setUint16(0, AF_PACKET, true);
    v.setUint16(2, ETH_P_ARP_BE, true);
    v.setInt32(4, index, true);
    sll[11] = 6; // sll_halen
    sll.set(BROADCAST, 12);
    const rc = Number(c.sendto(fd, frame, BigInt(frame.length), 0, sll, sll.length));
    const code = rc < 0 ? errno() : 0;
    // ENOBUFS: the device's queue dropped the frame (a 4,000-container lab announcing itself at
    // once fills it). The announcement is lost as a dropped packet is; that pair resolves by
    // ARP during the check instead. Anything else is a fault.
    if (code !== 0 && code !== ENOBUFS) {
      throw new SyscallError("sendto", code, `GARP on ${ns}/${dev}`);
    }
    sent = true;
  } finally {
    if (!sent) c.close(fd);
  }
  return c.close_async(fd).then(() => {});
}
