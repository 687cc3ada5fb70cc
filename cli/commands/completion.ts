/** `nslab completion [bash|zsh]`: a completion script generated from the program's own verbs. */
import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";

/** A bash completion function for every verb and its long options (zsh via bashcompinit). */
export function completionScript(program: Command, shell: string): string {
  if (shell !== "bash" && shell !== "zsh") {
    throw new UsageError(`No completion for shell "${shell}": use bash or zsh`);
  }
  const verbs = program.commands.map((c) => c.name());
  const cases = program.commands.map((c) => {
    const opts = c.options.map((o) => o.long).filter(Boolean).join(" ");
    const sub = c.name() === "network" ? " ls inspect create connect disconnect rm prune" : "";
    return `    ${c.name()}) words="${opts} --help${sub}" ;;`;
  });
  const lines = [
    "# nslab completion — bash: source <(nslab completion bash); zsh: source <(nslab completion zsh)",
    ...(shell === "zsh" ? ["autoload -U +X bashcompinit && bashcompinit"] : []),
    "_nslab() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" words=""',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W "${verbs.join(" ")} --help --version" -- "$cur"))`,
    "    return",
    "  fi",
    '  case "${COMP_WORDS[1]}" in',
    ...cases,
    "  esac",
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '  [[ "$cur" == -* ]] || COMPREPLY+=($(compgen -f -- "$cur"))',
    "}",
    "complete -F _nslab nslab",
  ];
  return lines.join("\n") + "\n";
}
