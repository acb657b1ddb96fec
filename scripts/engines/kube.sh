#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kube-scheduler from k8s.io/kubernetes at VERSION.
# `go install k8s.io/kubernetes/cmd/...@v1.X.Y` cannot work: the module's go.mod replaces its
# staging modules (k8s.io/api, k8s.io/apiserver, ...) with ./staging/src paths that the module
# zip does not contain. So this makes a throwaway module that requires k8s.io/kubernetes and
# replaces each staging module with its published v0.X.Y twin, then builds the commands.
# Usage: kube.sh VERSION OUTDIR PKG   (PKG: k8s.io/kubernetes; programs go to OUTDIR/bin)
set -euo pipefail
version="$1" out="$2" pkg="$3"
case "$version" in v1.[0-9]*.[0-9]*) ;; *) echo "kube.sh: version $version is not v1.X.Y" >&2; exit 2 ;; esac
staging="v0.${version#v1.}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
gomod="$(go mod download -json "$pkg@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "$gomod" ] || { echo "kube.sh: no go.mod for $pkg@$version" >&2; exit 1; }
goline="$(grep -m1 '^go ' "$gomod")"
{
  echo "module opsactions.local/kubebuild"
  echo
  echo "$goline"
  echo
  echo "require $pkg $version"
  echo
  # Every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.X.Y`.
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#replace \1 => \1 '"$staging"'#p' "$gomod"
} > go.mod
echo "kube.sh: $(grep -c '^replace' go.mod) staging replaces at $staging"
GOFLAGS=-mod=mod go get "$pkg/cmd/kube-apiserver@$version" "$pkg/cmd/kube-controller-manager@$version" "$pkg/cmd/kube-scheduler@$version"
# One `go build` for the three: shared packages compile once and the links run in parallel.
started=$(date +%s)
minor="$(echo "$version" | cut -d. -f2)"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
  -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
  -o "$out/bin/" "$pkg/cmd/kube-apiserver" "$pkg/cmd/kube-controller-manager" "$pkg/cmd/kube-scheduler"
echo "kube.sh: kube-apiserver, kube-controller-manager, kube-scheduler built in $(( $(date +%s) - started ))s"
