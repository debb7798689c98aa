#!/usr/bin/env bash
# Compares the module's public API with the one recorded in api/v1.export (written by
# `make api` at the commit that fixed API v1). Any difference fails: a change to the public API
# is made on purpose, by re-running `make api` and naming the change in CHANGELOG.md.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$(go list -m)
base=api/v1.export
if [ ! -f "$base" ]; then
	echo "apicheck: $base is missing; run make api" >&2
	exit 1
fi
report=$(go tool apidiff -m "$base" "$module")
if [ -n "$report" ]; then
	echo "apicheck: the public API differs from $base:" >&2
	echo "$report" >&2
	echo "apicheck: if the change is meant, run make api and name it in CHANGELOG.md" >&2
	exit 1
fi
echo "apicheck: public API matches $base"
