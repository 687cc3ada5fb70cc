#!/usr/bin/env bash
# Installs what `deno task bench` measures against, on a Debian machine, idempotently: Mininet
# (with the Linux bridge switch, no Open vSwitch: the bench runs `mn --switch lxbr`), dnsperf,
# dnsmasq and iperf3. Docker is scripts/docker.sh's; nslab itself is scripts/setup.sh's.
# Prints what it installs; silent when everything is there.
set -euo pipefail
need=()
for pair in mn:mininet brctl:bridge-utils dnsperf:dnsperf dnsmasq:dnsmasq-base iperf3:iperf3 \
  ip:iproute2; do
  bin="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "bench-setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
