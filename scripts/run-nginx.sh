#!/usr/bin/env bash
# Runs the local media server and web proxy for `make run`: nginx with libnginx-mod-rtmp, in the
# foreground, from the config Backline generates from its settings (written again here, so it
# always matches the environment honcho passes).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python manage.py media_server_config --no-srs --exec
