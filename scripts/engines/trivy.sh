#!/usr/bin/env bash
# Recipe for Trivy: `go install` as usual, plus the version stamp Trivy's release build sets
# (pkg/version/app.ver), so `trivy version --format json` reports the real version, not "dev".
# GOEXPERIMENT=jsonv2 as in its goreleaser.yml: pkg/x/json needs encoding/json/v2.
# Args: version outdir go-package
set -euo pipefail
version="$1" out="$2" pkg="$3"
GOBIN="$out/bin" CGO_ENABLED=0 GOEXPERIMENT=jsonv2 go install -trimpath \
  -ldflags="-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${version#v}" "$pkg@$version"
