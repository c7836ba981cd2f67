//! Reliability of the desk under faults, crashes and bad input, against the real
//! parts: the sandbox over HTTP on 127.0.0.1 (in this process, or `ito-sandbox serve`
//! when it is to be killed), SQLite on disk, the desk's services in this process or in
//! the desk harness process (`src/bin/desk-harness.rs`) when they are to be killed.
//!
//! CI runs short versions; `scripts/soak-desk.sh` runs the full counts through the
//! `DESK_SOAK_*` variables and prints the figures the README's reliability table quotes.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod crashes;
mod links;
mod support;
mod webhooks;

use support::{count, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_links_under_faults_and_restarts_are_created_exactly_once() {
    links::links_under_faults(
        count("DESK_SOAK_LINKS", 60),
        count("DESK_SOAK_RESTARTS", 2),
        seed(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_land_once_while_the_listener_and_the_sandbox_are_killed() {
    webhooks::webhooks_under_kills(
        count("DESK_SOAK_EVENTS", 60),
        count("DESK_SOAK_LISTENER_KILLS", 3),
        count("DESK_SOAK_SANDBOX_KILLS", 1),
        seed(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_survives_sigkill_with_every_acknowledged_row() {
    crashes::crashes(count("DESK_SOAK_CRASHES", 10), seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_webhooks_get_clear_errors_and_nothing_is_lost() {
    bad_input::webhook_bodies().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_while_webhooks_keep_landing() {
    bad_input::slow_clients().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_base_urls_are_refused_and_a_stored_one_fails_clearly() {
    bad_input::base_urls().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_answering_html_or_too_much_gives_a_clear_error() {
    bad_input::broken_gateways().await;
}
