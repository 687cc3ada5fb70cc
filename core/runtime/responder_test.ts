import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { httpAnswer, isHttpRequestLine } from "./responder.ts";

Deno.test("recognises HTTP request lines, with or without CR", () => {
  assert(isHttpRequestLine("GET / HTTP/1.1"));
  assert(isHttpRequestLine("HEAD /x?y=1 HTTP/1.0\r"));
  assert(isHttpRequestLine("POST /api HTTP/2"));
});

Deno.test("does not take plain lines for HTTP", () => {
  for (const line of ["hello", "GET /", "get / HTTP/1.1", "GET / HTTP/x", "", "nslab-probe"]) {
    assert(!isHttpRequestLine(line), line);
  }
});

Deno.test("the HTTP answer is 200 with the name as body and a matching Content-Length", () => {
  const text = new TextDecoder().decode(httpAnswer("wéb"));
  const [head, body] = text.split("\r\n\r\n");
  assert(head.startsWith("HTTP/1.1 200 OK\r\n"));
  assert(head.includes("Connection: close"));
  assertEquals(body, "wéb\n");
  const len = Number(/Content-Length: (\d+)/.exec(head)![1]);
  assertEquals(len, new TextEncoder().encode(body).length);
});
