/** `nslab ps` (containers of a lab) and `nslab ls` (all labs). */
import type { Model } from "../../core/model/types.ts";
import { listLabs } from "../../core/kernel/discover.ts";
import { listStateDirs, processAlive, readState } from "../../core/lab/state.ts";
import { type LabOptions, runningModel } from "../common.ts";
import { primaryAddress } from "../../core/model/ipv6_only.ts";

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** Containers with host, addresses per network and published ports. */
export function formatSummary(model: Model): string {
  const rows = [["CONTAINER", "HOST", "NETWORKS", "PORTS"]];
  for (const c of model.containers) {
    const nets = c.mode.kind === "own"
      ? c.endpoints.map((e) => `${e.network}=${primaryAddress(e)}`).join(" ") || "-"
      : c.mode.kind === "container"
      ? `container:${c.mode.of}`
      : c.mode.kind;
    const host = model.hosts.find((h) => h.name === c.host)!;
    const ports = c.ports.map((p) =>
      `${
        p.hostIp === "0.0.0.0" ? host.address : p.hostIp
      }:${p.hostPort}->${p.containerPort}/${p.protocol}`
    ).join(" ");
    rows.push([c.name, `${c.host} (${host.address})`, nets, ports || "-"]);
  }
  return table(rows);
}

export async function psCommand(opts: LabOptions & { json?: boolean }): Promise<number> {
  const model = await runningModel(opts);
  console.log(opts.json ? JSON.stringify(model.containers, null, 2) : formatSummary(model));
  return 0;
}

export function lsCommand(opts: { json?: boolean }): number {
  const discovered = new Map(listLabs().map((l) => [l.lab, l]));
  const names = [...new Set([...discovered.keys(), ...listStateDirs()])].sort();
  const rows = names.map((lab) => {
    const state = readState(lab);
    const status = !state
      ? "leftover (no state: run nslab down -p " + lab + ")"
      : processAlive(state.supervisorPid)
      ? "running"
      : "supervisor stopped";
    return {
      lab,
      status,
      file: state?.file ?? "",
      containers: state?.model.containers.length ?? 0,
      namespaces: discovered.get(lab)?.namespaces.length ?? 0,
    };
  });
  if (opts.json) console.log(JSON.stringify(rows, null, 2));
  else {
    console.log(table([
      ["LAB", "STATUS", "CONTAINERS", "NAMESPACES", "FILE"],
      ...rows.map((r) => [
        r.lab,
        r.status,
        String(r.containers),
        String(r.namespaces),
        r.file,
      ]),
    ]));
  }
  return 0;
}
