/**
 * A real headless Chromium (Debian's `chromium`, installed by scripts/setup.sh) driven over the
 * Chrome DevTools Protocol with Deno's own WebSocket: open a page, evaluate JavaScript in it, wait
 * for a condition, take a screenshot. Closing kills the browser and removes its profile.
 *
 * @module
 */

const CHROMIUM = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/** One open page of a headless Chromium. */
export class Browser implements AsyncDisposable {
  #proc: Deno.ChildProcess;
  #ws: WebSocket;
  #profile: string;
  #session = "";
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(proc: Deno.ChildProcess, ws: WebSocket, profile: string) {
    this.#proc = proc;
    this.#ws = ws;
    this.#profile = profile;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      const waiter = msg.id !== undefined ? this.#pending.get(msg.id) : undefined;
      if (!waiter) return;
      this.#pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(`CDP: ${msg.error.message}`));
      else waiter.resolve(msg.result);
    };
  }

  /** Starts Chromium headless (as root: without its sandbox) with a page of `width`×`height`. */
  static async launch(width = 1400, height = 900): Promise<Browser> {
    const bin = CHROMIUM.find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
    if (!bin) throw new Error("chromium is not installed: run scripts/setup.sh");
    const profile = await Deno.makeTempDir({ prefix: "nslab-chromium-" });
    const proc = new Deno.Command(bin, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        `--window-size=${width},${height}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const url = await devtoolsUrl(proc.stderr);
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    const browser = new Browser(proc, ws, profile);
    const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" }) as {
      targetId: string;
    };
    const { sessionId } = await browser.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    }) as { sessionId: string };
    browser.#session = sessionId;
    return browser;
  }

  /** Sends one CDP command (to the page once attached) and waits for its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    const msg = this.#session
      ? { id, method, params, sessionId: this.#session }
      : { id, method, params };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify(msg));
    });
  }

  /** Loads `url` in the page. */
  async goto(url: string): Promise<void> {
    await this.send("Page.enable");
    await this.send("Page.navigate", { url });
  }

  /** The value of a JavaScript expression evaluated in the page. */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }) as { result: { value: T }; exceptionDetails?: { text: string } };
    if (r.exceptionDetails) throw new Error(`in page: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Waits until `expression` is true in the page (checked every 100 ms), or fails after `ms`. */
  async waitFor(expression: string, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await this.eval<boolean>(`!!(${expression})`).catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the page never showed ${what} within ${ms} ms`);
  }

  /** A PNG screenshot of the whole page, written to `path`. */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    }) as { data: string };
    await Deno.writeFile(path, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#ws.close();
    } catch { /* already closed */ }
    try {
      this.#proc.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#proc.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Reads Chromium's stderr until it prints `DevTools listening on ws://…`. */
async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let seen = "";
  const reader = stderr.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chromium exited before listening:\n${seen}`);
    seen += decoder.decode(value);
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
    if (m) {
      // Keep draining stderr so Chromium never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      return m[1];
    }
  }
}
