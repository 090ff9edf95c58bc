//! Idea rewards: adopting a suggestion (ADMIN) gives its contributors a share of a product
//! line's net sales for a window of time. Adoption plans an open idea; ending a reward closes
//! its window. Sales reports accrue against rewards in `revenue_shares`.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use entity::audit_log::{Action, EntityType};
use entity::growth_event::Kind as GrowthKind;
use entity::suggestion::Status;
use entity::user::Role;
use entity::{idea_reward, idea_reward_contributor, user};
use sea_orm::ActiveEnum;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Actor};
use super::dividend_math::WHOLE_BPS;
use super::idempotency::{Created, create_once, replay};
use super::{growth, input, money, suggestion_workflow, suggestions};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest, TimeOrder, after_time_key, time_key};
use crate::state::AppState;

/// The share when adoption does not name one: 1% of net sales.
pub const DEFAULT_SHARE_BPS: i32 = 100;
/// Most contributors one reward may have.
pub const MAX_CONTRIBUTORS: usize = 20;

/// What `adoptSuggestion` asks for.
#[derive(Debug, Clone)]
pub struct NewReward {
    pub id: Option<Uuid>,
    pub suggestion_id: Uuid,
    pub product_line: String,
    pub share_bps: Option<i32>,
    pub currency: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// `(user, weight in bps)` in the order given; `None` means the author alone.
    pub contributors: Option<Vec<(Uuid, i32)>>,
}

/// A reward with its contributors in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    pub model: idea_reward::Model,
    pub contributors: Vec<idea_reward_contributor::Model>,
}

/// Whether a reward's window is still open at `now` (an end in the past means ENDED).
pub fn is_active(reward: &idea_reward::Model, now: DateTime<Utc>) -> bool {
    reward.ends_at.is_none_or(|end| now < end)
}

/// Adopts a suggestion (ADMIN): creates its reward and, for an OPEN or UNDER_REVIEW idea, moves
/// it to PLANNED. DECLINED and DUPLICATE suggestions cannot be adopted, and one suggestion
/// cannot hold two rewards on one product line with overlapping windows (that would pay twice).
/// Replaying a client-made id with the same terms returns the reward; other terms are CONFLICT.
pub async fn adopt(state: &AppState, viewer: &Viewer, input: NewReward) -> AppResult<Reward> {
    let admin = viewer.require_role(Role::Admin)?.clone();
    let actor = Actor::of(viewer)?;
    let product_line = input::line("productLine", &input.product_line, 1, 100)?;
    let share_bps = input.share_bps.unwrap_or(DEFAULT_SHARE_BPS);
    if !(1..=WHOLE_BPS).contains(&share_bps) {
        return Err(AppError::bad_input(
            "shareBps",
            "shareBps must be between 1 and 10000 (100 = 1%)",
        ));
    }
    let (currency, _) = money::currency("currency", &input.currency)?;
    let starts_at = input.starts_at.trunc_subsecs(6);
    let ends_at = input.ends_at.map(|end| end.trunc_subsecs(6));
    if ends_at.is_some_and(|end| end <= starts_at) {
        return Err(AppError::bad_input(
            "endsAt",
            "endsAt must be after startsAt",
        ));
    }
    if let Some(contributors) = &input.contributors {
        validate_contributors(contributors)?;
    }

    let txn = crate::db::begin_write(&state.db).await?;
    let found = suggestions::lock_visible(&txn, viewer, input.suggestion_id).await?;
    let contributors = input
        .contributors
        .unwrap_or_else(|| vec![(found.author_id, WHOLE_BPS)]);
    let id = input.id.unwrap_or_else(Uuid::now_v7);
    let db = &txn;
    let stored = || async move { Ok(find_many(db, &[id]).await?.pop()) };
    let same = |existing: &Reward| {
        existing.model.suggestion_id == found.id
            && existing.model.product_line == product_line
            && existing.model.share_bps == share_bps
            && existing.model.currency == currency
            && existing.model.starts_at == starts_at
            && existing
                .contributors
                .iter()
                .map(|c| (c.user_id, c.weight_bps))
                .eq(contributors.iter().copied())
    };
    const CONFLICT: &str = "a different idea reward already has this id";
    // A replay answers before the checks below, which the stored reward itself would fail.
    if let Some(existing) = replay(stored().await?, same, CONFLICT)? {
        return Ok(txn.answer(existing).await?);
    }
    if matches!(found.status, Status::Declined | Status::Duplicate) {
        return Err(AppError::Conflict(format!(
            "a {} suggestion cannot be adopted",
            found.status.to_value()
        )));
    }
    let user_ids: Vec<Uuid> = contributors.iter().map(|(id, _)| *id).collect();
    let known = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids.iter().copied()))
        .count(&txn)
        .await?;
    if known != user_ids.len() as u64 {
        return Err(AppError::bad_input(
            "contributors",
            "every contributor must be an existing user",
        ));
    }
    let overlapping = idea_reward::Entity::find()
        .filter(idea_reward::Column::SuggestionId.eq(found.id))
        .filter(idea_reward::Column::ProductLine.eq(product_line.as_str()))
        .filter(idea_reward::Column::Currency.eq(currency.as_str()))
        .all(&txn)
        .await?
        .into_iter()
        .any(|other| overlaps(&other, starts_at, ends_at));
    if overlapping {
        return Err(AppError::Conflict(
            "this suggestion already has a reward on this product line for an overlapping window"
                .into(),
        ));
    }

    let now = Utc::now();
    let row = idea_reward::ActiveModel {
        id: Set(id),
        suggestion_id: Set(found.id),
        product_line: Set(product_line.clone()),
        share_bps: Set(share_bps),
        currency: Set(currency.clone()),
        starts_at: Set(starts_at),
        ends_at: Set(ends_at),
        created_by: Set(admin.id),
        created_at: Set(now),
    };
    let model = match create_once::<idea_reward::Entity, _, _>(
        &txn,
        row,
        [idea_reward::Column::Id],
        stored,
        same,
        CONFLICT,
        None,
    )
    .await?
    {
        Created::New(model) => model,
        Created::Replayed(stored) => return Ok(txn.answer(stored).await?),
    };
    let rows: Vec<idea_reward_contributor::ActiveModel> = contributors
        .iter()
        .enumerate()
        .map(
            |(position, (user_id, weight))| idea_reward_contributor::ActiveModel {
                reward_id: Set(model.id),
                position: Set(position as i32),
                user_id: Set(*user_id),
                weight_bps: Set(*weight),
            },
        )
        .collect();
    idea_reward_contributor::Entity::insert_many(rows)
        .exec_without_returning(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        EntityType::IdeaReward,
        model.id,
        Action::Adopted,
        json!({
            "suggestionId": model.suggestion_id,
            "productLine": model.product_line,
            "shareBps": model.share_bps,
            "currency": model.currency,
            "startsAt": model.starts_at,
            "endsAt": model.ends_at,
            "contributors": contributors
                .iter()
                .map(|(user, weight)| json!({ "userId": user, "weightBps": weight }))
                .collect::<Vec<_>>(),
        }),
        now,
    )
    .await?;
    let suggestion_id = found.id;
    let mut sync = SyncWriter::new();
    growth::award(
        &txn,
        found.author_id,
        found.community_id,
        GrowthKind::IdeaAdopted,
        suggestion_id,
        &mut sync,
    )
    .await?;
    if matches!(found.status, Status::Open | Status::UnderReview) {
        let planned = suggestion_workflow::change_status(
            &txn,
            found,
            Status::Planned,
            admin.id,
            Some("adopted".into()),
            &mut sync,
        )
        .await?;
        sync.suggestion(&planned);
    }
    sync.commit(txn, state).await?;
    state
        .events
        .suggestion_updated(&state.db, suggestion_id)
        .await;
    find_many(&state.db, &[model.id])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("adopted reward vanished"))
}

/// Closes a reward's window at `ends_at` (ADMIN). A window is never reopened: an end later
/// than the current one is CONFLICT. Records already accrued stay; void them if needed.
pub async fn end(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    ends_at: DateTime<Utc>,
) -> AppResult<Reward> {
    viewer.require_role(Role::Admin)?;
    let actor = Actor::of(viewer)?;
    let ends_at = ends_at.trunc_subsecs(6);
    let txn = crate::db::begin_write(&state.db).await?;
    let found = idea_reward::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("idea reward"))?;
    if ends_at <= found.starts_at {
        return Err(AppError::bad_input(
            "endsAt",
            "endsAt must be after startsAt",
        ));
    }
    if found.ends_at.is_some_and(|current| ends_at > current) {
        return Err(AppError::Conflict(
            "the reward already ends earlier; a closed window is not reopened".into(),
        ));
    }
    let previous = found.ends_at;
    let mut active: idea_reward::ActiveModel = found.into();
    active.ends_at = Set(Some(ends_at));
    active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        EntityType::IdeaReward,
        id,
        Action::Ended,
        json!({ "previousEndsAt": previous, "endsAt": ends_at }),
        Utc::now(),
    )
    .await?;
    txn.commit().await?;
    find_many(&state.db, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("idea reward"))
}

/// One reward, for ADMINs and partners with `ideas:read`.
pub async fn find(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<Option<Reward>> {
    viewer.require_scope("ideas:read", true)?;
    Ok(find_many(&state.db, &[id]).await?.pop())
}

/// Rewards, newest first, optionally on one product line (ADMIN, or `ideas:read`).
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    product_line: Option<String>,
    page: &PageRequest,
) -> AppResult<Page<Reward>> {
    viewer.require_scope("ideas:read", true)?;
    let mut query = idea_reward::Entity::find();
    if let Some(line) = product_line {
        query = query.filter(idea_reward::Column::ProductLine.eq(line.trim()));
    }
    if let Some(after) = &page.after {
        query = query.filter(after_time_key(
            after,
            idea_reward::Column::CreatedAt,
            idea_reward::Column::Id,
            TimeOrder::NewestFirst,
        )?);
    }
    let rows = query
        .order_by_desc(idea_reward::Column::CreatedAt)
        .order_by_desc(idea_reward::Column::Id)
        .limit(page.limit + 1)
        .all(&state.db)
        .await?;
    let rewards = with_contributors(&state.db, rows).await?;
    Ok(Page::from_rows(rewards, page, |reward| {
        time_key(reward.model.created_at, reward.model.id)
    }))
}

/// Rewards by id with their contributors, without a permission check: for callers that
/// already proved the viewer may see them (a record's reward, a new adoption).
pub async fn find_many(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<Reward>> {
    let rows = idea_reward::Entity::find()
        .filter(idea_reward::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    with_contributors(db, rows).await
}

/// The rewards accruing on a report: same product line and currency, window containing `at`,
/// oldest first.
pub async fn accruing(
    db: &impl ConnectionTrait,
    product_line: &str,
    currency: &str,
    at: DateTime<Utc>,
) -> AppResult<Vec<Reward>> {
    let rows = idea_reward::Entity::find()
        .filter(idea_reward::Column::ProductLine.eq(product_line))
        .filter(idea_reward::Column::Currency.eq(currency))
        .filter(idea_reward::Column::StartsAt.lte(at))
        .filter(
            Condition::any()
                .add(idea_reward::Column::EndsAt.is_null())
                .add(idea_reward::Column::EndsAt.gt(at)),
        )
        .order_by_asc(idea_reward::Column::CreatedAt)
        .order_by_asc(idea_reward::Column::Id)
        .all(db)
        .await?;
    with_contributors(db, rows).await
}

async fn with_contributors(
    db: &impl ConnectionTrait,
    rows: Vec<idea_reward::Model>,
) -> AppResult<Vec<Reward>> {
    let mut by_reward: HashMap<Uuid, Vec<idea_reward_contributor::Model>> = HashMap::new();
    for contributor in idea_reward_contributor::Entity::find()
        .filter(idea_reward_contributor::Column::RewardId.is_in(rows.iter().map(|r| r.id)))
        .order_by_asc(idea_reward_contributor::Column::Position)
        .all(db)
        .await?
    {
        by_reward
            .entry(contributor.reward_id)
            .or_default()
            .push(contributor);
    }
    Ok(rows
        .into_iter()
        .map(|model| Reward {
            contributors: by_reward.remove(&model.id).unwrap_or_default(),
            model,
        })
        .collect())
}

fn validate_contributors(contributors: &[(Uuid, i32)]) -> AppResult<()> {
    let invalid = |message: &str| AppError::bad_input("contributors", message);
    if contributors.is_empty() || contributors.len() > MAX_CONTRIBUTORS {
        return Err(invalid("name 1–20 contributors"));
    }
    if contributors.iter().any(|(_, weight)| *weight <= 0) {
        return Err(invalid("every weight must be positive"));
    }
    if contributors.iter().map(|(_, w)| i64::from(*w)).sum::<i64>() != i64::from(WHOLE_BPS) {
        return Err(invalid("weights must sum to exactly 10000 bps"));
    }
    for (index, (user, _)) in contributors.iter().enumerate() {
        if contributors[..index].iter().any(|(other, _)| other == user) {
            return Err(invalid("a contributor is named twice"));
        }
    }
    Ok(())
}

fn overlaps(
    reward: &idea_reward::Model,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
) -> bool {
    let starts_before_other_ends = ends_at.is_none_or(|end| reward.starts_at < end);
    let other_starts_before_it_ends = reward.ends_at.is_none_or(|end| starts_at < end);
    starts_before_other_ends && other_starts_before_it_ends
}
