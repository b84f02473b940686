#!/usr/bin/env bash
# Installs the independent peers of curlew's interop tests under $CURLEW_INTEROP_DIR (default
# /opt/curlew-interop), all pinned: for tests/ws_interop.rs Python's `websockets` (in a venv)
# and Node's `ws`; for the HTTP/2 fixtures (tests/support/h2_servers.rs) `hypercorn`, the
# sans-IO `h2` and `python-multipart` (tests/forms.rs) in the same venv, and nginx (the system package; Node's built-in `http2` needs
# nothing); for tests/proxy.rs the system packages tinyproxy-bin, dante-server, microsocks and
# stunnel4.
# Debian 12, as root (only when node/npm, python3-venv, nginx or a proxy is missing does it
# use apt-get). Idempotent: a machine that already has the pinned versions is checked in a
# second or so. Quiet on success apart from the versions on the last line.
set -euo pipefail

DIR="${CURLEW_INTEROP_DIR:-/opt/curlew-interop}"
WEBSOCKETS_VERSION=17.4   # PyPI `websockets`
HYPERCORN_VERSION=0.18.0  # PyPI `hypercorn` (HTTP/2 test server, tests/interop/h2_hypercorn_app.py)
H2_VERSION=4.4.1          # PyPI `h2` (sans-IO HTTP/2, tests/interop/h2_hostile.py)
MULTIPART_VERSION=0.0.34  # PyPI `python-multipart` (the form parser of the hypercorn app's /multipart)
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
PY_PINS=("websockets==$WEBSOCKETS_VERSION" "hypercorn==$HYPERCORN_VERSION" "h2==$H2_VERSION"
         "python-multipart==$MULTIPART_VERSION")
venv_ok() {
  [[ -x "$VENV/bin/python" ]] &&
    "$VENV/bin/python" - "${PY_PINS[@]}" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
}
if ! venv_ok; then
  # A venv whose interpreter runs is kept (pip adds or replaces what differs from the pins);
  # a missing or broken one is made afresh.
  if ! "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
    PY="$(pick_python)" || { apt_install python3 python3-venv; PY="$(pick_python)"; } \
      || die "no python3 with the venv module"
    mkdir -p "$DIR"
    "$PY" -m venv --clear "$VENV" >/dev/null || die "python3 -m venv $VENV failed"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input \
    "${PY_PINS[@]}" >/dev/null || die "pip install ${PY_PINS[*]} failed"
  venv_ok || die "${PY_PINS[*]} not importable from $VENV"
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

# --- nginx (the HTTP/2 fixture; started by the tests with a private config, never as a service) --
NGINX="$(command -v nginx || true)"
[[ -n "$NGINX" ]] || NGINX=/usr/sbin/nginx
if [[ ! -x "$NGINX" ]]; then
  # The package's maintainer scripts would start the system service; policy-rc.d forbids that
  # for the time of the installation (a policy file that was already there is left alone).
  POLICY=/usr/sbin/policy-rc.d
  if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod +x "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
  fi
  apt_install nginx-light
  NGINX=/usr/sbin/nginx
  [[ -x "$NGINX" ]] || die "nginx-light installed but there is no $NGINX"
fi
"$NGINX" -V 2>&1 | grep -q -- --with-http_v2_module || die "$NGINX lacks the HTTP/2 module"
NGINX_VERSION="$("$NGINX" -v 2>&1 | sed -n 's|^nginx version: nginx/||p')"

# --- proxies (tests/support/proxies.rs; started by the tests with private configs, never as
# services): tinyproxy (HTTP, CONNECT), dante (SOCKS4/5), microsocks (SOCKS5 user/password),
# stunnel4 (TLS in front of tinyproxy: an HTTPS proxy) ---
PROXY_PKGS=()
[[ -x /usr/bin/tinyproxy ]] || PROXY_PKGS+=(tinyproxy-bin)
[[ -x /usr/sbin/danted ]] || PROXY_PKGS+=(dante-server)
[[ -x /usr/bin/microsocks ]] || PROXY_PKGS+=(microsocks)
[[ -x /usr/bin/stunnel4 ]] || PROXY_PKGS+=(stunnel4)
if (( ${#PROXY_PKGS[@]} )); then
  POLICY=/usr/sbin/policy-rc.d
  if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod +x "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
  fi
  apt_install "${PROXY_PKGS[@]}"
  # A service the package started anyway (no policy-rc.d honoured) would hold no port of
  # ours: the tests choose free ports. Nothing to stop.
fi
for b in /usr/bin/tinyproxy /usr/sbin/danted /usr/bin/microsocks /usr/bin/stunnel4; do
  [[ -x "$b" ]] || die "$b missing after installing ${PROXY_PKGS[*]}"
done
TINYPROXY_VERSION="$(/usr/bin/tinyproxy -v 2>&1 | awk '{print $2}')"

echo "interop-setup: $DIR: python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())') websockets $WEBSOCKETS_VERSION hypercorn $HYPERCORN_VERSION h2 $H2_VERSION python-multipart $MULTIPART_VERSION; node $(node --version) ws $WS_VERSION; nginx $NGINX_VERSION; tinyproxy $TINYPROXY_VERSION, danted, microsocks, stunnel4"
