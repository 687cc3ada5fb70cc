/**
 * The overlay driver: per host with members, a bridge `ov-<net>` and a VXLAN device `vx-<net>`
 * enslaved to it (no learning, proxy ARP, MTU 1450). Remote peers are programmed statically from the
 * topology — an FDB entry (container MAC → remote VTEP) and a permanent neighbour entry (IP → MAC)
 * on the VXLAN device — so the first packet already has its way, as Docker's peerdb does.
 *
 * @module
 */

import type { XfrmPlan } from "../types.ts";
import type { HostContext, NetworkDriver } from "./driver.ts";
import { bridgeDriver } from "./bridge.ts";

/** A stable 32-bit SPI for one direction of one overlay network between two VTEPs. */
export function xfrmSpi(vni: number, src: string, dst: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${vni}|${src}|${dst}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 0x100 + (h % 0x7fffff00); // SPIs 0-255 are reserved
}

/** IPsec ESP transport-mode SAs for an encrypted overlay, both directions per peer host. */
function encryption(ctx: HostContext): XfrmPlan[] {
  const { model, network, host } = ctx;
  const vx = network.vxlan!;
  const out: XfrmPlan[] = [];
  for (const peerName of network.hosts) {
    if (peerName === host.name) continue;
    const peer = model.hosts.find((h) => h.name === peerName)!;
    for (const [src, dst] of [[host.address, peer.address], [peer.address, host.address]]) {
      out.push({
        netns: host.netns,
        network: network.name,
        src,
        dst,
        spi: xfrmSpi(vx.vni, src, dst),
        proto: "esp",
        mode: "transport",
        aead: "rfc4106(gcm(aes))",
        port: vx.port,
      });
    }
  }
  return out;
}

/** Docker's overlay driver over VXLAN with a static control plane. */
export const overlayDriver: NetworkDriver = {
  host(ctx) {
    const { model, network, host, hostNs } = ctx;
    const vx = network.vxlan!;
    hostNs.links.push({ kind: "bridge", name: network.bridge, mtu: network.mtu });
    hostNs.links.push({
      kind: "vxlan",
      name: vx.device,
      vni: vx.vni,
      local: host.address,
      port: vx.port,
      dev: "eth0",
      learning: false,
      proxy: true,
      mtu: network.mtu,
      master: network.bridge,
    });
    hostNs.up.push(network.bridge, vx.device);
    const hostsByName = new Map(model.hosts.map((h) => [h.name, h]));
    for (const c of model.containers) {
      if (c.host === host.name) continue;
      const remote = hostsByName.get(c.host)!;
      for (const ep of c.endpoints) {
        if (ep.network !== network.name) continue;
        hostNs.fdb.push({ dev: vx.device, mac: ep.mac, dst: remote.address });
        if (ep.address !== undefined) {
          hostNs.neighs.push({ dev: vx.device, address: ep.address, mac: ep.mac });
        }
        if (ep.ipv6) hostNs.neighs.push({ dev: vx.device, address: ep.ipv6.address, mac: ep.mac });
      }
    }
    if (network.encrypted) ctx.xfrm.push(...encryption(ctx));
  },
  /** Endpoints are veths into the overlay's bridge, exactly as on a bridge network. */
  endpoint: bridgeDriver.endpoint,
};
