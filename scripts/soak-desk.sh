#!/usr/bin/env bash
# The desk's long reliability runs (outside CI; CI runs the same tests small): the tests
# of crates/ito-desk/tests/reliability at full size, one at a time, printing their
# figures for the README's reliability table.
#
#   links     1 000 payment links under 30 % 503s, 30 % dropped connections, 20 ms and
#             10 % of answers lost, the desk's services restarted 5 times mid-flight
#   webhooks  1 000 webhook deliveries while the listener process is SIGKILLed 10 times
#             and `ito-sandbox serve` 3 times
#   crashes   100 SIGKILLs of the desk during webhook deliveries, link creation, exports
#             and directory imports, each followed by integrity_check and the acknowledged rows
#
# Usage: scripts/soak-desk.sh [links|webhooks|crashes]...   (default: all three)
#   Sizes: DESK_SOAK_LINKS, DESK_SOAK_RESTARTS, DESK_SOAK_EVENTS, DESK_SOAK_LISTENER_KILLS,
#   DESK_SOAK_SANDBOX_KILLS, DESK_SOAK_CRASHES; DESK_SOAK_SEED sets the kill schedule.
set -euo pipefail
cd "$(dirname "$0")/.."

export DESK_SOAK_LINKS=${DESK_SOAK_LINKS:-1000}
export DESK_SOAK_RESTARTS=${DESK_SOAK_RESTARTS:-5}
export DESK_SOAK_EVENTS=${DESK_SOAK_EVENTS:-1000}
export DESK_SOAK_LISTENER_KILLS=${DESK_SOAK_LISTENER_KILLS:-10}
export DESK_SOAK_SANDBOX_KILLS=${DESK_SOAK_SANDBOX_KILLS:-3}
export DESK_SOAK_CRASHES=${DESK_SOAK_CRASHES:-100}
export DESK_SOAK_SEED=${DESK_SOAK_SEED:-15}

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(links webhooks crashes)
filters=()
for s in "${scenarios[@]}"; do
  case "$s" in
    links) filters+=(payment_links_under_faults_and_restarts_are_created_exactly_once) ;;
    webhooks) filters+=(webhooks_land_once_while_the_listener_and_the_sandbox_are_killed) ;;
    crashes) filters+=(the_database_survives_sigkill_with_every_acknowledged_row) ;;
    *) echo "unknown scenario: $s (links, webhooks or crashes)" >&2; exit 2 ;;
  esac
done

echo "--- building the sandbox and the tests"
cargo build --locked -p ito-sandbox --bin ito-sandbox --quiet
cargo test --locked -p ito-desk --test reliability --no-run --quiet

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for f in "${filters[@]}"; do
  echo "--- $f (seed $DESK_SOAK_SEED)"
  if cargo test --locked -p ito-desk --test reliability --quiet -- --nocapture --exact "$f" >"$log" 2>&1; then
    grep '^figures' "$log"
  else
    status=1
    grep -A12 'panicked' "$log" || tail -40 "$log"
  fi
done
exit "$status"
