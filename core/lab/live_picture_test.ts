import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { liveSvg, type LiveView, STATUS_COLORS } from "./live_picture.ts";
import { loadTopologyObject } from "../model/load.ts";
import { deriveExpectations } from "../checks/expectations.ts";
import type { CheckReport } from "../checks/types.ts";

const { model } = loadTopologyObject({
  name: "shop",
  networks: { front: {}, back: {} },
  containers: {
    web: { networks: ["front"] },
    api: { networks: ["front", "back"], expose: [8000] },
    db: { networks: ["back"] },
    cache: { networks: ["front"] },
  },
}, { reserved: [], uplink: false });

/** Every derived row, failing exactly those that involve `broken` (none: all pass). */
function reportWith(broken: string | null): CheckReport {
  const results = deriveExpectations(model).map((e) => {
    const pass = broken === null || !e.containers.includes(broken);
    return {
      expectation: e,
      observed: pass ? { kind: "open" as const } : { kind: "timeout" as const },
      pass,
      hint: pass ? "" : "no answer: link down, firewall drop, or no ARP reply?",
    };
  });
  return { lab: "shop", results, probes: results.length, elapsedMs: 5, notes: [], causes: [] };
}

/** The attributes of the element carrying `data-key="key"`. */
function element(svg: string, key: string, tag = "rect"): string {
  const m = new RegExp(`<${tag} [^>]*data-key="${key.replaceAll(">", "&gt;")}"[^>]*>`).exec(svg);
  assert(m, `no element ${key}`);
  return m[0];
}

Deno.test("a green run paints every pair cell and endpoint green", () => {
  const svg = liveSvg({ model, report: reportWith(null), links: {} });
  assert(element(svg, "pair:web->api").includes(`stroke="${STATUS_COLORS.pass}"`));
  assert(element(svg, "pair:web->db").includes(`stroke="${STATUS_COLORS.pass}"`), "isolation held");
  assert(element(svg, "endpoint:web@front").includes(`stroke="${STATUS_COLORS.pass}"`));
  assert(element(svg, "caption", "text").includes(`fill="${STATUS_COLORS.pass}"`));
  assert(!svg.includes('data-key="failure:'));
});

Deno.test("failures turn their pairs red, list the hint, and blame the endpoint all of whose rows failed", () => {
  const svg = liveSvg({ model, report: reportWith("web"), links: {} });
  assert(element(svg, "pair:web->api").includes(`stroke="${STATUS_COLORS.fail}"`));
  assert(element(svg, "pair:api->web").includes(`stroke="${STATUS_COLORS.fail}"`));
  assert(element(svg, "pair:api->db").includes(`stroke="${STATUS_COLORS.pass}"`));
  assert(element(svg, "endpoint:web@front").includes(`stroke="${STATUS_COLORS.fail}"`));
  assert(element(svg, "endpoint:api@front").includes(`stroke="${STATUS_COLORS.partial}"`));
  assert(element(svg, "endpoint:db@back").includes(`stroke="${STATUS_COLORS.pass}"`));
  assert(svg.includes("no answer: link down, firewall drop, or no ARP reply?"));
  assert(/data-key="failure:reach:web-&gt;api@front/.test(svg));
});

Deno.test("a missing veth is drawn red and named, before any check runs", () => {
  const view: LiveView = { model, report: null, links: { "web@front": "missing" } };
  const svg = liveSvg(view);
  assert(element(svg, "endpoint:web@front").includes(`stroke="${STATUS_COLORS.fail}"`));
  assert(svg.includes(">link missing<"));
  assert(svg.includes("no check has run yet"));
  assertEquals(svg.includes('data-key="pair:'), false);
});

Deno.test("impairment labels are drawn under their endpoint", () => {
  const svg = liveSvg({ model, report: null, links: {}, impairments: { "api@back": "loss 10%" } });
  assert(svg.includes(">loss 10%<"));
});
