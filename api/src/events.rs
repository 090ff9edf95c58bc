//! Live events: "this suggestion / pricing poll / sync scope changed", published after commit
//! and delivered to `suggestionUpdated`, `pricingPollUpdated` and `syncPoke` subscribers.
//!
//! On SQLite (one process) an in-process broadcast carries them. On Postgres every event goes
//! through `NOTIFY`, and each process `LISTEN`s and re-broadcasts what it hears — its own events
//! included — so a subscriber on any replica sees a change made through any other. The events of
//! one write travel together: one `NOTIFY` payload holds them all, one per line.

use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::changes::Scope;
use crate::error::AppResult;

/// The Postgres channel events travel on.
const CHANNEL: &str = "canyu_events";
/// Events a slow subscriber may fall behind before it skips ahead.
const BUFFER: usize = 1024;
/// The most bytes of events one `NOTIFY` payload carries (Postgres takes fewer than 8 000).
const PAYLOAD_BYTES: usize = 7_000;

/// Something that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Suggestion(Uuid),
    PricingPoll(Uuid),
    /// Something in this sync scope changed: `syncPoke` subscribers holding it should pull.
    Sync(Scope),
}

impl Event {
    fn encode(self) -> String {
        match self {
            Event::Suggestion(id) => format!("suggestion:{id}"),
            Event::PricingPoll(id) => format!("pricing_poll:{id}"),
            Event::Sync(scope) => format!("sync:{scope}"),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        if let Some(scope) = payload.strip_prefix("sync:") {
            return scope.parse().ok().map(Event::Sync);
        }
        let (kind, id) = payload.split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "suggestion" => Some(Event::Suggestion(id)),
            "pricing_poll" => Some(Event::PricingPoll(id)),
            _ => None,
        }
    }
}

/// The publish/subscribe hub of one process.
#[derive(Clone)]
pub struct Events {
    sender: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        Events { sender }
    }

    /// On Postgres, starts the task that re-broadcasts notifications from every replica. The
    /// listener has its own connection, outside the pool, so it never holds a pooled one.
    pub async fn listen(&self, db: &DatabaseConnection, url: &str) -> AppResult<()> {
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let mut listener = connect_listener(url)
            .await
            .map_err(|e| crate::error::AppError::Unavailable(e.to_string()))?;
        let sender = self.sender.clone();
        let url = url.to_string();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(notification) => {
                        for event in notification.payload().lines().filter_map(Event::decode) {
                            let _ = sender.send(event);
                        }
                    }
                    Err(err) => {
                        // Events sent until the new connection listens are lost, which
                        // subscribers tolerate (the next change carries full state).
                        tracing::warn!(error = %err, "event listener interrupted");
                        listener = reconnect_listener(&url).await;
                        tracing::info!("event listener listening again");
                    }
                }
            }
        });
        Ok(())
    }

    /// Announces that `suggestion_id` changed. Call only after the change committed.
    pub async fn suggestion_updated(&self, db: &DatabaseConnection, suggestion_id: Uuid) {
        self.publish(db, [Event::Suggestion(suggestion_id)]).await;
    }

    /// Announces that `poll_id` changed. Call only after the change committed.
    pub async fn pricing_poll_updated(&self, db: &DatabaseConnection, poll_id: Uuid) {
        self.publish(db, [Event::PricingPoll(poll_id)]).await;
    }

    /// Announces a committed change in a sync scope.
    pub async fn sync_poke(&self, db: &DatabaseConnection, scope: Scope) {
        self.publish(db, [Event::Sync(scope)]).await;
    }

    /// Announces the events of one committed write. On Postgres they go in one statement: one
    /// `NOTIFY` (or, past [`PAYLOAD_BYTES`], one per that many bytes) whatever their number.
    pub async fn publish(&self, db: &DatabaseConnection, events: impl IntoIterator<Item = Event>) {
        if db.get_database_backend() != DatabaseBackend::Postgres {
            for event in events {
                let _ = self.sender.send(event);
            }
            return;
        }
        let payloads = self::payloads(events);
        if payloads.is_empty() {
            return;
        }
        let calls: Vec<String> = (0..payloads.len())
            .map(|n| format!("pg_notify($1, ${})", n + 2))
            .collect();
        let mut values = vec![CHANNEL.into()];
        values.extend(payloads.into_iter().map(Into::into));
        let statement = Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            format!("SELECT {}", calls.join(", ")),
            values,
        );
        if let Err(err) = db.execute_raw(statement).await {
            tracing::warn!(error = %err, "could not publish events");
        }
    }

    /// A stream of changes, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

/// The `NOTIFY` payloads that carry `events`: one event per line, each payload at most
/// [`PAYLOAD_BYTES`] long.
fn payloads(events: impl IntoIterator<Item = Event>) -> Vec<String> {
    let mut payloads: Vec<String> = Vec::new();
    for event in events {
        let line = event.encode();
        match payloads.last_mut() {
            Some(payload) if payload.len() + 1 + line.len() <= PAYLOAD_BYTES => {
                payload.push('\n');
                payload.push_str(&line);
            }
            _ => payloads.push(line),
        }
    }
    payloads
}

/// How long one attempt to connect the listener waits for Postgres before the next one starts.
const CONNECT_ATTEMPT: Duration = Duration::from_secs(1);
/// The pause between two failed attempts.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// A listener on [`CHANNEL`] over a connection of its own. Its pool of one connection gives up
/// after [`CONNECT_ATTEMPT`] (sqlx's default waits 30 s, backing off to 6 s between tries, so a
/// listener could come back seconds after Postgres did).
async fn connect_listener(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_ATTEMPT)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy(url)?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// A new listener, once Postgres takes connections again. The failed one is dropped rather than
/// asked again: sqlx re-connects a listener by itself only after some I/O errors (a connection
/// reset by the server, which a restart of Postgres gives, is not one of them).
async fn reconnect_listener(url: &str) -> PgListener {
    loop {
        match connect_listener(url).await {
            Ok(listener) => return listener,
            Err(err) => {
                tracing::debug!(error = %err, "event listener not connected yet");
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_one_per_line_in_payloads_postgres_takes() {
        let events: Vec<Event> = (0..500)
            .map(|n| match n % 3 {
                0 => Event::Suggestion(Uuid::now_v7()),
                1 => Event::PricingPoll(Uuid::now_v7()),
                _ => Event::Sync(Scope::User(Uuid::now_v7())),
            })
            .collect();
        let encoded = payloads(events.clone());
        assert!(encoded.len() > 1, "500 events do not fit one payload");
        assert!(encoded.iter().all(|p| p.len() <= PAYLOAD_BYTES));
        let decoded: Vec<Event> = encoded
            .iter()
            .flat_map(|p| p.lines().filter_map(Event::decode))
            .collect();
        assert_eq!(decoded, events);
        assert_eq!(payloads(Vec::new()), Vec::<String>::new());
    }
}
