#!/bin/sh
# The KYC draft benchmark: the app started through tauri-driver under Xvfb with an
# unlocked keyring; 1 000 edits of one KYC field from the window over IPC, each answered
# once committed, against 1 000 bare SQLite commits of the same row in the same file.
# Prints p50 and p99 of both and their ratio. Needs what `scripts/setup.sh --test`
# installs. BENCH_PROFILE=debug reuses the tests' build instead of a release one.
set -eu
cd "$(dirname "$0")/.."

export TAURI_DRIVER="${TAURI_DRIVER:-$PWD/.tools/bin/tauri-driver}"
[ -x "$TAURI_DRIVER" ] || { echo "bench-kyc: tauri-driver missing; run scripts/setup.sh --test" >&2; exit 2; }

[ "${BENCH_SKIP_UI_BUILD:-0}" = 1 ] || npm --prefix ui run build --silent
profile="${BENCH_PROFILE:-release}"
flag=""
[ "$profile" = release ] && flag="--release"
cargo build $flag --locked -p ito-merchant-desk
cargo build --locked -p ito-desk-e2e --bin bench-kyc

BENCH_PROFILE="$profile" xvfb-run -a -s '-screen 0 1280x800x24' \
    dbus-run-session -- sh scripts/with-keyring.sh \
    "${CARGO_TARGET_DIR:-target}/debug/bench-kyc"
