import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex } from "./sha256.ts";

Deno.test("sha256Hex equals node:crypto's SHA-256 on the standard vectors and on every length 0–200", () => {
  assert.equal(
    sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const node = (s: string) => createHash("sha256").update(s).digest("hex");
  for (let n = 0; n <= 200; n++) {
    const s = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7 + n) % 26)))
      .join("");
    assert.equal(sha256Hex(s), node(s), `length ${n}`);
  }
  for (const s of ["shop\0web\0front", "é—ü\u{1F600}", "x".repeat(10_000)]) {
    assert.equal(sha256Hex(s), node(s));
  }
});
