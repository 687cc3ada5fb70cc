#!/usr/bin/env bash
# Baseline for bench/kernel.ts: one `ip` process per kernel object.
# usage: ip_per_object.sh create|delete PREFIX N
# Creates PREFIX-sw (bridge br0) and PREFIX-n0..N-1, each with a veth v<i> (in PREFIX-sw, enslaved
# to br0) whose peer eth0 sits in PREFIX-n<i> with address 10.200.(i/200).(i%200+10)/16.
set -euo pipefail
mode=$1 prefix=$2 n=$3
if [[ $mode == create ]]; then
  ip netns add "$prefix-sw"
  ip -n "$prefix-sw" link add br0 type bridge
  ip -n "$prefix-sw" link set br0 up
  for ((i = 0; i < n; i++)); do
    ns="$prefix-n$i"
    ip netns add "$ns"
    ip -n "$prefix-sw" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$prefix-sw" link set "v$i" master br0
    ip -n "$prefix-sw" link set "v$i" up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" addr add "10.200.$((i / 200)).$((i % 200 + 10))/16" dev eth0
  done
else
  for ((i = 0; i < n; i++)); do ip netns del "$prefix-n$i"; done
  ip netns del "$prefix-sw"
fi
