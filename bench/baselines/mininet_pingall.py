#!/usr/bin/python3
"""Baseline for bench/mininet.ts: Mininet's pingall on N hosts on one Linux bridge, timed alone.

usage: mininet_pingall.py N
Builds the same network as `mn --switch lxbr --controller none --topo single,N`, times
`net.pingAll()` (N*(N-1) sequential `ping -c1` runs), stops the network, and prints one JSON line:
{"hosts": N, "probes": P, "dropped_pct": D, "pingall_ms": T, "total_ms": T2}.
Run it inside a throwaway network namespace (bench/mininet.ts does) so that the bridge and its
ports never meet the machine's own firewall.
"""
import json
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
from mininet.topo import SingleSwitchTopo

n = int(sys.argv[1])
setLogLevel("error")
t0 = time.monotonic()
net = Mininet(topo=SingleSwitchTopo(n), switch=LinuxBridge, controller=None)
try:
    net.start()
    t1 = time.monotonic()
    dropped = net.pingAll()
    t2 = time.monotonic()
finally:
    net.stop()
print(json.dumps({
    "hosts": n,
    "probes": n * (n - 1),
    "dropped_pct": dropped,
    "pingall_ms": (t2 - t1) * 1000,
    "total_ms": (time.monotonic() - t0) * 1000,
}))
