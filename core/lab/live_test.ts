import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { impairmentLabels } from "./live.ts";
import { loadTopologyObject } from "../model/load.ts";

Deno.test("impairment labels: one per impaired endpoint, keyed container@network", () => {
  const { model } = loadTopologyObject({
    name: "shop",
    networks: { front: {}, back: {} },
    containers: { web: { networks: ["front"] }, api: { networks: ["front", "back"] } },
  }, { reserved: [], uplink: false });
  assertEquals(impairmentLabels(model), {});
  const api = model.containers.find((c) => c.name === "api")!;
  api.endpoints.find((e) => e.network === "back")!.impair = { delayMs: 50, lossPct: 10 };
  assertEquals(impairmentLabels(model), { "api@back": "delay 50ms, loss 10%" });
});
