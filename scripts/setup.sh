#!/usr/bin/env bash
# Installs what the lab, the tests and the demo need, only when it is missing:
# Debian packages for the real services, and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

# program -> Debian package that provides it
declare -A NEED=(
  [haproxy]=haproxy
  [nginx]=nginx-light
  [prometheus]=prometheus
  [promtool]=prometheus
  [docker-registry]=docker-registry
  [sshd]=openssh-server
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [pg_restore]=postgresql-client
  [pytest-3]=python3-pytest
  [socat]=socat
  [chromium]=chromium
  [zstd]=zstd
  [lz4]=lz4
)
# The newest PostgreSQL major installed (Debian: /usr/lib/postgresql/<major>/bin); hosted runners
# and other machines ship another major than 15.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
PATH="$PATH:/usr/sbin:${pg_bin:-/usr/lib/postgresql/15/bin}"
missing=()
for prog in "${!NEED[@]}"; do
  command -v "$prog" >/dev/null 2>&1 || missing+=("${NEED[$prog]}")
done
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
# nginx-mode lua (src/traffic/nginx-lua.ts): a module, not a program, so checked by its file.
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || missing+=(libnginx-mod-http-lua)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "setup: installing Debian packages: ${pkgs[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  # Package install starts the stock daemons; the lab runs its own copies on free ports.
  for svc in nginx haproxy prometheus docker-registry ssh prometheus-node-exporter postgresql; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# zizmor (PyPI), the workflow security linter the workflow tests run; pinned.
ZIZMOR_VERSION=1.32.0
if [ "$(zizmor --version 2>/dev/null)" != "zizmor $ZIZMOR_VERSION" ]; then
  echo "setup: pip install zizmor==$ZIZMOR_VERSION"
  python3 -m pip install -q --disable-pip-version-check "zizmor==$ZIZMOR_VERSION"
fi
