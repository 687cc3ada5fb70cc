/**
 * Report formats of `nslab check --format` (also `up --check` and `demo`), in a module of their own
 * so the command line can list them without loading the checks.
 *
 * @module
 */

/** Report formats of `nslab check --format`. */
export const CHECK_FORMATS = ["table", "json", "junit", "github", "tap", "svg"] as const;

/** One of {@link CHECK_FORMATS}. */
export type CheckFormat = typeof CHECK_FORMATS[number];
