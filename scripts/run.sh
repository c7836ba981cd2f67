#!/usr/bin/env bash
# Sets up a fresh machine (idempotently) and starts the local gateway sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --release -p ito-sandbox -- serve "$@"
