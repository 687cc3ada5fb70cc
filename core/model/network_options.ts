/**
 * A network's `driver_opts`: the MTU, an overlay's VXLAN id and port, a macvlan network's parent,
 * mode and host shim — read as Docker's drivers read them, each checked where it was written.
 *
 * @module
 */

import type { Diagnostics } from "./diagnostics.ts";
import type { Positions } from "./positions.ts";
import type { Network } from "./types.ts";
import { suggestion } from "./names.ts";

/** The driver option that sets a network's MTU. */
export const MTU_KEY = "com.docker.network.driver.mtu";
const MACVLAN_MODES = ["bridge", "private", "vepa", "passthru"] as const;

/** Where driver options report their problems, and the VXLAN ids taken so far (by network). */
export interface OptionContext {
  diags: Diagnostics;
  positions: Positions;
  vnis: Map<number, string>;
}

/** A network's `driver_opts`, without the ones the file left empty. */
export type DriverOpts = Record<string, string>;

/** The network's MTU: the option when valid, else the driver's default (an overlay's is 1450). */
export function readMtu(
  opts: DriverOpts,
  overlay: boolean,
  path: (string | number)[],
  ctx: OptionContext,
): number {
  const fallback = overlay ? 1450 : 1500;
  if (opts[MTU_KEY] === undefined) return fallback;
  return intOpt(opts[MTU_KEY], 68, 65535, optionPath(path, MTU_KEY), "MTU", ctx) ?? fallback;
}

/**
 * An overlay's `vni` (unique among the lab's overlays; null lets nslab pick one) and VXLAN
 * `port` (4789 unless set).
 */
export function readOverlayOptions(
  opts: DriverOpts,
  name: string,
  path: (string | number)[],
  ctx: OptionContext,
): { vni: number | null; port: number } {
  let vni: number | null = null;
  if (opts.vni !== undefined) {
    const asked = intOpt(opts.vni, 1, 16777215, optionPath(path, "vni"), "vni", ctx);
    if (asked !== null && ctx.vnis.has(asked)) {
      ctx.diags.error(
        ctx.positions.of(optionPath(path, "vni")),
        `vni ${asked} is already used by overlay network "${ctx.vnis.get(asked)}"`,
        "give each overlay network its own vni, or leave vni out",
      );
    } else if (asked !== null) {
      ctx.vnis.set(asked, name);
      vni = asked;
    }
  }
  let port = 4789;
  if (opts.port !== undefined) {
    port = intOpt(opts.port, 1024, 49151, optionPath(path, "port"), "VXLAN port", ctx) ?? port;
  }
  return { vni, port };
}

/**
 * A macvlan network's parent (eth0, the host's underlay link, or a VLAN of it), mode and whether
 * the host gets a shim to reach its own macvlan containers.
 */
export function readMacvlanOptions(
  opts: DriverOpts,
  path: (string | number)[],
  { diags, positions }: OptionContext,
): NonNullable<Network["macvlan"]> {
  const parent = opts.parent ?? "eth0";
  const m = /^eth0(?:\.(\d{1,4}))?$/.exec(parent);
  const vlan = m && m[1] !== undefined ? Number(m[1]) : null;
  if (!m || (vlan !== null && (vlan < 1 || vlan > 4094))) {
    diags.error(
      positions.of(optionPath(path, "parent")),
      `macvlan parent "${parent}" is not usable: each host has only eth0 (its underlay link)`,
      "use parent: eth0, or eth0.<vlan> with a VLAN id 1-4094 (nslab creates the 802.1Q link)",
    );
  }
  const mode = opts.macvlan_mode ?? "bridge";
  const knownMode = (MACVLAN_MODES as readonly string[]).includes(mode);
  if (!knownMode) {
    diags.error(
      positions.of(optionPath(path, "macvlan_mode")),
      `unknown macvlan_mode "${mode}"${suggestion(mode, MACVLAN_MODES)}`,
      "use bridge, private, vepa or passthru",
    );
  }
  const shim = opts.host_shim ?? "false";
  if (shim !== "true" && shim !== "false") {
    diags.error(
      positions.of(optionPath(path, "host_shim")),
      `host_shim must be "true" or "false", not "${shim}"`,
      'write host_shim: "true" to let the host reach its macvlan containers',
    );
  }
  return {
    parent,
    vlan,
    mode: knownMode ? mode as NonNullable<Network["macvlan"]>["mode"] : "bridge",
    hostShim: shim === "true",
  };
}

/** Where option `key` of the network at `path` was written. */
function optionPath(path: (string | number)[], key: string): (string | number)[] {
  return [...path, "driver_opts", key];
}

/** An option that must be a whole number in `min`-`max`; null, reported, when it is not. */
function intOpt(
  value: string,
  min: number,
  max: number,
  path: (string | number)[],
  what: string,
  { diags, positions }: OptionContext,
): number | null {
  if (/^\d+$/.test(value) && Number(value) >= min && Number(value) <= max) return Number(value);
  diags.error(
    positions.of(path),
    `${what} "${value}" must be a whole number between ${min} and ${max}`,
    `set it to a number in ${min}-${max}`,
  );
  return null;
}
