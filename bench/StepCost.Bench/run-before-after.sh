#!/usr/bin/env bash
# Runs the step-cost benchmark on the code issue 14 started from ("before") and on the working tree ("after"), back to
# back for each budget (20 %, then full), each run in its own process, and writes bench/results/step-cost.{json,md}.
#
#   bench/StepCost.Bench/run-before-after.sh [--steps 16] [--out bench/results]
#
# The before code is exported from git (BASE, default the commit issue 14 branched from) into a temporary folder with this
# benchmark and its Before/ driver, and built there; nothing in the repository changes but the results.
set -euo pipefail

base="${BASE:-6b2c8f2}"
steps=16
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "Unknown argument '$1'." >&2; exit 2 ;;
  esac
done

root="$(git rev-parse --show-toplevel)"
out="${out:-$root/bench/results}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
before_commit="$(git -C "$root" rev-parse --short "$base")"
after_commit="$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src bench || echo '+changes')"

mkdir -p "$work/before" "$work/runs"
git -C "$root" archive "$base" | tar -x -C "$work/before"
cp -r "$root/bench/StepCost.Bench" "$work/before/bench/StepCost.Bench"
cp -r "$root/bench/Shared" "$work/before/bench/Shared"
rm -rf "$work/before/bench/StepCost.Bench/bin" "$work/before/bench/StepCost.Bench/obj"
dotnet build -c Release -v q "$work/before/bench/StepCost.Bench" -p:StepCostCode=before -o "$work/before-bin"
dotnet build -c Release -v q "$root/bench/StepCost.Bench" -o "$work/after-bin"

for budget in 0.2 1.0; do
  dotnet "$work/before-bin/StarKv.StepCost.Bench.dll" --run --budget "$budget" --steps "$steps" --commit "$before_commit" --out "$work/runs/before-$budget.json"
  dotnet "$work/after-bin/StarKv.StepCost.Bench.dll" --run --budget "$budget" --steps "$steps" --commit "$after_commit" --out "$work/runs/after-$budget.json"
done

dotnet "$work/after-bin/StarKv.StepCost.Bench.dll" --report "$work"/runs/*.json --out "$out"
