import { deepStrictEqual, equal } from "node:assert/strict";
import { quickDown } from "./main.ts";

Deno.test("down -p NAME (and --timings, --project-name[=]) skips the full parser", () => {
  deepStrictEqual(quickDown(["down", "-p", "shop"]), { projectName: "shop", timings: false });
  deepStrictEqual(quickDown(["down", "--timings", "--project-name", "a"]), {
    projectName: "a",
    timings: true,
  });
  deepStrictEqual(quickDown(["down", "--project-name=b", "--timings"]), {
    projectName: "b",
    timings: true,
  });
});

Deno.test("every other command line goes to the full parser, which owns help and errors", () => {
  for (
    const args of [
      [],
      ["up", "-p", "shop"],
      ["down"],
      ["down", "--all"],
      ["down", "-f", "x.yaml"],
      ["down", "-p"],
      ["down", "-p", "a", "-p", "b"],
      ["down", "-p", "--timings"],
      ["down", "-p", "a", "--help"],
      ["down", "-p", "a", "--timings", "--timings"],
      ["down", "-p", "a", "extra"],
    ]
  ) equal(quickDown(args), null, args.join(" "));
});
