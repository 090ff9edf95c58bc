//! Paging shared by every list: Relay-style `first` (default 20, at most 100) and an opaque
//! `after` cursor. Services read a [`PageRequest`] and answer a [`Page`]; `graphql` turns a page
//! into a connection.
//!
//! Cursors come in two formats, both opaque to clients:
//!
//! - **Keyset cursors** (`base64url("c1:" + position)`, [`encode_cursor`]): lists in a fixed
//!   order (creation time then id, or id), where the position is only a starting point — the
//!   list's own filter still decides what the viewer may see, so a made-up position gains
//!   nothing. A position that does not parse is BAD_USER_INPUT.
//! - **Signed cursors** (`base64url(json) "." base64url(HMAC-SHA256)`, [`sign_cursor`]): cursors
//!   that carry server state — the suggestion listing's snapshot and its age, the sync pull's
//!   stream position and scopes. They are signed with the database's cursor key, so a forged or
//!   edited one is BAD_USER_INPUT before anything in it is used.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{ColumnTrait, Condition};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest accepted `first`.
pub const MAX_PAGE_SIZE: u64 = 100;

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to return.
    pub limit: u64,
    /// Where to continue: a decoded keyset position ([`PageRequest::new`]), or a signed cursor
    /// as given ([`PageRequest::signed`]).
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates `first` (0–100) and decodes a keyset `after`.
    pub fn new(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        let limit = page_size(first)?;
        let after = after.map(|cursor| decode_cursor(&cursor)).transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// Validates `first` and keeps a signed `after` as given, for the list that checks it.
    pub fn signed(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        Ok(PageRequest {
            limit: page_size(first)?,
            after,
        })
    }
}

/// `first` as a row count: the default when absent, 0–100 otherwise.
pub fn page_size(first: Option<i32>) -> AppResult<u64> {
    Ok(match first {
        None => DEFAULT_PAGE_SIZE,
        Some(n) if n < 0 => {
            return Err(AppError::bad_input("first", "first must not be negative"));
        }
        Some(n) if n as u64 > MAX_PAGE_SIZE => {
            return Err(AppError::bad_input(
                "first",
                format!("first must be at most {MAX_PAGE_SIZE}"),
            ));
        }
        Some(n) => n as u64,
    })
}

/// What a connection field costs in async-graphql's complexity: `first` as the page will be
/// (the default when absent, never more than the cap) times what each item costs. Every
/// connection field uses it.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let items = first.map_or(DEFAULT_PAGE_SIZE, |n| {
        n.clamp(0, MAX_PAGE_SIZE as i32) as u64
    });
    (items as usize).saturating_mul(child_complexity)
}

/// One page of a list, each item with its cursor.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from `rows` fetched with `limit + 1`: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let has_next_page = rows.len() as u64 > request.limit;
        rows.truncate(request.limit as usize);
        Page {
            items: rows
                .into_iter()
                .map(|row| (encode_cursor(&key(&row)), row))
                .collect(),
            has_next_page,
            has_previous_page: request.after.is_some(),
        }
    }
}

/// Wraps a keyset position into an opaque cursor.
pub fn encode_cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{position}"))
}

/// Unwraps a cursor made by [`encode_cursor`]; anything else is BAD_USER_INPUT.
pub fn decode_cursor(cursor: &str) -> AppResult<String> {
    let invalid = || AppError::bad_input("after", "invalid cursor");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("c1:")
        .map(str::to_string)
        .ok_or_else(invalid)
}

/// Signs `payload` into a cursor with `key`: `base64url(json).base64url(hmac)`.
pub fn sign_cursor(payload: &impl Serialize, key: &str) -> AppResult<String> {
    let json = serde_json::to_vec(payload).map_err(AppError::internal)?;
    let body = URL_SAFE_NO_PAD.encode(&json);
    let mut mac = mac(key)?;
    mac.update(body.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Ok(format!("{body}.{signature}"))
}

/// Checks a cursor made by [`sign_cursor`] and decodes its payload; a forged, edited or
/// garbled cursor is BAD_USER_INPUT naming `field`.
pub fn verify_cursor<T: DeserializeOwned>(text: &str, key: &str, field: &str) -> AppResult<T> {
    let invalid = || AppError::bad_input(field, "invalid cursor");
    let (body, signature) = text.split_once('.').ok_or_else(invalid)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
    let mut mac = mac(key)?;
    mac.update(body.as_bytes());
    mac.verify_slice(&signature).map_err(|_| invalid())?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
    serde_json::from_slice(&json).map_err(|_| invalid())
}

/// The payload a signed cursor claims, unverified: only for telling which key should have
/// signed it (a cursor of another database), never for acting on.
pub fn claimed_payload<T: DeserializeOwned>(text: &str, field: &str) -> AppResult<T> {
    let invalid = || AppError::bad_input(field, "invalid cursor");
    let (body, _) = text.split_once('.').ok_or_else(invalid)?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
    serde_json::from_slice(&json).map_err(|_| invalid())
}

fn mac(key: &str) -> AppResult<Hmac<Sha256>> {
    Hmac::<Sha256>::new_from_slice(key.as_bytes()).map_err(AppError::internal)
}

/// Which way a `(created_at, id)` list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOrder {
    OldestFirst,
    NewestFirst,
}

/// The keyset position of a row in a list ordered by creation time, then id.
pub fn time_key(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}|{id}", created_at.to_rfc3339())
}

/// The rows after the decoded `after` position of a `(created_at, id)` list.
pub fn after_time_key(
    after: &str,
    created_at: impl ColumnTrait,
    id: impl ColumnTrait,
    order: TimeOrder,
) -> AppResult<Condition> {
    let invalid = || AppError::bad_input("after", "invalid cursor");
    let (at, last) = after.split_once('|').ok_or_else(invalid)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| invalid())?
        .with_timezone(&Utc);
    let last = Uuid::parse_str(last).map_err(|_| invalid())?;
    Ok(match order {
        TimeOrder::OldestFirst => Condition::any()
            .add(created_at.gt(at))
            .add(Condition::all().add(created_at.eq(at)).add(id.gt(last))),
        TimeOrder::NewestFirst => Condition::any()
            .add(created_at.lt(at))
            .add(Condition::all().add(created_at.eq(at)).add(id.lt(last))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let cursor = encode_cursor("0193-abc");
        assert_eq!(decode_cursor(&cursor).unwrap(), "0193-abc");
        assert_eq!(decode_cursor("!!").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("x"))
                .unwrap_err()
                .code(),
            "BAD_USER_INPUT"
        );
    }

    #[test]
    fn signed_cursors_round_trip_and_reject_tampering() {
        let text = sign_cursor(&("top", 42), "key").unwrap();
        assert_eq!(
            verify_cursor::<(String, i64)>(&text, "key", "after").unwrap(),
            ("top".to_string(), 42)
        );
        assert!(verify_cursor::<(String, i64)>(&text, "other key", "after").is_err());
        let (_, signature) = text.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&("top", 43)).unwrap());
        let forged = format!("{forged}.{signature}");
        let err = verify_cursor::<(String, i64)>(&forged, "key", "after").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(verify_cursor::<(String, i64)>("garbage", "key", "after").is_err());
        assert_eq!(
            claimed_payload::<(String, i64)>(&forged, "after")
                .unwrap()
                .1,
            43
        );
    }

    #[test]
    fn first_is_capped_and_never_negative() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 20);
        assert_eq!(PageRequest::new(Some(100), None).unwrap().limit, 100);
        assert!(PageRequest::new(Some(101), None).is_err());
        assert!(PageRequest::new(Some(-1), None).is_err());
    }
}
