//! Anonymous answers kept whole. An anonymous query's answer turns only on the request, the
//! data and the time, so a server keeps the bytes it sent and sends them again for the same
//! request (the same body or query string, the same media type) while both hold:
//!
//! - nothing has been committed to the database since the answer was computed, by this server
//!   or any other: a request asked before reads the database's state token
//!   ([`crate::db::StateToken`]) before it looks, and an answer is kept under the token read
//!   before it was computed. A request never asked before reads none (a document refused by the
//!   limits, or one never repeated, costs no statement): its answer is kept with no token, which
//!   no state matches, so the second asking computes it again under a token and the third is
//!   sent it;
//! - the answer is younger than `ANSWER_CACHE_MAX_AGE_MS` by the server's clock, for what turns
//!   on the time alone (a poll closing at its hour).
//!
//! An answer is kept only when computing it took longer than reading the token has lately taken
//! (the reads' average, which falls at once to a faster read and rises by an eighth of a slower
//! one): an answer that costs less — `{ __typename }`, anything that reads no data — is computed
//! every time rather than checked against the database. Such an answer is asked about again at
//! most once a second ([`RECHECK`]): only a kept key reads the token, so one slow read (the
//! first, opening a connection) must not leave an answer judged cheap computed for ever.
//!
//! Signed-in and partner callers (whose answers are their own), mutations, subscriptions and
//! answers with any error are never kept. The kept bytes are bounded by `ANSWER_CACHE_BYTES`
//! (least recently used go first; 0 keeps nothing).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use chrono::{DateTime, Duration, Utc};
use lru::LruCache;
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::db::StateToken;

/// The anonymous answers one server keeps.
pub struct Answers {
    kept: Mutex<Kept>,
    budget: usize,
    max_age: Duration,
    token: StateToken,
    /// What reading the token has lately taken, in nanoseconds (0 before the first read).
    token_cost: AtomicU64,
}

struct Kept {
    entries: LruCache<Bytes, Answer>,
    bytes: usize,
    /// Keys (by hash) whose answers were judged cheaper than a token read, and when.
    cheap: LruCache<u64, DateTime<Utc>>,
}

/// How long an answer judged cheaper than a token read is computed before a request for it
/// reads the token again (and so measures the token afresh and judges the answer again).
pub const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// How many keys judged cheap are remembered (least recently used go first).
const CHEAP_KEYS: std::num::NonZeroUsize = std::num::NonZeroUsize::new(4096).unwrap();

fn hashed(key: &Bytes) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// One kept answer: what was sent, and the state (none when unread) and time it was computed at.
#[derive(Clone)]
pub struct Answer {
    pub token: Option<String>,
    pub at: DateTime<Utc>,
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
}

impl Answer {
    fn bytes(&self, key: &Bytes) -> usize {
        key.len() + self.body.len() + self.token.as_ref().map_or(0, String::len)
    }
}

impl Answers {
    /// Answers kept for the database of `config`, within its budget and age.
    pub fn new(config: &Config) -> Self {
        Answers {
            kept: Mutex::new(Kept {
                entries: LruCache::unbounded(),
                bytes: 0,
                cheap: LruCache::new(CHEAP_KEYS),
            }),
            budget: config.answer_cache_bytes,
            max_age: Duration::from_std(config.answer_cache_max_age).unwrap_or(Duration::zero()),
            token: StateToken::new(&config.database_url),
            token_cost: AtomicU64::new(0),
        }
    }

    /// Whether answers are kept at all (`ANSWER_CACHE_BYTES` is not 0).
    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// Whether a request for `key` at `now` reads the token: an answer is kept for it, at any
    /// state, or it was judged cheap at least [`RECHECK`] ago (then not again for as long).
    pub fn known(&self, key: &Bytes, now: DateTime<Utc>) -> bool {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.entries.contains(key) {
            return true;
        }
        let recheck = Duration::from_std(RECHECK).unwrap_or(Duration::zero());
        match kept.cheap.get_mut(&hashed(key)) {
            Some(judged) if now - *judged >= recheck => {
                *judged = now;
                true
            }
            _ => false,
        }
    }

    /// The database's state token now, if it has one (an error here means the request runs as
    /// usual and meets the error itself).
    pub async fn token(&self, db: &DatabaseConnection) -> Option<String> {
        let started = Instant::now();
        let token = self.token.read(db).await.ok().flatten();
        self.token_read(started.elapsed());
        token
    }

    /// Counts a token read that took `took` in what reading the token lately takes: a faster
    /// read than that is taken at once, a slower one for an eighth (updates racing each other
    /// lose one).
    fn token_read(&self, took: std::time::Duration) {
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let before = self.token_cost.load(Ordering::Relaxed);
        let average = if before == 0 || took < before {
            took
        } else {
            before - before / 8 + took / 8
        };
        self.token_cost.store(average.max(1), Ordering::Relaxed);
    }

    /// The answer kept for `key` if it was computed at `token` and is younger than the max age
    /// at `now`.
    pub fn get(&self, key: &Bytes, token: &str, now: DateTime<Utc>) -> Option<Answer> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let answer = kept.entries.get(key)?;
        let age = now - answer.at;
        (answer.token.as_deref() == Some(token) && age >= Duration::zero() && age < self.max_age)
            .then(|| answer.clone())
    }

    /// Keeps `answer` for `key`, computed in `cost`, dropping the least recently used answers
    /// beyond the budget. An answer that cost no more than reading the token lately takes, or
    /// larger than an eighth of the budget, is not kept (and one kept before for `key` goes).
    pub fn keep(&self, key: Bytes, answer: Answer, cost: std::time::Duration) {
        let size = answer.bytes(&key);
        let cheap = cost.as_nanos() <= u128::from(self.token_cost.load(Ordering::Relaxed));
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = kept.entries.pop(&key) {
            kept.bytes -= old.bytes(&key);
        }
        if cheap {
            kept.cheap.put(hashed(&key), answer.at);
            return;
        }
        kept.cheap.pop(&hashed(&key));
        if size > self.budget / 8 {
            return;
        }
        while kept.bytes + size > self.budget {
            let Some((old_key, old)) = kept.entries.pop_lru() else {
                break;
            };
            kept.bytes -= old.bytes(&old_key);
        }
        kept.bytes += size;
        kept.entries.put(key, answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(budget: &str) -> Answers {
        let config = Config::from_lookup(|name| match name {
            "ANSWER_CACHE_BYTES" => Some(budget.to_string()),
            _ => None,
        })
        .unwrap();
        Answers::new(&config)
    }

    const SLOW: std::time::Duration = std::time::Duration::from_millis(5);

    fn answer(token: &str, at: DateTime<Utc>, body: usize) -> Answer {
        Answer {
            token: Some(token.into()),
            at,
            status: StatusCode::OK,
            content_type: "application/json",
            body: Bytes::from(vec![b'x'; body]),
        }
    }

    #[test]
    fn the_least_recently_used_answers_go_once_the_budget_is_spent() {
        let kept = answers("8000");
        let now = Utc::now();
        let (a, b, c) = (Bytes::from("a"), Bytes::from("b"), Bytes::from("c"));
        kept.keep(a.clone(), answer("t", now, 498), SLOW);
        kept.keep(b.clone(), answer("t", now, 498), SLOW);
        assert!(kept.get(&a, "t", now).is_some(), "a is now the most recent");
        // a and b weigh 500 bytes each, the others 501: fourteen more spend the budget and push
        // b, the least recently used, out.
        for n in 0..14 {
            kept.keep(Bytes::from(format!("k{n:02}")), answer("t", now, 497), SLOW);
        }
        assert!(kept.get(&b, "t", now).is_none());
        assert!(kept.get(&a, "t", now).is_some());
        let held = kept.kept.lock().unwrap().bytes;
        assert!(held <= 8000, "{held} bytes held");
        // Larger than an eighth of the budget: not kept at all.
        kept.keep(c.clone(), answer("t", now, 1001), SLOW);
        assert!(kept.get(&c, "t", now).is_none());
        // Another token, none, or an old answer is not sent.
        assert!(kept.get(&a, "u", now).is_none());
        kept.keep(
            c.clone(),
            Answer {
                token: None,
                ..answer("t", now, 10)
            },
            SLOW,
        );
        assert!(kept.known(&c, now));
        assert!(kept.get(&c, "t", now).is_none());
        assert!(kept.get(&a, "t", now + Duration::seconds(1)).is_none());
        assert!(kept.get(&a, "t", now - Duration::seconds(1)).is_none());
    }

    #[test]
    fn an_answer_cheaper_than_reading_the_token_is_not_kept() {
        let kept = answers("8000");
        let now = Utc::now();
        let key = Bytes::from("typename");
        kept.token_cost.store(200_000, Ordering::Relaxed);
        kept.keep(key.clone(), answer("t", now, 10), SLOW);
        assert!(kept.known(&key, now));
        // Computed again in less than the token's 0.2 ms: the kept one goes, none replaces it.
        kept.keep(
            key.clone(),
            answer("t", now, 10),
            std::time::Duration::from_micros(50),
        );
        assert!(!kept.known(&key, now));
        assert_eq!(kept.kept.lock().unwrap().bytes, 0);
    }

    /// One slow token read (the first, opening a connection, say) judges an answer cheap; a
    /// request for it reads the token again a second later, a faster read is taken at once, and
    /// the answer is kept from then on.
    #[test]
    fn a_slow_token_read_leaves_no_answer_computed_for_ever() {
        let kept = answers("8000");
        let now = Utc::now();
        let key = Bytes::from("listing");
        kept.token_read(std::time::Duration::from_millis(10));
        kept.keep(key.clone(), answer("t", now, 10), SLOW / 2);
        assert!(
            !kept.known(&key, now),
            "2.5 ms is cheaper than the 10 ms read"
        );
        assert!(!kept.known(&key, now + Duration::milliseconds(900)));
        assert!(
            kept.known(&key, now + Duration::seconds(1)),
            "asked about again"
        );
        assert!(
            !kept.known(&key, now + Duration::milliseconds(1200)),
            "once a second at most"
        );
        kept.token_read(std::time::Duration::from_micros(300));
        assert_eq!(kept.token_cost.load(Ordering::Relaxed), 300_000);
        let later = now + Duration::seconds(1);
        kept.keep(key.clone(), answer("t", later, 10), SLOW / 2);
        assert!(kept.known(&key, later));
        assert!(kept.get(&key, "t", later).is_some());
    }

    /// What reading the token lately takes falls at once to a faster read and rises by an
    /// eighth of a slower one.
    #[test]
    fn the_token_cost_falls_at_once_and_rises_slowly() {
        let kept = answers("8000");
        kept.token_read(std::time::Duration::from_micros(800));
        assert_eq!(kept.token_cost.load(Ordering::Relaxed), 800_000);
        kept.token_read(std::time::Duration::from_micros(1600));
        assert_eq!(kept.token_cost.load(Ordering::Relaxed), 900_000);
        kept.token_read(std::time::Duration::from_micros(200));
        assert_eq!(kept.token_cost.load(Ordering::Relaxed), 200_000);
    }
}
