#!/usr/bin/env bash
# Runs a foreground redis-server listening where REDIS_URL points (host and port), for `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=6379
mkdir -p var/redis
exec redis-server --bind "$host" --port "$port" --dir var/redis --save 60 1000 --appendonly no
