#!/bin/sh
# End-to-end tests of the real app window: builds the UI, the app and the sandbox
# binary, then drives the app through tauri-driver + WebKitWebDriver under Xvfb, inside
# a private D-Bus session with an unlocked gnome-keyring. Screenshots go to artifacts/e2e/.
# Needs what `scripts/setup.sh --test` installs.
set -eu
cd "$(dirname "$0")/.."

export TAURI_DRIVER="${TAURI_DRIVER:-$PWD/.tools/bin/tauri-driver}"
[ -x "$TAURI_DRIVER" ] || { echo "e2e: tauri-driver missing; run scripts/setup.sh --test" >&2; exit 2; }
command -v WebKitWebDriver >/dev/null 2>&1 || { echo "e2e: WebKitWebDriver missing (apt-get install webkit2gtk-driver)" >&2; exit 2; }

[ "${E2E_SKIP_UI_BUILD:-0}" = 1 ] || npm --prefix ui run build --silent
# The whole workspace, as scripts/test.sh builds it: the same feature set reuses its artifacts.
cargo build --workspace --bins --locked
rm -rf artifacts/e2e

xvfb-run -a -s '-screen 0 1280x800x24' \
    dbus-run-session -- sh scripts/with-keyring.sh \
    cargo test --workspace --locked --test desktop --test payment-link --test user-screens --test kyc-screens --test user-cards --test secrets -- --ignored --test-threads=1 "$@"
