#!/usr/bin/env bash
# The dashboard's browser tests (make browser-tests): headless Chromium driven
# by selenium against three real baton-node processes with their own Redis
# (6384) and MariaDB (3384) under .run/browser.
#
#   scripts/browser-tests.sh [--keep] [--only a,b] [--screenshots docs/screenshots]
#
# Installs what is missing: the Debian packages chromium and chromium-driver
# (apt-get), selenium in a venv under .build-browser/. Runs the node binary at
# $BATON_NODE_BIN (default .build/debug/baton-node; built when absent).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.build-browser/venv"
REQUIREMENTS="$ROOT/tests/browser/requirements.txt"
export PATH="$PATH:/opt/swift/usr/bin:/usr/sbin:/sbin"

log() { printf 'browser-tests: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# Text in screenshots needs a font; a minimal system may have none.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$VENV/.installed" ] || [ "$REQUIREMENTS" -nt "$VENV/.installed" ]; then
  log "creating $VENV (selenium)"
  rm -rf "$VENV"
  python3 -m venv "$VENV" 2>/dev/null || {
    rm -rf "$VENV"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
  "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r "$REQUIREMENTS"
  touch "$VENV/.installed"
fi

if [ -z "${BATON_NODE_BIN:-}" ] && [ ! -x "$ROOT/.build/debug/baton-node" ]; then
  log "building baton-node (debug)"
  (cd "$ROOT" && swift build --product baton-node)
fi

exec "$VENV/bin/python" -B "$ROOT/tests/browser/run.py" "$@"
