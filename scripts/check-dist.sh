#!/usr/bin/env bash
# Fails when a committed bundle differs from a fresh build (new files count too).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
changes=$(git status --porcelain -- actions cli/dist)
if [ -n "$changes" ]; then
  echo "dist/ is stale: rebuild with 'npm run build' and commit. Differences:"
  echo "$changes"
  git --no-pager diff --stat -- actions | tail -20
  exit 1
fi
echo "dist/ matches a fresh build"
