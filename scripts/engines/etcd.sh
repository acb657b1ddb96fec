#!/usr/bin/env bash
# Builds the etcd server from go.etcd.io/etcd/server/v3 (its root package is etcd's main).
# `go install go.etcd.io/etcd/server/v3@VERSION` refuses: that go.mod replaces its sibling
# modules (api, client, pkg) with ../ paths. Required from a throwaway module instead, those
# replaces are ignored and the siblings resolve to the published versions it requires.
# Usage: etcd.sh VERSION OUTDIR PKG   (PKG: go.etcd.io/etcd/server/v3; program: OUTDIR/bin/etcd)
set -euo pipefail
version="$1" out="$2" pkg="$3"
case "$version" in v3.[0-9]*.[0-9]*) ;; *) echo "etcd.sh: version $version is not v3.X.Y" >&2; exit 2 ;; esac
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'module opsactions.local/etcdbuild\n\ngo 1.24\n' > go.mod
GOFLAGS=-mod=mod go get "$pkg@$version"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$out/bin/etcd" "$pkg"
