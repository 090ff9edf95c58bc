//! Pull cursors: signed cursors (see `pagination.rs`) with the database's key, so they cannot
//! be forged. A cursor holds its format, the database epoch, the stream position
//! `(seq, op_index)`, the seq through which acks were given, the digest of the set of scopes the
//! device holds (the scopes themselves are kept once in `sync_scope_set`, so a cursor does not
//! grow with the communities its user joins), and the backfills in progress.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::pagination::{claimed_payload, sign_cursor, verify_cursor};

/// The layout of the cursors this server writes. A cursor it signed in another layout (before
/// scope sets) is not refused: the device is told to reset, and pulls on from the beginning.
pub const FORMAT: u32 = 2;

/// The scopes gained at one pull, backfilled one after another in the order of their set: the
/// live rows of the scope at `next` at or before `upto`, after `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The digest of the gained scopes' set.
    pub set: String,
    /// The position in that set of the scope being backfilled.
    pub next: usize,
    pub upto: (i64, i32),
    pub after: (i64, i32),
}

/// Where a device stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub format: u32,
    pub epoch: String,
    /// The last `(seq, op_index)` of the change stream delivered.
    pub position: (i64, i32),
    /// Every change with a seq at or below this has been delivered; acks were given up to it.
    pub acked: i64,
    /// Tombstones at or below this seq are not sent (the device never had those rows).
    pub initial_until: i64,
    /// The digest of the set of scopes the device holds; none before its first page.
    pub scope_set: Option<String>,
    pub backfills: Vec<Backfill>,
}

/// What is read of a cursor before its signature is checked.
#[derive(Deserialize)]
struct Claimed {
    epoch: String,
}

impl Cursor {
    /// A fresh cursor of a first sync against `epoch` whose head is `head`.
    pub fn first(epoch: &str, head: i64) -> Self {
        Cursor {
            format: FORMAT,
            epoch: epoch.to_string(),
            position: (0, -1),
            acked: 0,
            initial_until: head,
            scope_set: None,
            backfills: Vec::new(),
        }
    }

    /// The digests of the scope sets this cursor names: its held scopes' and its backfills'.
    pub fn named_sets(&self) -> BTreeSet<&String> {
        self.scope_set
            .iter()
            .chain(self.backfills.iter().map(|b| &b.set))
            .collect()
    }

    /// The signed cursor text (see [`crate::pagination::sign_cursor`]).
    pub fn encode(&self, key: &str) -> AppResult<String> {
        sign_cursor(self, key)
    }

    /// The epoch a cursor claims, unverified: a cursor of another database is signed with
    /// another key, so it is recognised by its epoch before any signature check (and only ever
    /// leads to a reset).
    pub fn claimed_epoch(text: &str) -> AppResult<String> {
        claimed_payload::<Claimed>(text, "cursor").map(|cursor| cursor.epoch)
    }

    /// Checks the signature and decodes; `None` for a cursor this database signed in another
    /// [`FORMAT`]. Anything else is BAD_USER_INPUT.
    pub fn decode(text: &str, key: &str) -> AppResult<Option<Self>> {
        let value: serde_json::Value = verify_cursor(text, key, "cursor")?;
        if value.get("format").and_then(serde_json::Value::as_u64) != Some(u64::from(FORMAT)) {
            return Ok(None);
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|_| crate::error::AppError::bad_input("cursor", "invalid cursor"))
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
        cursor.scope_set = Some("digest".into());
        let text = cursor.encode("key").unwrap();
        assert_eq!(Cursor::decode(&text, "key").unwrap(), Some(cursor.clone()));
        assert!(Cursor::decode(&text, "other key").is_err());
        let (body, signature) = text.split_once('.').unwrap();
        let mut forged = cursor.clone();
        forged.position = (1_000, 0);
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(Cursor::decode(&format!("{forged_body}.{signature}"), "key").is_err());
        assert!(Cursor::decode(body, "key").is_err());
        assert!(Cursor::decode("garbage", "key").is_err());
    }

    #[test]
    fn a_cursor_signed_in_another_format_decodes_as_none() {
        let earlier = serde_json::json!({
            "epoch": "epoch-1", "position": [3, 0], "acked": 3, "initial_until": 0,
            "scopes": ["user:x"], "backfills": [],
        });
        let text = sign_cursor(&earlier, "key").unwrap();
        assert_eq!(Cursor::claimed_epoch(&text).unwrap(), "epoch-1");
        assert_eq!(Cursor::decode(&text, "key").unwrap(), None);
        assert!(Cursor::decode(&text, "other key").is_err());
    }
}
