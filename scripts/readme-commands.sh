#!/usr/bin/env bash
# Runs the README's main command literally as written (the first line of the block under
# "## Two commands"); the second line is .ci/run itself, which is what is running this.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sudo >/dev/null 2>&1 || {
  echo "readme: installing sudo so the README's command runs as written" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq sudo >/dev/null
}
main="$(awk '/^## Two commands/{f=1} f&&/^```sh/{b=1;next} b&&/^```/{exit} b{print; exit}' README.md)"
[ -n "$main" ] || { echo "readme: no command found under '## Two commands'" >&2; exit 1; }
echo "readme: \$ $main" >&2
bash -c "$main"
