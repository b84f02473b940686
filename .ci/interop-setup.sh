#!/usr/bin/env bash
# Installs what tests/ws_interop.rs needs: Python's `websockets` (in a venv) and Node's `ws`,
# both pinned, under $CURLEW_INTEROP_DIR (default /opt/curlew-interop). Debian 12, as root
# (only when node/npm or python3-venv are missing does it use apt-get). Idempotent: a machine
# that already has the pinned versions is checked in a second or so. Quiet on success apart
# from the versions on the last line.
set -euo pipefail

DIR="${CURLEW_INTEROP_DIR:-/opt/curlew-interop}"
WEBSOCKETS_VERSION=17.4   # PyPI `websockets`
WS_VERSION=8.23.0         # npm `ws`

die() { echo "interop-setup: $*" >&2; exit 1; }

APT_UPDATED=
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available; install them by hand"
  if [[ -z "$APT_UPDATED" ]]; then
    apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# --- node and npm ---------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi

# --- python3 with venv (the system one: a pyenv shim may lack ensurepip) -------------------
pick_python() {
  local p
  for p in /usr/bin/python3 "$(command -v python3 || true)"; do
    [[ -n "$p" && -x "$p" ]] || continue
    if "$p" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

VENV="$DIR/venv"
venv_ok() {
  [[ -x "$VENV/bin/python" ]] &&
    "$VENV/bin/python" - "$WEBSOCKETS_VERSION" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
sys.exit(version("websockets") != sys.argv[1])
PY
}
if ! venv_ok; then
  PY="$(pick_python)" || { apt_install python3 python3-venv; PY="$(pick_python)"; } \
    || die "no python3 with the venv module"
  mkdir -p "$DIR"
  "$PY" -m venv --clear "$VENV" >/dev/null || die "python3 -m venv $VENV failed"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input \
    "websockets==$WEBSOCKETS_VERSION" >/dev/null || die "pip install websockets==$WEBSOCKETS_VERSION failed"
  venv_ok || die "websockets $WEBSOCKETS_VERSION not importable from $VENV"
fi

# --- node `ws` ------------------------------------------------------------------------------
NODE_DIR="$DIR/node"
ws_ok() {
  [[ -f "$NODE_DIR/node_modules/ws/package.json" ]] &&
    [[ "$(node -p 'require(process.argv[1]).version' "$NODE_DIR/node_modules/ws/package.json" 2>/dev/null)" == "$WS_VERSION" ]]
}
if ! ws_ok; then
  mkdir -p "$NODE_DIR"
  cat >"$NODE_DIR/package.json" <<JSON
{
  "name": "curlew-interop",
  "private": true,
  "description": "Node peer of curlew's WebSocket interop tests (written by .ci/interop-setup.sh)",
  "dependencies": { "ws": "$WS_VERSION" }
}
JSON
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent --save-exact >/dev/null) \
    || die "npm install ws@$WS_VERSION in $NODE_DIR failed"
  ws_ok || die "ws $WS_VERSION not installed in $NODE_DIR"
fi

echo "interop-setup: $DIR: python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())') websockets $WEBSOCKETS_VERSION; node $(node --version) ws $WS_VERSION"
