#!/usr/bin/env bash
# Installs LobbyQ in ./.venv and runs the demo branch (config.example.toml,
# SQLite under ./data, nothing else to start). Extra arguments go to `lobbyq serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Voice and Chinese ticket images need espeak-ng and a CJK font (optional: without
# them calls are shown as text and tickets print in the printer's Chinese mode).
if [ "$(id -u)" -eq 0 ] && ! dpkg -s espeak-ng fonts-wqy-zenhei >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng fonts-wqy-zenhei >/dev/null || true
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/lobbyq serve --config config.example.toml "$@"
