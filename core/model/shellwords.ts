/**
 * Splits a command string into words the way Compose does for `command: "…"` (go-shellwords):
 * blanks separate words, single quotes are literal, double quotes allow `\"`, `\\`, `\$` and
 * `` \` `` escapes, a backslash outside quotes escapes the next character. No variable expansion,
 * no globbing, and never a shell.
 *
 * @module
 */

/**
 * Splits `text` into words, or returns an error message for an unterminated quote or escape.
 *
 * @example
 * ```ts
 * splitWords(`python3 -c 'print("hi")'`); // ["python3", "-c", 'print("hi")']
 * ```
 */
export function splitWords(text: string): string[] | { error: string } {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) {
        cur += text[++i];
      } else cur += ch;
      continue;
    }
    if (ch === "\\") {
      if (i + 1 >= text.length) return { error: "the command ends with a lone backslash" };
      cur += text[++i];
      inWord = true;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote !== null) return { error: `the command has an unterminated ${quote} quote` };
  if (inWord) words.push(cur);
  return words;
}
