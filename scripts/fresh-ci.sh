#!/usr/bin/env bash
# Runs .ci/run as a fresh machine would: in a temporary clone of the committed HEAD, with an
# empty HOME, GOPATH and GOBIN and a PATH holding only the system directories and the Go
# toolchain, so a tool installed by hand or an untracked file cannot make it pass. The module
# and build caches are shared with the caller's (they hold only what go.sum pins) to save time;
# set FRESH_CI_COLD=1 to start those empty too.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
goroot=$(go env GOROOT)
modcache=$(go env GOMODCACHE)
buildcache=$(go env GOCACHE)
work=$(mktemp -d "${TMPDIR:-/tmp}/tenantsync-fresh-ci.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
git clone -q --no-hardlinks "$repo" "$work/src"
mkdir -p "$work/home" "$work/gopath" "$work/gobin"
if [ "${FRESH_CI_COLD:-}" = 1 ]; then
  modcache="$work/gopath/pkg/mod"
  buildcache="$work/cache"
fi
echo "fresh-ci: clone of $(git -C "$repo" rev-parse --short HEAD) in a temporary directory, empty HOME, GOPATH and GOBIN" >&2
start=$SECONDS
cd "$work/src"
set +e
env -i \
  HOME="$work/home" GOPATH="$work/gopath" GOBIN="$work/gobin" \
  GOMODCACHE="$modcache" GOCACHE="$buildcache" GOFLAGS= GOTOOLCHAIN=local \
  PATH="$goroot/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  TMPDIR="${TMPDIR:-/tmp}" CI=true LANG=C.UTF-8 \
  bash .ci/run </dev/null
rc=$?
set -e
echo "fresh-ci: .ci/run exited $rc after $((SECONDS-start))s" >&2
exit "$rc"
