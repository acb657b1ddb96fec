#!/usr/bin/env bash
# README command one: the whole pipeline rehearsed locally on real services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/sbin:/usr/lib/postgresql/15/bin"
exec npx tsx lab/demo.ts
