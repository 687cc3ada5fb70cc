/** `nslab schema` and `nslab doctor`. */
import { topologySchema } from "../../core/model/load.ts";
import { listLabs } from "../../core/kernel/discover.ts";
import { listStateDirs } from "../../core/lab/state.ts";
import { neighbourReport } from "../../core/lab/neighbours.ts";

export function schemaCommand(): number {
  console.log(JSON.stringify(topologySchema(), null, 2));
  return 0;
}

/** Everything nslab-owned on the machine: namespaces, root links, state dirs. */
export function doctorCommand(): number {
  const labs = listLabs();
  const dirs = listStateDirs();
  for (const line of neighbourReport()) console.log(line);
  if (labs.length === 0 && dirs.length === 0) {
    console.log("nothing nslab-owned on this machine");
    return 0;
  }
  for (const l of labs) {
    console.log(
      `lab ${l.lab}: ${l.namespaces.length} namespaces, root links: ${
        l.rootLinks.join(" ") || "-"
      }`,
    );
  }
  for (const d of dirs) {
    if (!labs.some((l) => l.lab === d)) console.log(`lab ${d}: state directory only`);
  }
  console.log('remove with "nslab down -p NAME" or "nslab down --all"');
  return 0;
}
