#!/usr/bin/env bash
# Recipe for the fixture-DB builder: our own small program (test/fixtures/scan/trivy-db-builder)
# over trivy-db's Go code, built from the repository, not from a published module.
# Bump its version in engines.list whenever its source or go.mod changes.
# Args: version outdir package-dir (relative to the repository root)
set -euo pipefail
out="$2" dir="$3"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root/$dir"
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/bin/trivy-db-builder" .
