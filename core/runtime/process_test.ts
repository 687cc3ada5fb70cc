import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import type { ProcessPlan } from "../plan/types.ts";
import {
  containerEnv,
  DEFAULT_PATH,
  execArgs,
  logPath,
  pinUtsNamespace,
  utsPath,
} from "./sandbox.ts";

function plan(over: Partial<ProcessPlan> = {}): ProcessPlan {
  return {
    container: "web",
    netns: "shop-web",
    command: ["python3", "-m", "http.server", "80"],
    environment: { MODE: "prod" },
    hostname: "webhost",
    restart: "no",
    listen: [],
    dns: true,
    files: {},
    ...over,
  };
}

// Lab names here are never created, so no UTS pin exists and execArgs leaves nsenter out.
const LAB = "fwt-unit-nolab";

Deno.test("runs an exec inside the container's namespace with the container's clean environment", () => {
  assertEquals(execArgs(LAB, plan(), ["cat", "/etc/resolv.conf"]), [
    "ip",
    "netns",
    "exec",
    "shop-web",
    "env",
    "-i",
    `PATH=${DEFAULT_PATH}`,
    "HOSTNAME=webhost",
    "HOME=/root",
    "MODE=prod",
    `NSLAB_LAB=${LAB}`,
    "NSLAB_CONTAINER=web",
    "cat",
    "/etc/resolv.conf",
  ]);
});

Deno.test("runs an exec with the caller's environment when only the namespace is known", () => {
  assertEquals(execArgs(LAB, { netns: "shop-web", container: "web" }, ["ip", "addr"]), [
    "ip",
    "netns",
    "exec",
    "shop-web",
    "ip",
    "addr",
  ]);
});

Deno.test("refuses an empty command and namespace names that escape /run/netns", () => {
  throws(() => execArgs(LAB, plan(), []), /empty command/);
  throws(() => execArgs(LAB, plan({ netns: "../x" }), ["true"]), /Invalid namespace name/);
});

Deno.test("lets the container's environment override PATH and HOME but not the lab markers", () => {
  const env = containerEnv(LAB, plan({ environment: { PATH: "/opt/bin", NSLAB_LAB: "other" } }));
  assertEquals(env.PATH, "/opt/bin");
  assertEquals(env.NSLAB_LAB, LAB);
  assertEquals(env.HOSTNAME, "webhost");
});

Deno.test("keeps pins and logs inside the lab's state directory", () => {
  assertEquals(utsPath("shop", "api-1"), "/run/nslab/shop/uts/api-1");
  assertEquals(logPath("shop", "api-1"), "/run/nslab/shop/logs/api-1.log");
  throws(() => utsPath("shop", "../../etc"), /Invalid container name/);
  throws(() => logPath("shop", "a/b"), /Invalid container name/);
  throws(() => utsPath("../shop", "web"), /Invalid lab name/);
});

Deno.test("refuses hostnames the kernel or a reader would choke on, before touching anything", () => {
  for (const bad of ["", "bad host", "-x", ".x", "a/b", "x".repeat(65)]) {
    throws(() => pinUtsNamespace("/nonexistent/pin", bad), /Cannot set hostname/);
  }
});
