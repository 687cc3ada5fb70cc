#!/usr/bin/env bash
# Installs what nslab needs on a Debian machine, idempotently: the kernel tools (iproute2,
# iptables), the real clients tests use (dig, ping, curl, socat, getent, iperf3; Graphviz and
# rsvg-convert for the graph tests; kubectl for the offline check of `nslab k8s` output: Debian's
# kubernetes-client when no kubectl is there), and Deno from npm into .deno/ of this checkout.
# Prints what it installs; silent when everything is there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DENO_VERSION="2.9.6"

need=()
for pair in ip:iproute2 iptables-restore:iptables dig:dnsutils ping:iputils-ping curl:curl \
  socat:socat nsenter:util-linux busybox:busybox-static dnsmasq:dnsmasq-base ps:procps \
  strace:strace tcpdump:tcpdump dot:graphviz rsvg-convert:librsvg2-bin iperf3:iperf3 tc:iproute2 \
  kubectl:kubernetes-client; do
  bin="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
# Container commands run with Docker's PATH (no pyenv shims): compose.yaml needs /usr/bin/python3.
[ -x /usr/bin/python3 ] || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The live page's browser test (tests/graph_serve_test.ts) drives Debian's Chromium headless;
# without its recommends (an avahi daemon, printing, a terminal) it is the browser and its fonts.
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (headless browser for the live page test)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

deno_bin="$here/.deno/node_modules/deno/deno"
if ! "$deno_bin" --version 2>/dev/null | grep -q "^deno $DENO_VERSION"; then
  echo "setup: installing deno $DENO_VERSION from npm into .deno/" >&2
  mkdir -p "$here/.deno"
  npm install --silent --no-audit --no-fund --prefix "$here/.deno" "deno@$DENO_VERSION" >/dev/null
  # The npm package ships the binary; its postinstall only re-links it.
  [ -x "$deno_bin" ] || node "$here/.deno/node_modules/deno/install.cjs" >/dev/null
fi
echo "$deno_bin"
