#!/usr/bin/env bash
# Baseline for bench/kernel.ts: the same objects as ip_per_object.sh through `ip -batch`.
# usage: ip_batch.sh create|delete PREFIX N
# iproute2 (6.1) does not accept `-n NS` inside a batch file, and `netns add` run under `ip -n`
# pins the namespace in ip's private mount namespace; so: ONE `ip -batch` adds every namespace,
# ONE `ip -n PREFIX-sw -batch` makes the switch side (veths with their peers placed directly,
# master, up), and one two-line `ip -n NS -batch` per namespace sets eth0 up and its address.
set -euo pipefail
mode=$1 prefix=$2 n=$3
if [[ $mode == create ]]; then
  {
    echo "netns add $prefix-sw"
    for ((i = 0; i < n; i++)); do echo "netns add $prefix-n$i"; done
  } | ip -batch -
  {
    echo "link add br0 type bridge"
    echo "link set br0 up"
    for ((i = 0; i < n; i++)); do
      echo "link add v$i type veth peer name eth0 netns $prefix-n$i"
      echo "link set v$i master br0 up"
    done
  } | ip -n "$prefix-sw" -batch -
  for ((i = 0; i < n; i++)); do
    printf 'link set eth0 up\naddr add 10.200.%d.%d/16 dev eth0\n' $((i / 200)) $((i % 200 + 10)) |
      ip -n "$prefix-n$i" -batch -
  done
else
  {
    for ((i = 0; i < n; i++)); do echo "netns del $prefix-n$i"; done
    echo "netns del $prefix-sw"
  } | ip -batch -
fi
