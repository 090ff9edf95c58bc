//! The suggestion listing: filters, the four sorts, full-text search, and stable cursors.
//!
//! A listing's later pages read the order as it stood when its first page was read (the
//! snapshot in the cursor, rebuilt from `tally_change`), so votes cast meanwhile never make a
//! suggestion appear twice or not at all.

use chrono::{DateTime, Utc};
use entity::suggestion::{self, Kind, Status};
use sea_orm::ActiveEnum;
use sea_orm::Iterable;
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, IdenStatic, Statement, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::suggestions::CURSOR_HORIZON_SECS;
use super::{communities, reports};
use crate::auth::Viewer;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, sign_cursor, verify_cursor};
use crate::state::AppState;

/// The orders a listing can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Score with time decay: see [`hot_rank`].
    Hot,
    /// Highest score first.
    Top,
    /// Newest first.
    New,
    /// Most comments first.
    MostDiscussed,
}

/// Which suggestions a listing shows.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub community_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub statuses: Vec<Status>,
    pub kind: Option<Kind>,
    pub sort: Sort,
    pub search: Option<String>,
}

/// Where a listing's later page continues: the snapshot of its first page (when it was taken),
/// the sort, and the last row's key. Travels as a signed cursor, so the snapshot that reaches
/// SQL and the age that decides expiry are always the server's own.
#[derive(Serialize, Deserialize)]
struct Position {
    sort: String,
    snapshot: String,
    taken_at: i64,
    key: String,
    id: Uuid,
}

impl Position {
    fn encode(&self, key: &str) -> AppResult<String> {
        sign_cursor(self, key)
    }

    fn decode(text: &str, key: &str, sort: Sort) -> AppResult<Self> {
        let position: Position = verify_cursor(text, key, "after")?;
        if position.sort != sort_tag(sort) {
            return Err(AppError::bad_input(
                "after",
                "this cursor belongs to a listing with another sort",
            ));
        }
        if Utc::now().timestamp() - position.taken_at > CURSOR_HORIZON_SECS {
            return Err(AppError::bad_input(
                "after",
                "this cursor has expired; start again from the first page",
            ));
        }
        Ok(position)
    }
}

fn sort_tag(sort: Sort) -> &'static str {
    match sort {
        Sort::Hot => "hot",
        Sort::Top => "top",
        Sort::New => "new",
        Sort::MostDiscussed => "disc",
    }
}

struct Keyed {
    sort_key: String,
    snap: String,
}

/// Lists suggestions `viewer` may see, in `filter.sort` order, paged with stable cursors.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    filter: ListFilter,
    page: PageRequest,
) -> AppResult<Page<suggestion::Model>> {
    let db = &state.db;
    let backend = db.get_database_backend();
    let after = page
        .after
        .as_deref()
        .map(|raw| Position::decode(raw, &state.cursor_key, filter.sort))
        .transpose()?;
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |value: Value| {
        values.push(value);
        format!("${}", values.len())
    };

    let mut conditions = vec!["s.deleted_at IS NULL".to_string()];
    // Visibility is part of the query; only an empty answer needs telling apart "nothing
    // matches" from "no such community" (NOT_FOUND), which costs a query then.
    if let Some(community_id) = filter.community_id {
        conditions.push(format!("s.community_id = {}", bind(community_id.into())));
    }
    if let Some(visible) = communities::visible_sql(viewer, "s.community_id", &mut bind) {
        conditions.push(visible);
    }
    if let Some(shown) =
        reports::visible_unless_hidden_sql(viewer, "s", "s.community_id", &mut bind)
    {
        conditions.push(shown);
    }
    if let Some(author_id) = filter.author_id {
        conditions.push(format!("s.author_id = {}", bind(author_id.into())));
    }
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| bind(s.to_value().into()))
            .collect();
        conditions.push(format!("s.status IN ({})", list.join(", ")));
    }
    if let Some(kind) = filter.kind {
        conditions.push(format!("s.kind = {}", bind(kind.to_value().into())));
    }
    if let Some(search) = filter.search.as_deref() {
        let words = search_words(search);
        if words.is_empty() {
            if let Some(community_id) = filter.community_id {
                communities::require_visible(db, viewer, community_id).await?;
            }
            return Ok(Page::from_rows(Vec::new(), &page, |_| String::new()));
        }
        match backend {
            DatabaseBackend::Postgres => conditions.push(format!(
                "s.search_vector @@ plainto_tsquery('simple', {})",
                bind(words.join(" ").into())
            )),
            _ => {
                let query: Vec<String> = words
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect();
                conditions.push(format!(
                    "s.id IN (SELECT suggestion_id FROM suggestion_fts \
                     WHERE suggestion_fts MATCH {})",
                    bind(query.join(" ").into())
                ));
            }
        }
    }

    let columns: Vec<String> = suggestion::Column::iter()
        .map(|c| format!("s.{}", c.as_str()))
        .collect();
    let columns = columns.join(", ");
    let conditions = conditions.join(" AND ");
    let key = match filter.sort {
        Sort::Hot => "s.hot_rank",
        Sort::Top => "s.score",
        Sort::MostDiscussed => "s.comment_count",
        Sort::New => "s.created_at",
    };
    // The page size is written into the statement (a validated number): the planner then
    // knows how few rows are wanted even when it reuses a generic plan.
    let limit = page.limit + 1;
    let sql = match &after {
        // A first page: a range scan of the index on the sort key (and `id`), stopping after
        // the page, with the snapshot that later pages will page against.
        None => {
            let snap = match backend {
                DatabaseBackend::Postgres => "(SELECT pg_current_snapshot()::text)",
                _ => "CAST((SELECT COALESCE(MAX(id), 0) FROM tally_change) AS TEXT)",
            };
            format!(
                "SELECT {columns}, {key} AS k, {snap} AS snap FROM suggestion s \
                 WHERE {conditions} ORDER BY {key} DESC, s.id DESC LIMIT {limit}"
            )
        }
        // A later page pages against the order as the snapshot saw it. Rows no change since
        // then has touched still hold that key: a range scan of the index below the cursor.
        // The few that changed are read apart, each with its key before its first unseen
        // change (one created since is left out). The two merge into the page.
        Some(position) => {
            let unseen = match backend {
                DatabaseBackend::Postgres => {
                    let snap = bind(position.snapshot.clone().into());
                    format!(
                        "txid >= (pg_snapshot_xmin({snap}::pg_snapshot)::text)::bigint \
                         AND NOT pg_visible_in_snapshot((txid::text)::xid8, {snap}::pg_snapshot)"
                    )
                }
                _ => {
                    let seen: i64 = position
                        .snapshot
                        .parse()
                        .map_err(|_| AppError::bad_input("after", "invalid cursor"))?;
                    format!("id > {}", bind(seen.into()))
                }
            };
            let key_value: Value = match filter.sort {
                Sort::New => DateTime::parse_from_rfc3339(&position.key)
                    .map_err(|_| AppError::bad_input("after", "invalid cursor"))?
                    .with_timezone(&Utc)
                    .into(),
                _ => position
                    .key
                    .parse::<i64>()
                    .map_err(|_| AppError::bad_input("after", "invalid cursor"))?
                    .into(),
            };
            let k = bind(key_value);
            let id = bind(position.id.into());
            let snap = bind(position.snapshot.clone().into());
            let before = match filter.sort {
                Sort::Hot => "c.hot_before",
                Sort::Top => "c.score_before",
                Sort::MostDiscussed => "c.comments_before",
                Sort::New => "s.created_at",
            };
            format!(
                "WITH changed AS (SELECT suggestion_id, score_before, comments_before, \
                 hot_before, created FROM tally_change WHERE id IN (SELECT MIN(id) \
                 FROM tally_change WHERE {unseen} GROUP BY suggestion_id)) \
                 SELECT t.* FROM (\
                 SELECT * FROM (SELECT {columns}, {key} AS k, {snap} AS snap FROM suggestion s \
                 WHERE {conditions} AND {key} <= {k} AND ({key} < {k} OR s.id < {id}) \
                 AND s.id NOT IN (SELECT suggestion_id FROM changed) \
                 ORDER BY {key} DESC, s.id DESC LIMIT {limit}) unchanged \
                 UNION ALL \
                 SELECT {columns}, {before} AS k, {snap} AS snap \
                 FROM changed c JOIN suggestion s ON s.id = c.suggestion_id \
                 WHERE {conditions} AND c.created = FALSE \
                 AND {before} <= {k} AND ({before} < {k} OR s.id < {id})\
                 ) t ORDER BY t.k DESC, t.id DESC LIMIT {limit}"
            )
        }
    };
    let statement = Statement::from_sql_and_values(backend, placeholders(backend, &sql), values);
    let rows = db.query_all_raw(statement).await?;
    if let (true, Some(community_id)) = (rows.is_empty(), filter.community_id) {
        communities::require_visible(db, viewer, community_id).await?;
    }
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let model = suggestion::Model::from_query_result(row, "")?;
        let key = match filter.sort {
            Sort::New => model.created_at.to_rfc3339(),
            _ => row
                .try_get::<i64>("", "k")
                .or_else(|_| row.try_get::<i32>("", "k").map(i64::from))?
                .to_string(),
        };
        let snap: String = row.try_get("", "snap")?;
        items.push((
            model,
            Keyed {
                sort_key: key,
                snap,
            },
        ));
    }
    let taken_at = after
        .as_ref()
        .map(|p| p.taken_at)
        .unwrap_or_else(|| Utc::now().timestamp());
    let sort = sort_tag(filter.sort);
    let has_next_page = items.len() as u64 > page.limit;
    items.truncate(page.limit as usize);
    let items = items
        .into_iter()
        .map(|(model, keyed)| {
            let position = Position {
                sort: sort.to_string(),
                snapshot: keyed.snap,
                taken_at,
                key: keyed.sort_key,
                id: model.id,
            };
            Ok((position.encode(&state.cursor_key)?, model))
        })
        .collect::<AppResult<_>>()?;
    Ok(Page {
        items,
        has_next_page,
        has_previous_page: after.is_some(),
    })
}

/// The words of a search, for a literal match: anything but letters and digits separates.
fn search_words(search: &str) -> Vec<String> {
    search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_input_becomes_plain_words() {
        assert_eq!(
            search_words("\"a\" OR b*:c'); DROP"),
            ["a", "or", "b", "c", "drop"]
        );
        assert!(search_words("*:()").is_empty());
    }
}
