#!/usr/bin/env bash
# The Users screens' backend benchmark (crates/ito-desk/examples/users_bench.rs, release
# build): the list's first page (open, sort, tab, filter, search) over 100 000 local users
# against the same over 100; a user's first page of transactions through the desk's
# service against the bare SDK call; a CSV export of 100 000 transactions against a bare
# SDK cursor walk. Each figure is printed beside its baseline from the same run, with
# the ratio, the aim and whether it is met. No keyring or display needed (mock keyring,
# sandbox in-process). Takes about two minutes once built.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run --release --locked -p ito-desk --example users_bench "$@"
