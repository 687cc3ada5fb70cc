/**
 * `nslab graph --serve`: a live page of a running lab on 127.0.0.1. The page (plain HTML and JS in
 * `cli/web/`, no build step, nothing fetched from elsewhere) draws the lab with its last check run
 * and link states, and redraws whenever they change: the server looks at the lab every
 * {@link POLL_MS} and tells open pages over Server-Sent Events.
 *
 * Routes: `/` the page, `/lab.svg` the picture, `/lab.json` the same facts as data, `/events` the
 * change stream.
 *
 * @module
 */

import { liveSvg, type LiveView } from "../../core/lab/live_picture.ts";
import { liveView } from "../../core/lab/live.ts";
import { formatExpected, formatObserved } from "../../core/checks/report.ts";

/** How often the server looks at the lab for changes. */
export const POLL_MS = 500;

const PAGE = new URL("../web/index.html", import.meta.url);

/** The facts of `/lab.json`: what the page lists beside the picture. */
export function viewJson(lab: string, view: LiveView | null): unknown {
  if (!view) return { lab, up: false };
  const results = view.report?.results ?? [];
  return {
    lab,
    up: true,
    containers: view.model.containers.map((c) => c.name),
    networks: view.model.networks.map((n) => n.name),
    links: view.links,
    impairments: view.impairments ?? {},
    check: view.report && {
      at: view.checkedAt,
      passed: results.filter((r) => r.pass).length,
      failed: results.filter((r) => !r.pass).length,
      causes: view.report.causes ?? [],
      failures: results.filter((r) => !r.pass).map((r) => ({
        id: r.expectation.id,
        source: r.expectation.source,
        target: r.expectation.target,
        expected: formatExpected(r.expectation.expect),
        observed: formatObserved(r.observed),
        hint: r.hint,
      })),
    },
  };
}

/** Options of {@link serveGraph}. */
export interface ServeOptions {
  /** TCP port on 127.0.0.1 (0: any free port). */
  port: number;
  /** Stops the server. */
  signal?: AbortSignal;
  /** Called once listening, with the page's address. */
  onListen?: (url: string) => void;
}

/** Serves the live page of `lab` until `signal` aborts. */
export async function serveGraph(lab: string, opts: ServeOptions): Promise<void> {
  const page = await Deno.readTextFile(PAGE);
  const watchers = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  let current = "";
  let version = 0;
  const look = () => {
    const json = JSON.stringify(viewJson(lab, liveView(lab)));
    if (json === current) return;
    current = json;
    version++;
    for (const w of watchers) w.enqueue(encoder.encode(`event: change\ndata: ${version}\n\n`));
  };
  look();
  const timer = setInterval(look, POLL_MS);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: opts.port,
    signal: opts.signal,
    onListen: ({ port }) => opts.onListen?.(`http://127.0.0.1:${port}/`),
  }, (req) => {
    const path = new URL(req.url).pathname;
    const view = () => liveView(lab);
    switch (path) {
      case "/":
        return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
      case "/lab.svg": {
        const v = view();
        if (!v) return new Response(`lab "${lab}" is not up`, { status: 404 });
        return new Response(liveSvg(v), { headers: { "content-type": "image/svg+xml" } });
      }
      case "/lab.json":
        return Response.json(viewJson(lab, view()));
      case "/events": {
        let self: ReadableStreamDefaultController<Uint8Array>;
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            self = c;
            watchers.add(c);
            c.enqueue(encoder.encode(`retry: 1000\nevent: change\ndata: ${version}\n\n`));
          },
          cancel() {
            watchers.delete(self);
          },
        });
        return new Response(body, {
          headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
        });
      }
      default:
        return new Response("not found", { status: 404 });
    }
  });
  opts.signal?.addEventListener("abort", () => {
    clearInterval(timer);
    for (const w of watchers) w.close();
    watchers.clear();
  });
  await server.finished;
  clearInterval(timer);
}
