#!/bin/sh
# The Payments list benchmark: a release build of the app started through tauri-driver
# under Xvfb with an unlocked keyring, its local ledger filled on disk with 100 and then
# 100 000 payments; prints the time to open the list and to search it (and the query
# behind each, over IPC) over both, with their ratio. Needs what `scripts/setup.sh --test`
# installs.
set -eu
cd "$(dirname "$0")/.."

export TAURI_DRIVER="${TAURI_DRIVER:-$PWD/.tools/bin/tauri-driver}"
[ -x "$TAURI_DRIVER" ] || { echo "bench-ledger: tauri-driver missing; run scripts/setup.sh --test" >&2; exit 2; }

[ "${BENCH_SKIP_UI_BUILD:-0}" = 1 ] || npm --prefix ui run build --silent
profile="${BENCH_PROFILE:-release}"
flag=""
[ "$profile" = release ] && flag="--release"
cargo build $flag --locked -p ito-merchant-desk
# The driver only fills the ledger and drives the window: its debug build is enough.
cargo build --locked -p ito-desk-e2e --bin bench-ledger

BENCH_PROFILE="$profile" xvfb-run -a -s '-screen 0 1280x800x24' \
    dbus-run-session -- sh scripts/with-keyring.sh \
    "${CARGO_TARGET_DIR:-target}/debug/bench-ledger"
