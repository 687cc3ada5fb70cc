import assert from "node:assert/strict";
import { removeNetnsFiles, writeManyNetnsFiles } from "./files.ts";

Deno.test("/etc/netns files: made fresh, then rewritten in place, 0644, no temporary left", async () => {
  const netns = ["pffiles-a", "pffiles-b"];
  try {
    const files = (v: string) => ({ "resolv.conf": `nameserver 127.0.0.11 # ${v}\n`, hosts: v });
    await writeManyNetnsFiles(netns.map((n) => ({ netns: n, files: files("one") })));
    await writeManyNetnsFiles([{ netns: netns[1], files: files("two") }]);
    for (const [n, v] of [[netns[0], "one"], [netns[1], "two"]]) {
      const dir = `/etc/netns/${n}`;
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
        "hosts",
        "resolv.conf",
      ]);
      assert.equal(Deno.readTextFileSync(`${dir}/hosts`), v);
      assert.equal(Deno.readTextFileSync(`${dir}/resolv.conf`), `nameserver 127.0.0.11 # ${v}\n`);
      for (const f of ["hosts", "resolv.conf"]) {
        assert.equal(Deno.statSync(`${dir}/${f}`).mode! & 0o777, 0o644, `${dir}/${f}`);
      }
    }
  } finally {
    for (const n of netns) removeNetnsFiles(n);
  }
});
