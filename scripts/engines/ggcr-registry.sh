#!/usr/bin/env bash
# go-containerregistry's registry (pkg/registry) with the OCI 1.1 referrers API switched on:
# `crane registry serve` leaves it off and has no flag for it, so this builds a ten-line main
# against the pinned module. Usage: ggcr-registry.sh VERSION OUTDIR MODULE
set -euo pipefail
version="$1" out="$2" module="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/main.go" <<'GO'
// Command ggcr-registry serves go-containerregistry's in-memory registry with referrers on.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("address", "127.0.0.1:0", "listen address")
	flag.Parse()
	s := &http.Server{Addr: *addr, Handler: registry.New(registry.WithReferrersSupport(true)), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("serving on %s", *addr)
	log.Fatal(s.ListenAndServe())
}
GO
cd "$work"
go mod init ggcr-registry >/dev/null 2>&1
go mod edit -require="$module@$version"
GOFLAGS=-mod=mod go mod tidy
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/bin/ggcr-registry" .
