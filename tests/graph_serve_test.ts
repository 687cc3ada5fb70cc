/**
 * `nslab graph --serve` in a real headless Chromium: the page shows the running lab, turns a pair
 * red when a veth is deleted and `nslab check` runs, and green again once the veth is back —
 * without being reloaded. Screenshots of each stage go to tests/artifacts/ (not committed).
 */

import assert from "node:assert/strict";
import { Lab, type TopologyInput } from "../mod.ts";
import { Browser } from "./_support/browser.ts";
import { run } from "./_support/run.ts";
import { STATUS_COLORS } from "../core/lab/live_picture.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const ARTIFACTS = `${ROOT}tests/artifacts`;

const TOPOLOGY: TopologyInput = {
  networks: { front: {}, back: { internal: true } },
  containers: {
    web: { networks: ["front"], ports: ["8080:80"] },
    api: { networks: ["front", "back"], expose: [8000] },
    cache: { networks: ["front"], expose: [6379] },
    db: { networks: ["back"], expose: [5432] },
  },
};

/** `nslab graph --serve` of `lab` on a free port, and the page's address it printed. */
async function serve(lab: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `${ROOT}cli/main.ts`,
      "graph",
      "--serve",
      "-p",
      lab,
      "--port",
      "0",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`graph --serve exited:\n${seen}`);
    seen += value;
    const m = /live at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(seen);
    if (m) {
      return {
        url: m[1],
        stop: async () => {
          child.kill("SIGTERM");
          await reader.cancel();
          assert.equal((await child.status).code, 0, "graph --serve stops cleanly on SIGTERM");
        },
      };
    }
  }
}

/** A JS expression: the stroke of the pair cell `source->target` in the page. */
const pairStroke = (pair: string) =>
  `document.querySelector('#picture [data-key="pair:${pair}"]')?.getAttribute("stroke")`;

async function ok(cmd: string[]): Promise<void> {
  const r = await run(cmd);
  assert.equal(r.code, 0, `${cmd.join(" ")}: ${r.out}`);
}

Deno.test("the live page shows the lab, a deleted veth as a red pair, and green after repair", async (t) => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using lab = await Lab.up(TOPOLOGY, { name: "uslive", uplink: false });
  await lab.assertChecks();
  const server = await serve(lab.name);
  try {
    await using page = await Browser.launch();
    await page.goto(server.url);

    await t.step("names, networks and the green check are on the page", async () => {
      await page.waitFor(`${pairStroke("web->api")} === "${STATUS_COLORS.pass}"`, "web→api green");
      const texts = await page.eval<string[]>(
        `[...document.querySelectorAll("#picture text")].map((t) => t.textContent)`,
      );
      for (const name of ["web", "api", "cache", "db", "front", "back", "uslive-host"]) {
        assert(texts.some((x) => x === name || x.includes(name)), `"${name}" is drawn`);
      }
      assert(texts.some((x) => x.includes("→80/tcp")), "the published port is drawn");
      const status = await page.eval<string>(`document.getElementById("status").textContent`);
      assert.match(status, /^\d+ passed, 0 failed/);
      await page.screenshot(`${ARTIFACTS}/graph-serve-green.png`);
    });

    const web = lab.inspect("web").endpoints[0];
    const host = `${lab.name}-host`;
    await t.step("deleting web's veth: link missing at once, red pairs after check", async () => {
      await page.eval(`document.body.dataset.marker = "same page"`);
      await ok(["ip", "-n", host, "link", "del", web.hostIfname]);
      await page.waitFor(
        `[...document.querySelectorAll("#picture text")].some((t) => t.textContent === "link missing")`,
        "web@front as link missing",
      );
      // The CLI's check (another process) is what the page picks up; its SVG is the same picture.
      const svgFile = `${ARTIFACTS}/check-red.svg`;
      const check = await run([
        Deno.execPath(),
        "run",
        "--allow-all",
        `${ROOT}cli/main.ts`,
        "check",
        "-p",
        lab.name,
        "--format",
        "svg",
        "-o",
        svgFile,
      ]);
      assert.equal(check.code, 1, check.out);
      const svg = await Deno.readTextFile(svgFile);
      assert.match(
        svg,
        new RegExp(`<rect [^>]*stroke="${STATUS_COLORS.fail}"[^>]*data-key="pair:web-&gt;api"`),
      );
      assert.match(svg, />link missing</);
      await page.waitFor(`${pairStroke("web->api")} === "${STATUS_COLORS.fail}"`, "web→api red");
      assert.equal(
        await page.eval(pairStroke("api->cache")),
        STATUS_COLORS.pass,
        "unrelated pair stays green",
      );
      const failures = await page.eval<string>(`document.getElementById("failures").textContent`);
      assert.match(failures, /web → api .*no answer|no route/s);
      assert.equal(await page.eval(`document.body.dataset.marker`), "same page", "not reloaded");
      await page.screenshot(`${ARTIFACTS}/graph-serve-red.png`);
    });

    await t.step("repairing the veth by hand and checking again: green again", async () => {
      const ns = `${lab.name}-web`;
      await ok([
        "ip",
        "-n",
        host,
        "link",
        "add",
        web.hostIfname,
        "type",
        "veth",
        "peer",
        "name",
        web.ifname,
        "netns",
        ns,
      ]);
      await ok(["ip", "-n", host, "link", "set", web.hostIfname, "master", "br-front", "up"]);
      await ok(["ip", "-n", ns, "link", "set", web.ifname, "address", web.mac, "up"]);
      await ok(["ip", "-n", ns, "addr", "add", `${web.address}/${web.prefix}`, "dev", web.ifname]);
      await ok(["ip", "-n", ns, "route", "add", "default", "via", web.gateway]);
      // As nslab wires bridge ports (published ports answer through the hairpin).
      await ok(["bridge", "-n", host, "link", "set", "dev", web.hostIfname, "hairpin", "on"]);
      // The bridge took a new MAC with its new port: forget the old one everywhere.
      for (const ns of [host, ...lab.model.containers.map((c) => c.netns)]) {
        await ok(["ip", "-n", ns, "neigh", "flush", "all"]);
      }
      await page.waitFor(
        `![...document.querySelectorAll("#picture text")].some((t) => t.textContent === "link missing")`,
        "web@front's link back",
      );
      await lab.assertChecks(); // the fixture's check feeds the page too
      await page.waitFor(
        `${pairStroke("web->api")} === "${STATUS_COLORS.pass}"`,
        "web→api green again",
      );
      const status = await page.eval<string>(`document.getElementById("status").textContent`);
      assert.match(status, /^\d+ passed, 0 failed/);
      assert.equal(await page.eval(`document.body.dataset.marker`), "same page", "not reloaded");
      await page.screenshot(`${ARTIFACTS}/graph-serve-repaired.png`);
    });
  } finally {
    await server.stop();
  }
});
