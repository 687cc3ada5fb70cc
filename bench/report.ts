/**
 * The words around the bench's table: the header (machine, commit, kernel settings) and
 * docs/bench/RESULTS.md.
 *
 * @module
 */

/** The commit measured (`git rev-parse --short HEAD`, `+dirty` when the tree differs), or "?". */
export async function commitOf(): Promise<string> {
  const git = async (args: string[]) => {
    const r = await new Deno.Command("git", {
      args: ["-C", new URL("..", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : "";
  };
  const head = await git(["rev-parse", "--short", "HEAD"]);
  if (!head) return "?";
  return (await git(["status", "--porcelain", "--untracked-files=no"])) ? `${head}+dirty` : head;
}

/** The header printed and written above the table: machine, commit, kernel settings. */
export function headerLines(
  machine: string,
  commit: string,
  settings: string[],
  a: { runs: number; quick: boolean },
): string[] {
  return [
    `Machine: ${machine}`,
    `Commit: ${commit}; ${a.runs} round(s), subjects rotated by one place per round${
      a.quick ? "; quick (small labs)" : ""
    }`,
    ...settings,
  ];
}

/** docs/bench/RESULTS.md: the header, the table, what was missing, how to reproduce, the method. */
export function resultsMarkdown(
  targets: string,
  table: string,
  missing: string,
  header: string[],
  settleNote: string,
) {
  return `# nslab benchmark results

Produced by \`deno task bench\` (bench/main.ts): every subject once per round, medians over the
rounds. Ratios divide by the case's reference subject; where a case has no baseline, its target
is given instead. The CLI rows are nslab as a user runs it (a fresh \`deno\` per verb, a detached
supervisor) and judge each target.

${header.map((l) => `- ${l}`).join("\n")}

## Targets (issue #19)

${targets}

## Every figure

![chart](chart.svg)

${table}

## Baselines that were missing

${missing}

## How to reproduce

\`\`\`sh
scripts/setup.sh && scripts/docker.sh && scripts/bench-setup.sh   # nslab, Docker, baselines
deno task bench                 # every case, 3 rounds, writes docs/bench/
deno task bench --quick         # a smoke run (small labs, 1 round, writes nothing)
deno task bench --only up100,up500 --runs 5
\`\`\`

Notes on method:
- Fairness: the subjects run in rounds, their order rotated by one place per round, and before
  each the bench waits until the kernel has freed the namespaces earlier subjects deleted: no
  kernel worker executing the \`netns\` work queue (\`cleanup_net\`) for 100 ms
  (bench/settle.ts says why not the \`net_namespace\` slab; ${settleNote}).
- Labs are made without an uplink (\`--no-uplink\`) and named \`bn…\`; everything is removed after
  each run.
- "ip -batch script" is bench/baselines/ip_batch.sh (namespaces, a veth per namespace into one
  bridge, an address); "ip -batch, same objects" is bench/ip_plan.ts: the lab's own plan
  (namespaces, sysctls, links, masters, addresses, routes, neighbours, FDB entries, iptables rules)
  as batch files, one \`ip -batch\` per namespace and phase — not the /etc/netns files, DNS or the
  supervisor, which nslab's figures include.
- Mininet runs inside a throwaway network namespace so the machine's firewall (a FORWARD policy
  DROP left by Docker applies to bridged frames through br_netfilter) does not drop its pings;
  \`pingall\` (on 20 hosts, in the first round only: its pings are sequential, ~60 ms each on a
  loaded 2-CPU VM) is timed alone by bench/baselines/mininet_pingall.py and compared per probe.
  We never run \`mn -c\`, which kills every \`ping\` on the machine.
- Docker containers run on an \`--internal\` user network (nothing leaves the machine; its DNS then
  answers NXDOMAIN for unknown names instead of forwarding), from a \`docker import\`ed busybox.
- Docker's DNS is queried from inside a container's namespace
  (\`nsenter --net=/proc/<pid>/ns/net dnsperf -s 127.0.0.11\`) with the same 28-name query file (hits only).
`;
}
