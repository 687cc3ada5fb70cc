/**
 * Small units are a rule, not a wish (issue #18, STYLE.md): no shipped function over 80 lines and
 * no shipped file over 400 lines, except the data tables listed below with the reason each may be
 * long. Shipped means every `.ts` file under core/, cli/, bench/, scripts/ (and mod.ts) that is not
 * a test (`*_test.ts`) or a test kit (`_*.ts`), and not under `testdata/`. Functions are found by
 * the TypeScript parser (declarations, methods, constructors, arrows, function expressions — a
 * nested function counts on its own and inside its parent); a length is from the line of the first
 * token to the line of the last. Reads the source files; needs no root.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));

/** Longest a function may be, in lines. */
const MAX_FUNCTION_LINES = 80;
/** Longest a file may be, in lines. */
const MAX_FILE_LINES = 400;

/**
 * Functions allowed to be longer, as `file:name` (an anonymous function is named after the
 * function around it, `(in outer)`), each with why: data tables only (none today). The test fails
 * on a line that no longer names a long unit.
 */
const LONG_FUNCTIONS = new Map<string, string>([]);

/** Files allowed to be longer, each with why: data tables only. */
const LONG_FILES = new Map<string, string>([
  [
    "core/model/schema.ts",
    "data table: every key of the topology format with its type, doc and example (TOPOLOGY)",
  ],
]);

/** Shipped source files, as repository paths. */
function shippedFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && !e.name.startsWith(".") && e.name !== "testdata") {
      out.push(...shippedFiles(path));
    } else if (
      e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts") &&
      !e.name.startsWith("_")
    ) out.push(path);
  }
  return out;
}

/** The name a function is known by: its own, its variable's or property's, or `(in outer)`. */
function nameOf(node: ts.Node): string | null {
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const own = (node as ts.FunctionLikeDeclaration).name;
  if (own !== undefined) return own.getText();
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) && parent.name !== undefined
  ) return parent.name.getText();
  return null;
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) ||
    ts.isArrowFunction(node) || ts.isFunctionExpression(node) ||
    ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node);
}

/** Every function in a file longer than the limit, as `file:name` with its length. */
function longFunctions(file: string, text: string): Map<string, number> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = new Map<string, number>();
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const visit = (node: ts.Node, outer: string) => {
    let inside = outer;
    if (isFunction(node)) {
      const name = nameOf(node) ?? `(in ${outer})`;
      const lines = lineOf(node.getEnd()) - lineOf(node.getStart()) + 1;
      if (lines > MAX_FUNCTION_LINES) found.set(`${file}:${name}`, lines);
      inside = nameOf(node) ?? outer;
    }
    ts.forEachChild(node, (child) => visit(child, inside));
  };
  visit(source, "top");
  return found;
}

/** Everything over a limit: files and functions, with their lengths. */
function overLimits(): { files: Map<string, number>; functions: Map<string, number> } {
  const files = new Map<string, number>();
  const functions = new Map<string, number>();
  const all = ["core", "cli", "bench", "scripts"].flatMap(shippedFiles).concat("mod.ts");
  for (const file of all) {
    const text = Deno.readTextFileSync(join(ROOT, file));
    const lines = text.split("\n").length;
    if (lines > MAX_FILE_LINES) files.set(file, lines);
    for (const [name, length] of longFunctions(file, text)) functions.set(name, length);
  }
  return { files, functions };
}

const found = overLimits();

Deno.test(`no shipped function is over ${MAX_FUNCTION_LINES} lines, except the listed tables`, () => {
  const unlisted = [...found.functions].filter(([name]) => !LONG_FUNCTIONS.has(name))
    .map(([name, lines]) => `${name} (${lines} lines)`);
  assertEquals(unlisted, [], "split these into named pieces (docs/architecture.md)");
});

Deno.test(`no shipped file is over ${MAX_FILE_LINES} lines, except the listed tables`, () => {
  const unlisted = [...found.files].filter(([file]) => !LONG_FILES.has(file))
    .map(([file, lines]) => `${file} (${lines} lines)`);
  assertEquals(unlisted, [], "split these by job, one file per job (docs/architecture.md)");
});

Deno.test("every allowance still names a long unit (remove a line once its unit is split)", () => {
  const stale = [
    ...[...LONG_FUNCTIONS.keys()].filter((name) => !found.functions.has(name)),
    ...[...LONG_FILES.keys()].filter((file) => !found.files.has(file)),
  ];
  assertEquals(stale, []);
});

Deno.test("the measure counts a function of 81 lines as long and one of 80 as not", () => {
  const body = Array.from({ length: MAX_FUNCTION_LINES - 1 }, (_, i) => `  const v${i} = ${i};`);
  const long = `function big() {\n${body.join("\n")}\n}\nconst f = () => {\n${
    body.join("\n")
  }\n};\n`;
  assertEquals([...longFunctions("x.ts", long).keys()], ["x.ts:big", "x.ts:f"]);
  const justRight = `function ok() {\n${body.slice(1).join("\n")}\n}\n`;
  assertEquals([...longFunctions("y.ts", justRight).keys()], []);
});
