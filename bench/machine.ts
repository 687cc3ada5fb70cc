/**
 * The machine a benchmark ran on: CPU model, cores, kernel, memory, and the versions of the
 * tools compared (`uname -r`, `/proc/cpuinfo`, `mn --version`, `docker version`, …).
 *
 * @module
 */

/** What the results table is printed with. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  kernel: string;
  memoryGiB: number;
  deno: string;
  /** Tool → version line, or `absent`. */
  tools: Record<string, string>;
  date: string;
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(r.success ? r.stdout : r.stderr).trim();
    return r.success ? (text.split("\n")[0] || "present") : "absent";
  } catch {
    return "absent";
  }
}

/** Reads the machine's description (no root needed). */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const meminfo = Deno.readTextFileSync("/proc/meminfo");
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    memoryGiB: Math.round(memKb / 1048576 * 10) / 10,
    deno: Deno.version.deno,
    tools: {
      iproute2: await firstLine("ip", ["-V"]),
      mininet: await firstLine("mn", ["--version"]),
      docker: await firstLine("docker", ["version", "--format", "{{.Client.Version}}"]),
      dnsperf: (await firstLine("dnsperf", ["-h"])) === "absent" ? "absent" : "present",
      dnsmasq: await firstLine("dnsmasq", ["--version"]),
    },
    date: new Date().toISOString(),
  };
}

/** One line for the report: `AMD EPYC, 2 cores, Linux 6.18.44, 23.5 GiB, deno 2.9.0`. */
export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, ${m.memoryGiB} GiB RAM, deno ${m.deno}`;
}
