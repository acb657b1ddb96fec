#!/usr/bin/env bash
# Builds the field's real engines (act, Trivy, crane, kube-apiserver, ...) once per machine from
# their Go modules into a cache outside the repository, keyed by name and version:
#   $OPS_ENGINES (default ~/.cache/ops-actions/engines)/<name>-<version>/bin/<program>
# Usage: build.sh [NAME ...]   (no names: every engine in engines.list)
# Each build is bounded by ENGINE_BUILD_TIMEOUT seconds (default: the engine's `timeout=N` in
# engines.list, else 1500) and prints progress;
# a finished build is marked by a .ok file, so a killed build is redone, never half-used.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${OPS_ENGINES:-$HOME/.cache/ops-actions/engines}"
default_limit=1500
mkdir -p "$cache"

build_one() { # name version module-path [go build flags...]
  local name="$1" version="$2" pkg="$3"; shift 3
  local limit="${ENGINE_BUILD_TIMEOUT:-$default_limit}"
  # A leading `timeout=N` in the flags is this engine's own bound (kube-apiserver is big).
  local first="${1:-}"
  if [ "${first#timeout=}" != "$first" ]; then limit="${ENGINE_BUILD_TIMEOUT:-${first#timeout=}}"; shift; fi
  local dir="$cache/$name-$version"
  if [ -f "$dir/.ok" ]; then echo "engines: $name $version cached at $dir"; return 0; fi
  rm -rf "$dir"; mkdir -p "$dir/bin"
  echo "engines: building $name $version from $pkg (at most ${limit}s; first build only)"
  local started; started=$(date +%s)
  # GOFLAGS=-mod=mod lets `go install pkg@version` honour no replace lines; modules that need
  # them have a recipe of their own in scripts/engines/<name>.sh.
  if [ -x "$here/$name.sh" ]; then
    timeout "$limit" nice -n 5 bash "$here/$name.sh" "$version" "$dir" "$pkg" "$@" 2>&1 | sed -u "s/^/  [$name] /"
  else
    GOBIN="$dir/bin" CGO_ENABLED=0 timeout "$limit" nice -n 5 go install -trimpath -ldflags='-s -w' "$@" "$pkg@$version" 2>&1 | sed -u "s/^/  [$name] /"
  fi
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "engines: $name $version FAILED (exit $rc after $(( $(date +%s) - started ))s)" >&2
    return "$rc"
  fi
  touch "$dir/.ok"
  echo "engines: $name $version built in $(( $(date +%s) - started ))s"
}

wanted=("$@")
status=0
# engines.list: name version module-path [flags]; '#' starts a comment.
while read -r name version pkg flags; do
  [ -z "${name:-}" ] || [ "${name:0:1}" = "#" ] && continue
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  # shellcheck disable=SC2086
  build_one "$name" "$version" "$pkg" $flags || status=1
done < "$here/engines.list"
exit $status
