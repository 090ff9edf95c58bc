//! Relay-style paging shared by every list: `first` (default 20, at most 100) and an opaque
//! `after` cursor. Services read a [`PageRequest`] and answer a [`Page`]; `graphql` turns a page
//! into a connection.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition};
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
    /// The decoded keyset position to continue after, if any.
    pub after: Option<String>,
}

impl PageRequest {
    /// Validates `first` (0–100) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        let limit = match first {
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
        };
        let after = after.map(|cursor| decode_cursor(&cursor)).transpose()?;
        Ok(PageRequest { limit, after })
    }
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
    fn first_is_capped_and_never_negative() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 20);
        assert_eq!(PageRequest::new(Some(100), None).unwrap().limit, 100);
        assert!(PageRequest::new(Some(101), None).is_err());
        assert!(PageRequest::new(Some(-1), None).is_err());
    }
}
