//! Server time. Every rule that turns on the time of day — daily caps on growth points,
//! sanctions that end by themselves — asks [`now`]. In production that is the system clock; a
//! test may stop its server's clock at a chosen instant ([`Clock::set`], through
//! `AppState::clock`) and move it, so day boundaries and expiry are tested without sleeping.
//! The clock of the server that runs an operation is in scope for it ([`Clock::scope`]).

use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A server's clock: the system's, unless a test has set it.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Arc<Mutex<Option<DateTime<Utc>>>>,
}

tokio::task_local! {
    static CLOCK: Clock;
}

impl Clock {
    /// The time on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.read().unwrap_or_else(Utc::now)
    }

    /// Stops the clock at `at` (tests).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.manual.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    /// Moves the clock by `by`, stopping it where it was if it ran (tests).
    pub fn advance(&self, by: Duration) {
        let at = self.now() + by;
        self.set(at);
    }

    /// Runs `work` with this clock as [`now`].
    pub fn scope<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        CLOCK.scope(self.clone(), work)
    }

    fn read(&self) -> Option<DateTime<Utc>> {
        *self.manual.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The time by the clock of the server running this operation (the system clock outside one).
pub fn now() -> DateTime<Utc> {
    CLOCK.try_with(Clock::now).unwrap_or_else(|_| Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_set_clock_is_now_inside_its_scope_only() {
        let clock = Clock::default();
        let at = DateTime::parse_from_rfc3339("2026-03-01T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        clock.set(at);
        assert_eq!(clock.scope(async { now() }).await, at);
        clock.advance(Duration::seconds(2));
        assert_eq!(
            clock.scope(async { now() }).await,
            at + Duration::seconds(2)
        );
        assert!(now() > at + Duration::days(200));
    }
}
