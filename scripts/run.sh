#!/usr/bin/env bash
# Sets up a fresh machine (idempotently), builds the UI and starts ITO Merchant Desk.
# On first start the app runs the gateway sandbox in-process with a demo merchant, so it
# needs no account and no network. `scripts/run.sh --sandbox` starts only the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${1:-}" = "--sandbox" ]; then
  shift
  exec cargo run --release -p ito-sandbox -- serve "$@"
fi
npm --prefix ui run build --silent
exec cargo run -p ito-merchant-desk -- "$@"
