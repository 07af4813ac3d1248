#!/usr/bin/env bash
# Runs WEB_WORKERS Daphne processes (one per core by default: 2) on 127.0.0.1:DAPHNE_BASE_PORT,
# DAPHNE_BASE_PORT+1, ... for `make run`; the generated nginx proxies WEB_HOST:WEB_PORT to them.
# Stays in the foreground. SIGTERM/SIGINT (honcho, Ctrl-C) stop every one; if one dies, all stop.
set -euo pipefail
cd "$(dirname "$0")/.."
# Read from the settings (environment, then .env, then defaults): the generated nginx proxies to
# exactly these ports.
read -r workers base < <(.venv/bin/python -c '
import os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
from django.conf import settings
print(max(1, settings.WEB_WORKERS), settings.DAPHNE_BASE_PORT)')
pids=()

stop() {
  trap - TERM INT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  exit "${1:-0}"
}
trap 'stop 0' TERM INT

for ((i = 0; i < workers; i++)); do
  port=$((base + i))
  echo "daphne #$i on 127.0.0.1:$port"
  .venv/bin/daphne -b 127.0.0.1 -p "$port" --proxy-headers config.asgi:application &
  pids+=("$!")
done
# Returns as soon as any worker exits (or a trapped signal arrives).
wait -n || true
echo "a Daphne worker exited; stopping the others" >&2
stop 1
