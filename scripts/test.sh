#!/usr/bin/env bash
# Runs every test stage on one build: UI checks and unit tests (in parallel with the
# Rust build), the Rust workspace tests with the real Secret Service in a private D-Bus
# session and the real clipboard of an Xvfb display, and the app's end-to-end tests in
# a real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
mkdir -p artifacts

echo "--- ui: build (the app embeds it at compile time)"
npm --prefix ui run build --silent

echo "--- ui: svelte-check, eslint, vitest (in the background)"
( cd ui && npm run check && npm run lint && npm test ) > artifacts/ui-tests.log 2>&1 &
ui=$!

echo "--- rust: build every target once"
cargo build --workspace --locked --bins
cargo test --workspace --locked --no-run

ui_status=0
wait "$ui" || ui_status=$?
cat artifacts/ui-tests.log
[ "$ui_status" -eq 0 ] || { echo "ui checks failed" >&2; exit "$ui_status"; }

echo "--- rust: tests (an X display for the clipboard tests)"
xvfb-run -a dbus-run-session -- sh scripts/with-keyring.sh cargo test --workspace --locked
scripts/schemathesis.sh --binary "${CARGO_TARGET_DIR:-target}/debug/ito-sandbox"  # the OpenAPI documents every answer

echo "--- app: end-to-end in a real window"
E2E_SKIP_UI_BUILD=1 scripts/e2e.sh
