/**
 * Impairments through the CLI, with the detached supervisor running the relay: a declared delay
 * proven by a measured `rtt` check, `nslab impair --clear` turning that check red (exit 1) and
 * `--delay` green again, `link ls`, `partition`/`heal` visible in `iptables -S`, and bad input
 * refused with exit 2 before anything changes.
 */

import assert, { deepEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { run } from "./_support/run.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function nslab(args: string[]) {
  return run(
    [
      Deno.execPath(),
      "run",
      "--allow-all",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}cli/main.ts`,
      ...args,
    ],
    { env: { NO_COLOR: "1" } },
  );
}

const TOPOLOGY = `
networks: { lan: { ipam: { config: [{ subnet: 172.29.11.0/24 }] } } }
containers:
  a: { networks: { lan: { ipv4_address: 172.29.11.10, delay: 50ms } } }
  b: { expose: [80], networks: { lan: { ipv4_address: 172.29.11.20 } } }
checks:
  - { from: a, to: b, expect: { rtt: "100ms ± 10%" } }
`;

Deno.test("CLI: declared delay measured by an rtt check; impair --clear / --delay; partition and heal", async () => {
  const lab = `imc${Math.random().toString(36).slice(2, 7)}`;
  const dir = await Deno.makeTempDir();
  const file = `${dir}/nslab.yaml`;
  await Deno.writeTextFile(file, `name: ${lab}${TOPOLOGY}`);
  try {
    const up = await nslab(["up", "-f", file, "--no-uplink"]);
    assertEquals(up.code, 0, up.out);
    const green = await nslab(["check", "-p", lab]);
    assertEquals(green.code, 0, green.out);
    assertMatch(green.stdout, /PASS\s+a\s+b \(172\.29\.11\.20\) rtt\s+rtt 100ms ± 10%\s+rtt 1\d\d/);

    const ls = JSON.parse((await nslab(["link", "ls", "-p", lab, "--json"])).stdout);
    const row = ls.links.find((l: { name: string }) => l.name === "a:lan");
    assertEquals(row.impair, "delay 50ms");
    assertMatch(row.mechanisms.join(), /^relay rl[0-9a-f]{8}$/);

    assertEquals((await nslab(["impair", "-p", lab, "a", "--clear"])).code, 0);
    const red = await nslab(["check", "-p", lab]);
    assertEquals(red.code, 1, "a check of rtt 100ms must fail without the delay");
    assertMatch(red.stdout, /FAIL\s+a\s+b \(172\.29\.11\.20\) rtt/);
    assertEquals((await nslab(["impair", "-p", lab, "a", "--delay", "50ms"])).code, 0);
    const again = await nslab(["check", "-p", lab]);
    assertEquals(again.code, 0, again.out);

    assertEquals((await nslab(["partition", "-p", lab, "a", "b"])).stdout.trim(), "partition 1");
    const rules = await run(["ip", "netns", "exec", `${lab}-a`, "iptables", "-t", "mangle", "-S"]);
    assertMatch(rules.stdout, /-A NSLAB-IMPAIR-OUT -d 172\.29\.11\.20\/32 -o eth0 .*-j DROP/);
    assertEquals((await nslab(["check", "-p", lab, "--only", "reach", "--expect-intact"])).code, 1);
    assertEquals((await nslab(["heal", "-p", lab])).code, 0);
    const healed = await run(["ip", "netns", "exec", `${lab}-a`, "iptables", "-t", "mangle", "-S"]);
    assert(!healed.stdout.includes("DROP"), healed.stdout);
    assertEquals((await nslab(["check", "-p", lab, "--expect-intact"])).code, 0);

    const bad = await nslab(["impair", "-p", lab, "a", "--delay", "soon"]);
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /delay "soon" is not a duration/);
    assertEquals((await nslab(["link", "set", "-p", lab, "nobody", "down"])).code, 2);
  } finally {
    await nslab(["down", "-p", lab]);
    await Deno.remove(dir, { recursive: true });
  }
});
