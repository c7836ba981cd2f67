#!/usr/bin/env bash
# The long fuzz pass (outside CI): every proptest fuzz target of the sandbox and the SDK
# (`fuzz::fuzz_*` in crates/ito-sandbox/src/fuzz.rs and crates/ito-api/src/fuzz.rs) with
# enough inputs for a million in all, on a fresh random seed, in the test profile so that
# integer overflow panics as it would in a debug build. Prints the inputs and panics per
# target, the total and the time; exits non-zero when anything panicked.
#
# Usage: scripts/fuzz.sh [--inputs TOTAL] [--seed N]
#   A failure prints the smallest input found and the seed: rerun with --seed to repeat it.
set -euo pipefail
cd "$(dirname "$0")/.."

total=1000000
seed=$(( (RANDOM << 30) | (RANDOM << 15) | RANDOM ))
while [ $# -gt 0 ]; do
  case "$1" in
    --inputs) total=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

packages=(-p ito-sandbox -p ito-api)
echo "--- building the fuzz targets"
cargo test --locked "${packages[@]}" --lib --no-run --quiet
targets=$(cargo test --locked "${packages[@]}" --lib --quiet -- --list 'fuzz::fuzz_' 2>/dev/null | grep -c ': test$')
per_target=$(( (total + targets - 1) / targets ))
echo "--- $targets targets, $per_target inputs each, seed $seed"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s%N)
status=0
PROPTEST_CASES=$per_target PROPTEST_RNG_SEED=$seed RUST_BACKTRACE=0 \
  cargo test --locked "${packages[@]}" --lib --quiet -- --nocapture --test-threads 2 'fuzz::fuzz_' \
  >"$log" 2>&1 || status=$?
end=$(date +%s%N)

echo
printf '%-45s %12s %8s\n' "target" "inputs" "panics"
# Test progress dots may share a line with a target's report.
grep -o 'fuzz target .*' "$log" | sed 's/^fuzz target \(.*\): \([0-9]*\) inputs, \([0-9]*\) panics\{0,1\}$/\1\t\2\t\3/' |
  awk -F'\t' '{ printf "%-45s %12d %8d\n", $1, $2, $3; inputs += $2; panics += $3 }
              END { printf "%-45s %12d %8d\n", "total", inputs, panics }'
awk -v ns=$((end - start)) -v seed="$seed" 'BEGIN { printf "time: %.1f s (seed %s)\n", ns / 1e9, seed }'

if [ "$status" -ne 0 ]; then
  echo
  echo "--- failures (smallest inputs found):"
  grep -A12 'minimal failing input' "$log" || tail -40 "$log"
  exit "$status"
fi
