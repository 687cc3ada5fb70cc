import { deepStrictEqual, equal } from "node:assert/strict";
import { labName, load } from "./common.ts";

Deno.test("--env-file (repeatable, later wins) and --profile reach the loader", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nslab-cli-env-" });
  try {
    await Deno.writeTextFile(
      `${dir}/compose.yaml`,
      'services:\n  web: {ports: ["${PORT:-80}:80"]}\n  dbg: {profiles: [debug]}\n',
    );
    await Deno.writeTextFile(`${dir}/a.env`, "PORT=8080\n");
    await Deno.writeTextFile(`${dir}/b.env`, "PORT=9090\n");
    const file = `${dir}/compose.yaml`;
    const plain = (await load({ file })).model;
    deepStrictEqual(plain.containers.map((c) => c.name), ["web"]);
    equal(plain.containers[0].ports[0].hostPort, 80);
    const both = (await load({
      file,
      envFile: [`${dir}/a.env`, `${dir}/b.env`],
      profile: ["debug"],
    })).model;
    deepStrictEqual(both.containers.map((c) => c.name), ["web", "dbg"]);
    equal(both.containers[0].ports[0].hostPort, 9090);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-p takes any Compose project name, long ones too", async () => {
  const long = "my-company_payments-platform-staging-environment";
  equal(await labName({ projectName: long }), long);
});
