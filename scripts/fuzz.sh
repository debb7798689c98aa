#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 5s), one target at a
# time (go test -fuzz takes one target and one package per run), and prints the total time.
set -euo pipefail
time=${1:-5s}
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
found=0
start=$SECONDS
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    found=$((found+1))
    t0=$SECONDS
    # Go's fuzzer can end a short run with "context deadline exceeded" when a worker misses the
    # run's own deadline on a loaded machine; that is not a finding (a finding writes its input
    # to testdata/fuzz), so such a run is tried again, twice at most.
    for try in 1 2 3; do
      if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$time" "./${dir#./}" >"$log" 2>&1; then
        break
      fi
      if [ "$try" -lt 3 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "fuzz ${dir#./} ${target}: the run missed its own deadline; trying again"
        continue
      fi
      cat "$log"
      exit 1
    done
    echo "fuzz ${dir#./} ${target}: ${time} ($((SECONDS-t0))s with the build)"
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' . | grep -v '/testdata/' | sort)
if [ "$found" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi
echo "fuzz: ${found} targets ran for ${time} each, $((SECONDS-start))s in all"
