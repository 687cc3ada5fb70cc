/**
 * The `nslab` command line's verbs and options (commander), loaded by cli/main.ts, the entry point.
 * Exit codes: 0 success, 1 checks failed or runtime failure, 2 usage or topology errors.
 *
 * @module
 */

import { Command, CommanderError, Option } from "commander";
import { NslabError } from "../core/errors.ts";
import { CHECK_FORMATS } from "./formats.ts";
import { addNetworkCommand } from "./commands/network.ts";
import { addImpairCommands } from "./commands/impair.ts";
import { examples, labOptions, type RunVerb } from "./options.ts";

// Each verb's module is imported when the verb runs, not at start-up: a `down` then never loads
// the YAML parser, the planner or the checks (every module costs start-up time on each call).
const validate = () => import("./commands/validate.ts");
const plan = () => import("./commands/plan.ts");
const up = () => import("./commands/up.ts");
const down = () => import("./commands/down.ts");
const bundle = () => import("./commands/bundle.ts");
const k8s = () => import("./commands/k8s.ts");
const ps = () => import("./commands/ps.ts");
const check = () => import("./commands/check.ts");
const exec = () => import("./commands/exec.ts");
const misc = () => import("./commands/misc.ts");
const graph = () => import("./commands/graph.ts");
const common = () => import("./common.ts");

/** Adds one verb (or a few that belong together) to the program. */
type AddVerb = (program: Command, run: RunVerb) => void;

/** Every verb, in the order `nslab --help` lists them. */
const VERBS: AddVerb[] = [
  addValidate,
  addPlan,
  addUp,
  addBundle,
  addK8s,
  addDemo,
  addDown,
  addPsAndLs,
  addCheck,
  addContainerVerbs,
  addGraph,
  addNetworkCommand,
  addImpairCommands,
  addSchema,
  addCompletion,
  addDoctor,
];

/** Builds the program; `run` receives each verb's promise of an exit code. */
export function buildProgram(run: RunVerb): Command {
  const program = new Command("nslab")
    .description("Compose-like network labs on the Linux kernel, proven from inside the namespaces")
    .version("0.1.0")
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run nslab --help for the list of verbs)")
    .enablePositionalOptions()
    .exitOverride();
  for (const add of VERBS) add(program, run);
  return program;
}

/** `--progress`, shared by the verbs that build a lab. */
function progressOption(): Option {
  return new Option("--progress <mode>", "progress output").choices(["auto", "plain", "quiet"])
    .default("auto");
}

/** `--format` of a check report, shared by the verbs that run checks. */
function formatOption(): Option {
  return new Option("--format <format>", "report format").choices(CHECK_FORMATS)
    .default("table");
}

function addValidate(program: Command, run: RunVerb): void {
  labOptions(
    program.command("validate").description(
      "parse and validate a topology, print the resolved model",
    ),
  )
    .addHelpText("after", examples(["nslab validate -f topologies/seed.yaml"]))
    .action((o) => run(validate().then((m) => m.validateCommand(o))));
}

function addPlan(program: Command, run: RunVerb): void {
  labOptions(
    program.command("plan").description("print every kernel object and rule `up` would create"),
  )
    .option("--json", "machine-readable plan")
    .option("--dry-run", "the exact netlink messages (and other actions) `up` would send")
    .addHelpText(
      "after",
      examples([
        "nslab plan -f topologies/seed.yaml",
        "nslab plan --json | jq '.namespaces[].name'",
        "nslab plan --dry-run -f topologies/seed.yaml",
      ]),
    )
    .action((o) => run(plan().then((m) => m.planCommand(o))));
}

function addUp(program: Command, run: RunVerb): void {
  labOptions(
    program.command("up").description("build the lab, start its supervisor, wait until ready"),
  )
    .option("--attach", "stay in the foreground and tear down on Ctrl-C")
    .option("--check", "run all checks once the lab is up")
    .option("--no-uplink", "no uplink veth from the machine's root namespace")
    .option(
      "--only-host <host>",
      "build only this host's part (run once per host, e.g. on each machine; see docs/multi-host.md)",
    )
    .option("--timings", "print where the time goes, step by step")
    .option("--bundle <file>", "apply a resolved bundle (nslab bundle) instead of resolving -f")
    .option(
      "--underlay-dev <dev>",
      "with --only-host: the host's eth0 is a macvlan of this machine interface (the real underlay)",
    )
    .addOption(progressOption())
    .addOption(formatOption())
    .addHelpText(
      "after",
      examples([
        "nslab up -f topologies/seed.yaml",
        "nslab up -p lab2 --check",
        "nslab up --attach",
        "nslab up -f topologies/overlay.yaml --only-host h1",
        "nslab up --bundle lab.bundle.json --only-host h1 --underlay-dev ens4",
      ]),
    )
    .action((o) => run(up().then((m) => m.upCommand(o))));
}

function addBundle(program: Command, run: RunVerb): void {
  labOptions(
    program.command("bundle").description(
      "resolve a topology once into a bundle every machine applies its part of",
    ),
  )
    .option("-o, --output <file>", "where to write the bundle (default: standard output)")
    .option("--no-uplink", "no uplink veth from the machine's root namespace")
    .addHelpText(
      "after",
      examples([
        "nslab bundle -f lab.yaml -o lab.bundle.json",
        "nslab up --bundle lab.bundle.json --only-host h1",
      ]),
    )
    .action((o) => run(bundle().then((m) => m.bundleCommand(o))));
}

function addK8s(program: Command, run: RunVerb): void {
  labOptions(
    program.command("k8s").description(
      "Kubernetes objects that run each host's part on a node (see docs/multi-host.md)",
    ),
  )
    .option("--bundle <file>", "a resolved bundle (default: resolve -f here)")
    .option("--node <host=node...>", "the node of a host's part (default: hosts.<h>.node)")
    .option(
      "--underlay-dev <dev...>",
      "the node interface on the underlay: DEV for every host, or HOST=DEV",
    )
    .option("--image <image>", "container image with nslab on its PATH", "nslab:0.1.0")
    .option("--namespace <ns>", "Kubernetes namespace of every object", "default")
    .option("-o, --output <file>", "where to write the YAML (default: standard output)")
    .addHelpText(
      "after",
      examples([
        "nslab k8s -f lab.yaml --node h1=worker-1 --node h2=worker-2 --underlay-dev ens4",
        "nslab k8s --bundle lab.bundle.json -o lab.k8s.yaml && kubectl apply -f lab.k8s.yaml",
      ]),
    )
    .action((o) => run(k8s().then((m) => m.k8sCommand(o))));
}

function addDemo(program: Command, run: RunVerb): void {
  labOptions(
    program.command("demo").description(
      "the main job: up, run every check, print the report, down",
    ),
  )
    .option("--no-uplink", "no uplink veth from the machine's root namespace")
    .addOption(progressOption())
    .addOption(formatOption())
    .addHelpText(
      "after",
      examples([
        "nslab demo                      # the bundled seed lab",
        "nslab demo -f my-lab.yaml",
      ]),
    )
    .action((o) =>
      run(
        Promise.all([up(), common()]).then(([m, c]) =>
          m.upCommand({ ...o, down: true }, c.SEED_FILE)
        ),
      )
    );
}

function addDown(program: Command, run: RunVerb): void {
  labOptions(
    program.command("down").description(
      "remove everything a lab made (idempotent, works after a crash)",
    ),
  )
    .option("--all", "every nslab lab on this machine")
    .option("--timings", "print where the time goes, step by step")
    .addHelpText("after", examples(["nslab down -p shop", "nslab down --all"]))
    .action((o) => run(down().then((m) => m.downCommand(o))));
}

/** `ps` (one lab's containers) and `ls` (every lab). */
function addPsAndLs(program: Command, run: RunVerb): void {
  labOptions(
    program.command("ps").description("containers of a lab with addresses, networks and ports"),
  )
    .option("--json", "JSON output")
    .action((o) => run(ps().then((m) => m.psCommand(o))));

  program.command("ls").description("all labs on this machine").option("--json", "JSON output")
    .action((o) => run(ps().then((m) => m.lsCommand(o))));
}

function addCheck(program: Command, run: RunVerb): void {
  labOptions(
    program.command("check").description("run implied and explicit checks; exit 1 on any failure"),
  )
    .addOption(formatOption())
    .option("--only <what...>", "dns, reach, ports, isolation, iface, or container names")
    .option(
      "--expect-intact",
      "judge as if nothing were impaired: pairs cut by a partition or down link fail",
    )
    .option("--only-host <host>", "only what is probed from this host's part (on its machine)")
    .option("-o, --output <file>", "write the report to a file instead of stdout")
    .addHelpText(
      "after",
      examples([
        "nslab check",
        "nslab check --only dns web",
        "nslab check --format junit > report.xml",
        "nslab check --format github     # annotations in a GitHub Actions run",
        "nslab check --format svg -o lab.svg   # the picture with every pair green or red",
      ]),
    )
    .action((o) => run(check().then((m) => m.checkCommand(o))));
}

/** `exec`, `logs`, `inspect`: one container of a running lab. */
function addContainerVerbs(program: Command, run: RunVerb): void {
  labOptions(program.command("exec").description("run a command inside a container's sandbox"))
    .argument("<name>", "container")
    .argument("[command...]", "command and arguments (after --)")
    .passThroughOptions()
    .addHelpText(
      "after",
      examples(["nslab exec web -- ip addr", "nslab exec web -- getent hosts api"]),
    )
    .action((name, cmd, o) => run(exec().then((m) => m.execCommand(o, name, cmd))));

  labOptions(program.command("logs").description("output of a container's command")).argument(
    "<name>",
  )
    .action((name, o) => run(exec().then((m) => m.logsCommand(o, name))));

  labOptions(
    program.command("inspect").description(
      "a container as JSON: networks, IPs, MACs, ports, namespace",
    ),
  )
    .argument("<name>")
    .action((name, o) => run(exec().then((m) => m.inspectCommand(o, name))));
}

function addGraph(program: Command, run: RunVerb): void {
  labOptions(program.command("graph").description("a picture of the topology"))
    .addOption(
      new Option("--format <format>", "output format").choices(["mermaid", "dot", "svg"]).default(
        "mermaid",
      ),
    )
    .option("--serve", "serve a live page of the running lab on 127.0.0.1 (checks, link states)")
    .option("--port <port>", "port of --serve (0: any free port)", "7480")
    .addHelpText(
      "after",
      examples([
        "nslab graph -f topologies/seed.yaml --format svg > seed.svg",
        "nslab graph --serve --port 8080   # then open http://127.0.0.1:8080/",
      ]),
    )
    .action((o) =>
      run(
        o.serve
          ? graph().then((g) => g.graphServeCommand(o))
          : Promise.all([common(), graph()]).then(async ([c, g]) => {
            const { model } = await c.load(o);
            console.log(g.graphCommand(model, o.format).trimEnd());
            return 0;
          }),
      )
    );
}

function addSchema(program: Command, run: RunVerb): void {
  program.command("schema").description("JSON Schema of the topology format (for editors)")
    .action(() => run(misc().then((m) => m.schemaCommand())));
}

function addCompletion(program: Command, run: RunVerb): void {
  program.command("completion").description("shell completion script").argument(
    "[shell]",
    "bash or zsh",
    "bash",
  )
    .addHelpText("after", examples(["source <(nslab completion bash)"]))
    .action((shell) =>
      run(
        import("./commands/completion.ts").then((m) => {
          console.log(m.completionScript(program, shell).trimEnd());
          return 0;
        }),
      )
    );
}

function addDoctor(program: Command, run: RunVerb): void {
  program.command("doctor").description("list everything nslab-owned on this machine (leak report)")
    .action(() => run(misc().then((m) => m.doctorCommand())));
}

/** Prints what went wrong and returns the exit code: 2 for usage, the error's own, else 1. */
export function report(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof NslabError) {
    console.error(e.message);
    return e.exitCode;
  }
  const err = e as Error;
  console.error(`nslab: ${err?.message ?? String(e)}`);
  if (Deno.env.get("NSLAB_DEBUG")) console.error(err?.stack);
  return 1;
}

/** Parses `args` and runs the verb; resolves to the exit code (errors reported). */
export async function runProgram(args: string[]): Promise<number> {
  let pending: Promise<number> | number = 0;
  try {
    buildProgram((p) => (pending = p)).parse(args, { from: "user" });
    return await pending;
  } catch (e) {
    return report(e);
  }
}
