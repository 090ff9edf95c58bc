//! Pull cursors: signed cursors (see `pagination.rs`) with the database's key, so they cannot
//! be forged. A cursor holds the database epoch, the stream position `(seq, op_index)`, the seq
//! through which acks were given, the scopes the device holds, and the backfills in progress.

use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::pagination::{claimed_payload, sign_cursor, verify_cursor};

/// A scope being backfilled: its live rows at or before `upto`, after `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    pub scope: String,
    pub upto: (i64, i32),
    pub after: (i64, i32),
}

/// Where a device stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub epoch: String,
    /// The last `(seq, op_index)` of the change stream delivered.
    pub position: (i64, i32),
    /// Every change with a seq at or below this has been delivered; acks were given up to it.
    pub acked: i64,
    /// Tombstones at or below this seq are not sent (the device never had those rows).
    pub initial_until: i64,
    pub scopes: Vec<String>,
    pub backfills: Vec<Backfill>,
}

impl Cursor {
    /// A fresh cursor of a first sync against `epoch` whose head is `head`.
    pub fn first(epoch: &str, head: i64) -> Self {
        Cursor {
            epoch: epoch.to_string(),
            position: (0, -1),
            acked: 0,
            initial_until: head,
            scopes: Vec::new(),
            backfills: Vec::new(),
        }
    }

    /// The signed cursor text (see [`crate::pagination::sign_cursor`]).
    pub fn encode(&self, key: &str) -> AppResult<String> {
        sign_cursor(self, key)
    }

    /// The epoch a cursor claims, unverified: a cursor of another database is signed with
    /// another key, so it is recognised by its epoch before any signature check (and only ever
    /// leads to a reset).
    pub fn claimed_epoch(text: &str) -> AppResult<String> {
        claimed_payload::<Cursor>(text, "cursor").map(|cursor| cursor.epoch)
    }

    /// Checks the signature and decodes; anything else is BAD_USER_INPUT.
    pub fn decode(text: &str, key: &str) -> AppResult<Self> {
        verify_cursor(text, key, "cursor")
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let mut cursor = Cursor::first("epoch-1", 42);
        cursor.scopes.push("user:x".into());
        let text = cursor.encode("key").unwrap();
        assert_eq!(Cursor::decode(&text, "key").unwrap(), cursor);
        assert!(Cursor::decode(&text, "other key").is_err());
        let (body, signature) = text.split_once('.').unwrap();
        let mut forged = cursor.clone();
        forged.position = (1_000, 0);
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(Cursor::decode(&format!("{forged_body}.{signature}"), "key").is_err());
        assert!(Cursor::decode(body, "key").is_err());
        assert!(Cursor::decode("garbage", "key").is_err());
    }
}
