/**
 * The responder inside a real namespace, driven by real clients (`curl`, `socat`) through
 * `ip netns exec`. Root only.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startResponder } from "../core/runtime/responder.ts";
import { withNetns } from "../core/kernel/netns/netns.ts";
import { TestNets, tryRun } from "../core/checks/_netns_testkit.ts";

function inNs(ns: string, cmd: string, args: string[], stdin?: string) {
  return tryRun("ip", ["netns", "exec", ns, cmd, ...args], stdin);
}

Deno.test("responder answers curl with 200 and the container name, socat with the name", async () => {
  const nets = new TestNets("prt");
  try {
    const ns = await nets.add("resp");
    const r = await startResponder(ns, "web", [
      { port: 80, protocol: "tcp" },
      { port: 5353, protocol: "udp" },
      { port: 7070, protocol: "sctp" },
    ]);
    try {
      assertEquals(r.ports.map((p) => `${p.port}/${p.protocol}`), ["80/tcp", "5353/udp"]);
      assertEquals(r.skipped.map((s) => s.port.port), [7070]);

      const curl = await inNs(ns, "curl", [
        "-sS",
        "-i",
        "--max-time",
        "5",
        "http://127.0.0.1:80/x",
      ]);
      assertEquals(curl.code, 0, curl.stderr);
      assert(curl.stdout.startsWith("HTTP/1.1 200 OK"), curl.stdout);
      assert(curl.stdout.endsWith("\r\n\r\nweb\n"), JSON.stringify(curl.stdout));

      const line = await inNs(ns, "socat", ["-T", "5", "-", "TCP:127.0.0.1:80"], "hello\n");
      assertEquals(line.stdout, "web\n", line.stderr);

      const udp = await inNs(ns, "socat", ["-T", "2", "-", "UDP:127.0.0.1:5353"], "ping\n");
      assertEquals(udp.stdout, "web\n", udp.stderr);
    } finally {
      r.close();
    }
    // Broken on purpose: once closed, the same clients fail.
    const curl = await inNs(ns, "curl", ["-sS", "--max-time", "5", "http://127.0.0.1:80/"]);
    assertEquals(curl.code, 7, `curl should be refused, got ${curl.code}: ${curl.stdout}`);
    const udp = await inNs(ns, "socat", ["-T", "1", "-", "UDP:127.0.0.1:5353"], "ping\n");
    assertEquals(udp.stdout, "");
  } finally {
    nets.cleanup();
  }
});

Deno.test("responder listens inside its namespace only", async () => {
  const nets = new TestNets("prt");
  try {
    const ns = await nets.add("inside");
    const other = await nets.add("other");
    const r = await startResponder(ns, "inner", [{ port: 8081, protocol: "tcp" }]);
    try {
      const here = await inNs(ns, "curl", ["-sS", "--max-time", "5", "http://127.0.0.1:8081/"]);
      assertEquals(here.stdout, "inner\n", here.stderr);
      const there = await inNs(other, "curl", ["-sS", "--max-time", "5", "http://127.0.0.1:8081/"]);
      assertEquals(there.code, 7, "the other namespace has no listener on 8081");
    } finally {
      r.close();
    }
  } finally {
    nets.cleanup();
  }
});

Deno.test("responder survives rude clients and serves hundreds of concurrent ones", async () => {
  const nets = new TestNets("prt");
  try {
    const ns = await nets.add("many");
    const r = await startResponder(ns, "busy", [{ port: 9000, protocol: "tcp" }]);
    try {
      // Rude clients: connect and vanish, send a partial line and close, send garbage bytes.
      const rude = await Promise.all(
        Array.from(
          { length: 30 },
          () => withNetns(ns, () => Deno.connect({ hostname: "127.0.0.1", port: 9000 })),
        ),
      );
      for (const [i, c] of rude.entries()) {
        if (i % 3 === 1) await c.write(new TextEncoder().encode("no newline"));
        if (i % 3 === 2) await c.write(new Uint8Array([0, 255, 10, 13]));
        c.close();
      }
      const n = 500;
      const answers = await Promise.all(Array.from({ length: n }, async (_, i) => {
        const conn = await withNetns(ns, () => Deno.connect({ hostname: "127.0.0.1", port: 9000 }));
        try {
          await conn.write(new TextEncoder().encode(`client ${i}\n`));
          const buf = new Uint8Array(64);
          let text = "";
          while (!text.includes("\n")) {
            const k = await conn.read(buf);
            if (k === null) break;
            text += new TextDecoder().decode(buf.subarray(0, k));
          }
          return text;
        } finally {
          conn.close();
        }
      }));
      assertEquals(answers.filter((a) => a === "busy\n").length, n);
      const after = await inNs(ns, "curl", ["-sS", "--max-time", "5", "http://127.0.0.1:9000/"]);
      assertEquals(after.stdout, "busy\n", "still serving after rude and concurrent clients");
    } finally {
      r.close();
    }
  } finally {
    nets.cleanup();
  }
});

Deno.test("responder reports a port that is already taken, and leaves nothing open", async () => {
  const nets = new TestNets("prt");
  try {
    const ns = await nets.add("taken");
    const holder = withNetns(ns, () => Deno.listen({ hostname: "0.0.0.0", port: 8082 }));
    try {
      let err: Error | null = null;
      try {
        (await startResponder(ns, "late", [
          { port: 8083, protocol: "tcp" },
          { port: 8082, protocol: "tcp" },
        ])).close();
      } catch (e) {
        err = e as Error;
      }
      assert(err && /late/.test(err.message) && /free the port/.test(err.message), err?.message);
      // 8083 was opened first and must have been closed again by the rollback.
      const c = await inNs(ns, "curl", ["-sS", "--max-time", "5", "http://127.0.0.1:8083/"]);
      assertEquals(c.code, 7);
    } finally {
      holder.close();
    }
  } finally {
    nets.cleanup();
  }
});
