/**
 * The cost of nslab's delay relay (core/runtime/relay.ts) at 0 ms configured delay: round-trip
 * latency it adds (ping, median) and the packets per second it carries (iperf3 UDP, 64-byte
 * datagrams, unlimited rate), each against the same two namespaces joined by a bridge with no
 * relay. Runs alone: `deno run -A bench/relay.ts` (one round), or as the `relay` case of
 * `deno task bench`.
 *
 * @module
 */

import { startRelay } from "../core/runtime/relay.ts";
import { closeNetns } from "../core/kernel/netns/netns.ts";
import { closeHandle } from "../core/kernel/netlink/client.ts";
import { median } from "./result.ts";
import type { Sample } from "./result.ts";

const DIRECT = "veth + bridge, no relay";
/** Row name of the relayed path (its subject is in bench/subjects.ts). */
export const RELAYED = "nslab delay relay, 0 ms";

const HOST = "bnr-h";
const A = "bnr-a";
const B = "bnr-b";
const ADDR_B = "10.251.0.2";

async function sh(args: string[], ns?: string): Promise<string> {
  const argv = ns ? ["ip", "netns", "exec", ns, ...args] : args;
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(o.stdout);
  if (!o.success) {
    throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(o.stderr).trim() || o.code}`);
  }
  return text;
}

/** Two namespaces on a bridge in a third; returns nothing, {@link destroy} removes them. */
async function build(): Promise<void> {
  for (const ns of [HOST, A, B]) await sh(["ip", "netns", "add", ns]);
  await sh(["ip", "-n", HOST, "link", "add", "br0", "type", "bridge"]);
  await sh(["ip", "-n", HOST, "link", "set", "br0", "up"]);
  for (const [ns, dev, ip] of [[A, "va", "10.251.0.1"], [B, "vb", ADDR_B]]) {
    await sh([
      "ip",
      "-n",
      HOST,
      "link",
      "add",
      dev,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      ns,
    ]);
    await sh(["ip", "-n", HOST, "link", "set", dev, "master", "br0", "up"]);
    await sh(["ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    await sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
    await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
  }
}

async function destroy(): Promise<void> {
  for (const ns of [A, B, HOST]) {
    // The relay entered HOST through this process's cached namespace fd and netlink handle: the
    // next round's HOST is a new namespace of the same name (stale handles made round 2 fail:
    // "va" does not exist).
    closeHandle(ns);
    closeNetns(ns);
    await sh(["ip", "netns", "del", ns]).catch(() => {});
  }
}

/** Takes `va` off the bridge and puts the relay pair in its place. */
async function insertRelay(): Promise<void> {
  await sh(["ip", "-n", HOST, "link", "add", "rlb", "type", "veth", "peer", "name", "rlbp"]);
  await sh(["ip", "-n", HOST, "link", "set", "va", "nomaster"]);
  await sh(["ip", "-n", HOST, "link", "set", "rlbp", "master", "br0", "up"]);
  await sh(["ip", "-n", HOST, "link", "set", "rlb", "up"]);
}

/** Median RTT of 200 echoes 5 ms apart (the first left out), ms. */
async function rtt(): Promise<number> {
  const out = await sh(["ping", "-n", "-c", "200", "-i", "0.005", ADDR_B], A);
  const times = [...out.matchAll(/icmp_seq=(\d+) .*time=([\d.]+) ms/g)]
    .filter((m) => m[1] !== "1").map((m) => Number(m[2]));
  return median(times);
}

/** Datagrams per second that arrive (iperf3 UDP, 64 bytes, no rate limit, `seconds` long). */
async function pps(seconds: number): Promise<number> {
  const server = new Deno.Command("ip", {
    args: ["netns", "exec", B, "iperf3", "-s", "-B", ADDR_B],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await sh(["ping", "-n", "-c", "2", "-i", "0.2", ADDR_B], A);
    let out = "";
    for (let i = 0; i < 20 && !out; i++) {
      out = await sh([
        "iperf3",
        "-c",
        ADDR_B,
        "-u",
        "-b",
        "0",
        "-l",
        "64",
        "-t",
        String(seconds),
        "-J",
      ], A)
        .catch(() => new Promise<string>((r) => setTimeout(() => r(""), 100)));
    }
    const sum = JSON.parse(out).end.sum;
    return (sum.packets - sum.lost_packets) / sum.seconds;
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
}

/** One round: both paths measured on fresh namespaces; samples of `relay` and `relaypps`. */
export async function relayRound(seconds: number): Promise<Sample[]> {
  await destroy();
  await build();
  try {
    const direct = { rtt: await rtt(), pps: await pps(seconds) };
    await insertRelay();
    const relay = startRelay(HOST, "va", "rlb", { delayMs: 0, jitterMs: 0 });
    try {
      const relayed = { rtt: await rtt(), pps: await pps(seconds) };
      return [
        { case: "relay", subject: DIRECT, value: direct.rtt },
        {
          case: "relay",
          subject: RELAYED,
          value: relayed.rtt,
          parts: { "added ms": relayed.rtt - direct.rtt },
        },
        { case: "relaypps", subject: DIRECT, value: direct.pps },
        { case: "relaypps", subject: RELAYED, value: relayed.pps },
      ];
    } finally {
      relay.close();
    }
  } finally {
    await destroy();
  }
}

if (import.meta.main) {
  for (const r of await relayRound(3)) {
    console.log(`${r.case.padEnd(9)} ${r.subject.padEnd(26)} ${r.value.toFixed(3)}`);
  }
}
