#!/usr/bin/env bash
# Fetches the Gateway API release CRDs (standard channel) from the sigs.k8s.io/gateway-api Go
# module: the same YAML as its release's standard-install.yaml, one file per CRD. Nothing is
# compiled; the files land in OUTDIR/bin/crds, where lab/services/kube.ts applies them.
# Usage: gateway-api.sh VERSION OUTDIR PKG
set -euo pipefail
version="$1" out="$2" pkg="$3"
case "$version" in v1.[0-9]*.[0-9]*) ;; *) echo "gateway-api.sh: version $version is not v1.X.Y" >&2; exit 2 ;; esac
dir="$(cd "$(mktemp -d)" && go mod download -json "$pkg@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$dir/config/crd/standard" ] || { echo "gateway-api.sh: $pkg@$version has no config/crd/standard" >&2; exit 1; }
mkdir -p "$out/bin/crds"
cp "$dir"/config/crd/standard/*.yaml "$out/bin/crds/"
chmod -R u+w "$out/bin/crds"
echo "gateway-api.sh: $(ls "$out/bin/crds" | wc -l) files from $pkg@$version"
