/**
 * Error classes. One base class carries the process exit code; subclasses exist only where a
 * caller branches on them.
 *
 * Message shape: the action that failed, then what is true now, then the fix.
 *
 * @module
 */

/** Where a value came from in the topology file (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/**
 * Base of every nslab error: a message for people and the exit code the CLI uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const e = new NslabError("Cannot reach the lab: it is down; run nslab up");
 * assert.ok(e.exitCode === 1 && e instanceof Error);
 * ```
 */
export class NslabError extends Error {
  /** 1: runtime failure; 2: usage or topology error. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: ErrorOptions) {
    super(message, options);
    this.name = "NslabError";
    this.exitCode = exitCode;
  }
}

/** One located problem in a topology file. */
export interface Diagnostic {
  pos: SourcePos;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  hint: string;
}

/** Formats a diagnostic as `file:line:col: what is wrong — how to fix`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.pos.file}:${d.pos.line}:${d.pos.col}`;
  return d.hint ? `${where}: ${d.message} — ${d.hint}` : `${where}: ${d.message}`;
}

/**
 * The topology file is invalid; carries every problem found, not only the first. Exit code 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const e = new TopologyError([{
 *   pos: { file: "lab.yaml", line: 3, col: 5 },
 *   message: 'unknown network "frnt"',
 *   hint: 'did you mean "front"?',
 * }]);
 * assert.ok(e.message === 'lab.yaml:3:5: unknown network "frnt" — did you mean "front"?');
 * ```
 */
export class TopologyError extends NslabError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"), 2);
    this.name = "TopologyError";
    this.diagnostics = diagnostics;
  }
}

/** Bad command-line usage. Exit code 2. */
export class UsageError extends NslabError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UsageError";
  }
}

/** A host feature the lab needs is missing from this kernel or machine. Exit code 2. */
export class UnsupportedError extends NslabError {
  constructor(message: string) {
    super(message, 2);
    this.name = "UnsupportedError";
  }
}

/** A runtime step failed; `cleanupErrors` lists what rollback could not undo. */
export class ApplyError extends NslabError {
  readonly cleanupErrors: Error[];
  constructor(message: string, cause: unknown, cleanupErrors: Error[] = []) {
    super(
      cleanupErrors.length === 0
        ? message
        : `${message}\nrollback also failed:\n${
          cleanupErrors.map((e) => `  - ${e.message}`).join("\n")
        }`,
      1,
      { cause },
    );
    this.name = "ApplyError";
    this.cleanupErrors = cleanupErrors;
  }
}
