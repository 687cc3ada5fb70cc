/**
 * One file for both tools: Compose files that carry nslab's own keys under `x-nslab:` pass the real
 * `docker-compose config` (Debian's v1.29, installed by scripts/docker.sh) unchanged, and nslab
 * builds them with those keys. The same keys at the top level, where nslab also reads them, are
 * refused by docker-compose: that is why `x-nslab` exists. Skipped with a reason when
 * docker-compose is missing. Touches no engine object (`config` only reads the file).
 */

import { equal, match } from "node:assert/strict";
import { loadTopology } from "../core/model/load.ts";
import { run } from "./_support/run.ts";

const have = (await run(["docker-compose", "version"]).catch(() => null))?.code === 0;
if (!have) {
  console.error(
    "compose_config_test: skipped: docker-compose is not installed (scripts/docker.sh)",
  );
}

const DIR = new URL("../core/model/testdata/compose/", import.meta.url).pathname;

async function composeConfig(dir: string): Promise<{ code: number; out: string }> {
  const r = await run(["docker-compose", "config", "-q"], {
    cwd: dir,
    env: { COMPOSE_PROFILES: "" },
  });
  return { code: r.code, out: r.out };
}

for (
  const project of [
    "one-file-both-tools",
    "default-net-config",
    "wordpress-with-mysql",
    "zabbix-like",
  ]
) {
  Deno.test({
    name: `docker-compose config accepts ${project}, and nslab builds it`,
    ignore: !have,
    async fn() {
      const r = await composeConfig(`${DIR}${project}`);
      equal(r.code, 0, r.out);
      const file = `${DIR}${project}/compose.yaml`;
      const model =
        loadTopology({ file, text: Deno.readTextFileSync(file) }, { reserved: [], env: {} }).model;
      equal(model.lab, project);
      if (project === "one-file-both-tools") {
        equal(model.hosts.map((h) => h.name).join(","), "h1,h2");
        equal(model.containers.map((c) => `${c.name}@${c.host}`).join(","), "web@h1,api@h2");
        equal(model.checks.length, 1);
      }
    },
  });
}

Deno.test({
  name: "docker-compose refuses nslab's keys outside x-nslab",
  ignore: !have,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nslab-cpcfg-" });
    try {
      await Deno.writeTextFile(
        `${dir}/compose.yaml`,
        "hosts: { h1: {} }\nservices:\n  web:\n    image: nginx\n",
      );
      const r = await composeConfig(dir);
      equal(r.code, 1, r.out);
      match(r.out, /'hosts' does not match any of the regexes: '\^x-'/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
