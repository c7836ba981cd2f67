#!/usr/bin/env bash
# The Users benchmarks, release builds. Each figure is printed beside its baseline from
# the same run.
#
#   scripts/bench-users.sh            the backend (crates/ito-desk/examples/users_bench.rs):
#       the list's first page (open, sort, tab, filter, search) over 100 000 local users
#       against the same over 100; a user's first page of transactions through the desk's
#       service against the bare SDK call; a CSV export of 100 000 transactions against a
#       bare SDK cursor walk. No keyring or display needed. About two minutes once built.
#   scripts/bench-users.sh --window   the screen (tests/e2e/src/bin/bench-users.rs): the
#       real window, through tauri-driver under Xvfb with an unlocked keyring, opening the
#       Users list and searching it over 100 000 users against the same over 100, to the
#       rows painted, and each query alone over IPC. Needs what
#       `scripts/setup.sh --test` installs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --window ]; then
  exec cargo run --release --locked -p ito-desk --example users_bench "$@"
fi

export TAURI_DRIVER="${TAURI_DRIVER:-$PWD/.tools/bin/tauri-driver}"
[ -x "$TAURI_DRIVER" ] || { echo "bench-users: tauri-driver missing; run scripts/setup.sh --test" >&2; exit 2; }
[ "${BENCH_SKIP_UI_BUILD:-0}" = 1 ] || npm --prefix ui run build --silent
cargo build --release --locked -p ito-merchant-desk
# The driver only fills the directory and drives the window: its debug build is enough.
cargo build --locked -p ito-desk-e2e --bin bench-users
BENCH_PROFILE=release xvfb-run -a -s '-screen 0 1280x800x24' \
    dbus-run-session -- sh scripts/with-keyring.sh \
    "${CARGO_TARGET_DIR:-target}/debug/bench-users"
