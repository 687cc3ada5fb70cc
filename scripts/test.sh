#!/usr/bin/env bash
# The whole test suite, as README gives it: format, lint, type-check, unit tests, root integration
# tests, the README's main command, and a final assertion that nothing was left on the machine.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
deno="$(./scripts/setup.sh)"
export PATH="$(dirname "$deno"):$PATH"
export NO_COLOR=1
log="$(mktemp)"
status=0
step() { echo "== $*" >&2; }

step "deno task ok (fmt, lint, check, unit tests)"
deno task ok 2>&1 | tee -a "$log" || status=1
step "Docker engine for the docker runtime and agreement tests"
./scripts/docker.sh || status=1
step "root integration tests (tests/)"
deno task test:root 2>&1 | tee -a "$log" || status=1
step "public API examples (deno test --doc; root: they build labs)"
deno task test:doc 2>&1 | tee -a "$log" || status=1
step "README main command, literally as written"
./scripts/readme-commands.sh 2>&1 | tail -n 40
[ "${PIPESTATUS[0]}" = 0 ] || status=1
step "leftovers"
./scripts/assert-clean.sh || status=1

# One closing line for the whole run, summed over every deno test invocation.
passed=$(grep -aoE '^(ok|FAILED) \| [0-9]+ passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -aoE '^(ok|FAILED) \| [0-9]+ passed[^|]*\| [0-9]+ failed' "$log" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
echo "tests: $passed passed, $failed failed"
exit "$status"
