#!/usr/bin/env bash
# Makes a Docker engine and Debian's docker-compose available for the Docker tests
# (tests/docker_*_test.ts, tests/compose_*_test.ts), idempotently:
# installs docker.io when dockerd is missing, starts dockerd in the background only when
# `docker info` fails (an engine someone else started is used as is, never restarted), and waits
# for `docker info` with a deadline. Log: /var/log/nslab-dockerd.log. Exit 0 when the engine
# answers; 1 with the log's tail when it does not.
set -euo pipefail
DEADLINE_S="${NSLAB_DOCKER_DEADLINE_S:-60}"
LOG=/var/log/nslab-dockerd.log

# Debian's docker-compose (v1.29) for the Compose agreement tests (tests/compose_*_test.ts).
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "docker.sh: installing docker-compose" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker-compose >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker.sh: installing docker.io" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi

# A dockerd that is starting (pid file, process alive) is waited for, not started twice.
running=0
if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  running=1
fi
if [ "$running" = 0 ]; then
  echo "docker.sh: starting dockerd (log: $LOG)" >&2
  # setsid: the daemon must not die with this script's session or terminal.
  setsid dockerd >>"$LOG" 2>&1 </dev/null &
fi

end=$((SECONDS + DEADLINE_S))
until docker info >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$end" ]; then
    echo "docker.sh: no engine answered 'docker info' within ${DEADLINE_S} s; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "docker.sh: engine ready ($(docker version --format '{{.Server.Version}}'))" >&2
