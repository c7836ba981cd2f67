#!/bin/sh
# The app benchmark: release builds of the app and of a blank Tauri window, both
# started through tauri-driver under Xvfb with an unlocked keyring; prints start to
# Overview-with-data against the blank window, idle PSS of each, and the UI bundle size.
set -eu
cd "$(dirname "$0")/.."

export TAURI_DRIVER="${TAURI_DRIVER:-$PWD/.tools/bin/tauri-driver}"
[ -x "$TAURI_DRIVER" ] || { echo "bench-app: tauri-driver missing; run scripts/setup.sh --test" >&2; exit 2; }

[ "${BENCH_SKIP_UI_BUILD:-0}" = 1 ] || npm --prefix ui run build --silent
profile="${BENCH_PROFILE:-release}"
flag=""
[ "$profile" = release ] && flag="--release"
cargo build $flag -p ito-merchant-desk -p blank-window
cargo build --release -p ito-desk-e2e --bin bench-app

BENCH_PROFILE="$profile" xvfb-run -a -s '-screen 0 1280x800x24' \
    dbus-run-session -- sh scripts/with-keyring.sh \
    "${CARGO_TARGET_DIR:-target}/release/bench-app"
