#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 5s).
set -euo pipefail
time=${1:-5s}
cd "$(dirname "$0")/.."
found=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    found=$((found+1))
    echo "fuzz ${dir#./} ${target} for ${time}"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$time" "./${dir#./}" >/tmp/fuzz.$$.log 2>&1 || { cat /tmp/fuzz.$$.log; exit 1; }
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' . | sort)
echo "fuzz: ${found} targets ran for ${time} each"
