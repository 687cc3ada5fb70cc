#!/usr/bin/env bash
# Fails when anything nslab-owned (or made by a test) is left on the machine: namespaces, mounts
# under /run/netns, /run/nslab state, /etc/netns files, root-namespace links carrying an nslab
# alias, supervisor processes.
set -uo pipefail
bad=0
report() { echo "LEAK: $*" >&2; bad=1; }
ns="$(ip netns list 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
[ -z "${ns// /}" ] || report "namespaces: $ns"
m="$(awk '$2 ~ /^\/run\/netns\/./ {print $2}' /proc/mounts | tr '\n' ' ')"
[ -z "${m// /}" ] || report "mounts: $m"
if [ -d /run/nslab ] && [ -n "$(ls -A /run/nslab 2>/dev/null)" ]; then report "/run/nslab: $(ls /run/nslab | tr '\n' ' ')"; fi
if [ -d /etc/netns ] && [ -n "$(ls -A /etc/netns 2>/dev/null)" ]; then report "/etc/netns: $(ls /etc/netns | tr '\n' ' ')"; fi
links="$(ip -o link show 2>/dev/null | grep -E 'alias nslab:|nsl-' | awk -F': ' '{print $2}' | tr '\n' ' ')"
[ -z "${links// /}" ] || report "root links: $links"
procs="$(pgrep -af 'cli/supervisor.ts' | grep -v pgrep | tr '\n' ';')"
[ -z "$procs" ] || report "processes: $procs"
[ "$bad" = 0 ] && echo "clean: no namespace, mount, state file, link or process left"
exit "$bad"
