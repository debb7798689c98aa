#!/usr/bin/env bash
# Records the module's public API: api/v1.export, the export data scripts/apicheck.sh compares
# against, and api/v1.txt, the same surface as text (one declaration per line) for review.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p api
go tool apidiff -m -w api/v1.export "$(go list -m)"
go run ./internal/cmd/apisurface > api/v1.txt
echo "wrote api/v1.export and api/v1.txt"
