/**
 * Progress lines like `docker compose up`: one line per step with its elapsed time. On a terminal
 * (or with `--progress plain`) they are printed to stderr; otherwise nslab stays quiet.
 *
 * @module
 */

/** Receives the steps of a long operation. */
export interface Progress {
  step(what: string): void;
  done(what: string): void;
}

/** A progress sink that prints nothing. */
export const silent: Progress = { step() {}, done() {} };

/** Whether to use colour: only on a TTY and never with NO_COLOR. */
export function useColor(): boolean {
  return Deno.stderr.isTerminal() && !Deno.env.get("NO_COLOR");
}

/** Prints `✔ step  0.12s` lines to stderr. `mode`: auto (TTY only), plain (always), quiet. */
export function consoleProgress(mode: "auto" | "plain" | "quiet" = "auto"): Progress {
  const on = mode === "plain" || (mode === "auto" && Deno.stderr.isTerminal());
  if (!on) return silent;
  const color = useColor();
  const green = (s: string) => color ? `\x1b[32m${s}\x1b[0m` : s;
  const dim = (s: string) => color ? `\x1b[2m${s}\x1b[0m` : s;
  let t = performance.now();
  const enc = new TextEncoder();
  return {
    step(what) {
      t = performance.now();
      if (color) Deno.stderr.writeSync(enc.encode(` ⠿ ${what} …\r`));
    },
    done(what) {
      const s = ((performance.now() - t) / 1000).toFixed(2);
      Deno.stderr.writeSync(
        enc.encode(
          `\x1b[2K ${green("✔")} ${what.padEnd(48)} ${dim(`${s}s`)}\n`.replace(
            color ? "" : "\x1b[2K",
            "",
          ),
        ),
      );
      t = performance.now();
    },
  };
}
