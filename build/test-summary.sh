#!/usr/bin/env bash
# Sums the TRX files that `dotnet test` wrote and prints one line: "Tests: N passed, N failed, N skipped".
set -euo pipefail
dir=${1:-artifacts/test-results}
passed=0; failed=0; total=0
for trx in "$dir"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$((total + $(get total)))
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
done
echo "Tests: $passed passed, $failed failed, $((total - passed - failed)) skipped"
