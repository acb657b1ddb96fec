#!/usr/bin/env bash
# The whole test suite: setup, type check, lint, a fresh build that must match the committed
# dist/, then every jest suite (unit, integration with real servers, e2e of the bundles,
# contract, workflow lint). Prints its own duration.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/setup.sh
echo "== engines"; bash scripts/engines/build.sh
# The newest PostgreSQL major installed (Debian: /usr/lib/postgresql/<major>/bin); hosted runners
# and other machines ship another major than 15.
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
export PATH="$PATH:/usr/sbin:${pg_bin:-/usr/lib/postgresql/15/bin}"
echo "== type check"; npx tsc --noEmit -p tsconfig.json
echo "== lint"; npx eslint . && npx prettier --check . >/dev/null
echo "== dist check"; bash scripts/check-dist.sh
echo "== tests"
status=0
NODE_OPTIONS=--experimental-vm-modules NODE_NO_WARNINGS=1 npx jest --ci "$@" || status=$?
echo "suite took $(( $(date +%s) - started ))s"
exit $status
