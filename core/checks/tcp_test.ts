import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { answerOf, connectFailure, PROBE_LINE, TcpProber } from "./tcp.ts";
import { Epoll } from "../kernel/sys/epoll.ts";

Deno.test("connect errors map to refused, timeout, unreachable and reset", () => {
  assertEquals(connectFailure(111), { kind: "refused" });
  assertEquals(connectFailure(110), { kind: "timeout" });
  assertEquals(connectFailure(113), {
    kind: "unreachable",
    detail: "host unreachable (EHOSTUNREACH)",
  });
  assertEquals(connectFailure(22), {
    kind: "unreachable",
    detail: "route drops it (EINVAL: a blackhole route?)",
  });
  assertEquals(connectFailure(104), { kind: "wrong-answer", detail: "connection reset" });
  assertEquals(connectFailure(98), { kind: "error", message: "connect: EADDRINUSE" });
});

Deno.test("an answer is a non-empty first line; anything else says what was seen", () => {
  assertEquals(answerOf("web\n", "eof"), { kind: "answered", by: "web" });
  assertEquals(answerOf("web\r\nmore", "reset"), { kind: "answered", by: "web" });
  assertEquals(answerOf("", "eof"), {
    kind: "wrong-answer",
    detail: "connected, closed without an answer",
  });
  assertEquals(answerOf("\n", "eof"), { kind: "wrong-answer", detail: 'garbled: "\\n"' });
  assertEquals(answerOf("we", "eof"), { kind: "wrong-answer", detail: 'garbled: "we"' });
  assertEquals(answerOf("we", "reset"), { kind: "wrong-answer", detail: "connection reset" });
  assertEquals(answerOf("", "deadline"), {
    kind: "wrong-answer",
    detail: "connected, but no answer before the deadline",
  });
});

/** A loopback listener that treats each client with `serve`; closed by the returned function. */
function listener(serve: (c: Deno.Conn) => Promise<void>): { port: number; close: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const c of l) {
      conns.push(c);
      serve(c).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    close: () => {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

Deno.test("real loopback sockets: answered, open, closed without answer, silent, refused", async () => {
  const answering = listener(async (c) => {
    const buf = new Uint8Array(64);
    const n = await c.read(buf);
    const line = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    await c.write(new TextEncoder().encode(line === PROBE_LINE ? "box\n" : "bad line\n"));
    c.close();
  });
  const closing = listener(async (c) => {
    await c.read(new Uint8Array(64)); // read the line first: closing with it unread would reset
    c.close();
  });
  const silent = listener(() => new Promise(() => {}));
  // A port that was just free: nothing listens there.
  const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const free = (gone.addr as Deno.NetAddr).port;
  gone.close();
  const loop = new Epoll(300);
  const tcp = new TcpProber(loop);
  try {
    const seen = await Promise.all([
      tcp.probe("", "127.0.0.1", answering.port, true),
      tcp.probe("", "127.0.0.1", answering.port, false),
      tcp.probe("", "127.0.0.1", closing.port, true),
      tcp.probe("", "127.0.0.1", silent.port, true),
      tcp.probe("", "127.0.0.1", free, true),
    ]);
    assertEquals(seen, [
      { kind: "answered", by: "box" },
      { kind: "open" },
      { kind: "wrong-answer", detail: "connected, closed without an answer" },
      { kind: "wrong-answer", detail: "connected, but no answer before the deadline" },
      { kind: "refused" },
    ]);
    assertEquals(await tcp.probe("", "300.1.2.3", 80, true), {
      kind: "error",
      message: "not an IPv4 address: 300.1.2.3",
    });
  } finally {
    tcp.close();
    await loop.close();
    answering.close();
    closing.close();
    silent.close();
  }
});

Deno.test("a closed prober answers every later probe with an error", async () => {
  const loop = new Epoll(100);
  const tcp = new TcpProber(loop);
  loop.close();
  assertEquals(await tcp.probe("", "127.0.0.1", 1, true), {
    kind: "error",
    message: "prober closed",
  });
});
