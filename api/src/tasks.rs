//! The background tasks every server runs. Each is a loop that runs its work at its turn, logs a
//! failed run and tries again at the next turn — a task never ends on an error — and records on
//! `/metrics` when it last succeeded (`canyu_task_last_success_seconds{task}`) and how often it
//! failed (`canyu_task_failures_total{task}`).
//!
//! | task | turn | work |
//! |---|---|---|
//! | `notification_fan_out` | woken after a commit that recorded a fan-out, else every 5 s | every chunk of waiting notification fan-outs |
//! | `rate_limit_purge` | every minute | forget ended rate-limit windows |
//! | `tally_history_trim` | hourly | drop listing-snapshot history older than the cursor horizon |
//! | `sync_tombstone_purge` | hourly | purge sync tombstones older than the horizon |
//! | `decision_poll_settle` | about every minute, the first half a minute after start | fix the winners of decision votes whose close passed unread |

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::AppResult;
use crate::services::{decision_polls, notifications, suggestions};
use crate::state::AppState;

/// How often the fan-out looks for work it was not woken for (another replica's, or work a
/// restart left).
const FAN_OUT_POLL: Duration = Duration::from_secs(5);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// Starts every background task of `state`'s server.
pub fn spawn_all(state: &AppState) {
    spawn(
        state,
        "notification_fan_out",
        FAN_OUT_POLL,
        Some(state.fan_out.clone()),
        |state| async move {
            while notifications::fan_out_chunk(&state).await? {}
            Ok(())
        },
    );
    spawn(
        state,
        "rate_limit_purge",
        MINUTE,
        None,
        |state| async move { state.rate_limits.purge().await.map(|_| ()) },
    );
    spawn(
        state,
        "tally_history_trim",
        HOUR,
        None,
        |state| async move {
            suggestions::purge_tally_history(&state.db)
                .await
                .map(|_| ())
        },
    );
    spawn(
        state,
        "decision_poll_settle",
        Duration::from_secs(30),
        None,
        // Its first look waits, so a starting server does no work it was not asked for.
        |state| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            decision_polls::settle_due(&state).await.map(|_| ())
        },
    );
    spawn(
        state,
        "sync_tombstone_purge",
        HOUR,
        None,
        |state| async move { crate::sync::compact(&state).await.map(|_| ()) },
    );
}

/// Runs `work` now and then at every turn: every `period`, or sooner when `wake` is notified.
fn spawn<F, Fut>(
    state: &AppState,
    name: &'static str,
    period: Duration,
    wake: Option<Arc<Notify>>,
    work: F,
) where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: Future<Output = AppResult<()>> + Send + 'static,
{
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            match work(state.clone()).await {
                Ok(()) => state.metrics.task_succeeded(name),
                Err(err) => {
                    state.metrics.task_failed(name);
                    tracing::warn!(task = name, error = %err, "a background task failed; it runs again at its next turn");
                }
            }
            match &wake {
                Some(wake) => {
                    tokio::select! {
                        () = wake.notified() => {}
                        () = tokio::time::sleep(period) => {}
                    }
                }
                None => tokio::time::sleep(period).await,
            }
        }
    });
}
