import assert from "node:assert/strict";
import { NetlinkHandle } from "./client.ts";
import { linkGet, linkList } from "./link.ts";

Deno.test("open handles share one receive buffer instead of holding 256 KiB each", () => {
  const before = Deno.memoryUsage().external;
  const handles = Array.from({ length: 64 }, () => new NetlinkHandle("", { probe: true }));
  try {
    const grown = Deno.memoryUsage().external - before;
    // A buffer per handle: 64 × 256 KiB = 16 MiB.
    assert.ok(grown < 2 * 1024 * 1024, `64 handles hold ${Math.round(grown / 1024)} KiB`);
  } finally {
    for (const h of handles) h.close();
  }
});

Deno.test("handles used in turn each decode their own answers", () => {
  const a = new NetlinkHandle("", { probe: true });
  const b = new NetlinkHandle("", { probe: true });
  try {
    const all = linkList(a);
    const lo = linkGet(b, 1);
    assert.equal(lo?.name, "lo");
    assert.deepEqual(linkList(b).map((l) => l.name), all.map((l) => l.name));
    assert.equal(all.find((l) => l.index === 1)?.name, "lo");
  } finally {
    a.close();
    b.close();
  }
});
