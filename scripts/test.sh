#!/usr/bin/env bash
# Runs every test stage on one build: UI checks and unit tests, the Rust workspace
# tests (with the real Secret Service in a private D-Bus session), and the app's
# end-to-end tests in a real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

if [ -f ui/package.json ]; then
  echo "--- ui: svelte-check, eslint, vitest, build"
  (cd ui && npm run check && npm run lint && npm test && npm run build)
fi

echo "--- rust: build every test target once"
cargo test --workspace --locked --no-run

echo "--- rust: tests"
if [ -f scripts/with-keyring.sh ]; then
  dbus-run-session -- sh scripts/with-keyring.sh cargo test --workspace --locked
else
  cargo test --workspace --locked
fi

if [ -x scripts/e2e.sh ]; then
  echo "--- app: end-to-end in a real window"
  scripts/e2e.sh
fi
