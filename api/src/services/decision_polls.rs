//! Feature decision votes — the monthly "user decision meeting": STAFF put suggestions or
//! free-text options to a vote; members choose up to `winners` of them, replaceably until the
//! close; at the close the top `winners` options win (ties to the earlier-submitted suggestion,
//! then to the earlier option) and their suggestions move to PLANNED with a timeline entry.
//!
//! A decision vote is a poll of method DECISION and runs on the pricing polls' machinery: the
//! same row, time rules, eligibility snapshot and quorum of binding votes, results hidden until
//! the close when binding, ballots replaced under the poll's lock with their tallies (one per
//! option position), sync and live updates ([`super::pricing_polls`],
//! [`super::pricing_ballots`]). What is its own: the options and the winners.

use std::collections::HashMap;

use chrono::DateTime;
use entity::pricing_poll::{self, Method};
use entity::suggestion::Status;
use entity::user::Role;
use entity::{decision_option, pricing_ballot};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use super::pricing_ballots::{self, BallotInput, DECISION};
use super::pricing_polls::{self, PollStatus, status_at};
use super::{communities, input, suggestion_workflow, suggestions};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;

/// Most options of one vote.
pub const MAX_OPTIONS: usize = 20;

/// One candidate as `createDecisionPoll` gives it: a suggestion, or a label.
#[derive(Debug, Clone)]
pub enum NewOption {
    Suggestion(Uuid),
    Label(String),
}

/// What `createDecisionPoll` asks for.
#[derive(Debug, Clone)]
pub struct NewDecisionPoll {
    pub community_id: Uuid,
    pub title: String,
    pub description: String,
    pub opens_at: DateTime<chrono::Utc>,
    pub closes_at: DateTime<chrono::Utc>,
    pub binding: bool,
    pub quorum: Option<i32>,
    pub winners: i32,
    pub options: Vec<NewOption>,
}

/// An option with its votes (None while a binding vote's results are hidden).
#[derive(Debug, Clone)]
pub struct Standing {
    pub option: decision_option::Model,
    pub votes: Option<i64>,
}

/// The options `ballot` chose, in the order of `standings`.
pub fn chosen<'a>(
    ballot: &entity::pricing_ballot::Model,
    standings: &'a [Standing],
) -> impl Iterator<Item = &'a decision_option::Model> {
    let positions = crate::services::pricing_ballots::choices(ballot);
    standings
        .iter()
        .map(|standing| &standing.option)
        .filter(move |option| positions.contains(&option.position))
}

/// Creates a decision vote (STAFF/ADMIN): 2–20 options, all suggestions or all labels, the
/// suggestions live in the community and still open to a decision (OPEN or UNDER_REVIEW),
/// `winners` between 1 and one less than the options.
pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    input: NewDecisionPoll,
) -> AppResult<pricing_poll::Model> {
    let staff = viewer.require_role(Role::Staff)?.clone();
    let title = input::line("title", &input.title, 1, 200)?;
    let description = input::text("description", &input.description, 0, 5000)?;
    if !(2..=MAX_OPTIONS).contains(&input.options.len()) {
        return Err(AppError::bad_input(
            "options",
            format!("a decision vote has 2 to {MAX_OPTIONS} options"),
        ));
    }
    let by_suggestion = matches!(input.options[0], NewOption::Suggestion(_));
    if input
        .options
        .iter()
        .any(|o| matches!(o, NewOption::Suggestion(_)) != by_suggestion)
    {
        return Err(AppError::bad_input(
            "options",
            "options are all suggestions or all labels",
        ));
    }
    let most = i32::try_from(input.options.len()).unwrap_or(i32::MAX) - 1;
    if !(1..=most).contains(&input.winners) {
        return Err(AppError::bad_input(
            "winners",
            format!("winners must be between 1 and {most}"),
        ));
    }
    let (opens_at, closes_at, quorum) = pricing_polls::validate_window(
        input.opens_at,
        input.closes_at,
        input.binding,
        input.quorum,
    )?;
    let txn = crate::db::begin_write(&state.db).await?;
    let community = communities::require_visible(&txn, viewer, input.community_id).await?;
    let mut options = Vec::with_capacity(input.options.len());
    let poll_id = uuid::Uuid::now_v7();
    for (position, option) in input.options.iter().enumerate() {
        let (suggestion_id, label, submitted_at) = match option {
            NewOption::Label(label) => (None, input::line("options.label", label, 1, 200)?, None),
            NewOption::Suggestion(id) => {
                if options
                    .iter()
                    .any(|o: &decision_option::ActiveModel| o.suggestion_id.as_ref() == &Some(*id))
                {
                    return Err(AppError::bad_input(
                        "options.suggestionId",
                        "a suggestion is an option once",
                    ));
                }
                let found = suggestions::find(&txn, viewer, *id)
                    .await?
                    .filter(|s| s.community_id == community.id)
                    .ok_or_else(|| {
                        AppError::bad_input(
                            "options.suggestionId",
                            format!("suggestion {id} is not in this community"),
                        )
                    })?;
                if !matches!(found.status, Status::Open | Status::UnderReview) {
                    return Err(AppError::bad_input(
                        "options.suggestionId",
                        format!("suggestion {id} is already decided"),
                    ));
                }
                (Some(found.id), found.title, Some(found.created_at))
            }
        };
        options.push(decision_option::ActiveModel {
            id: Set(Uuid::now_v7()),
            poll_id: Set(poll_id),
            position: Set(position as i32),
            suggestion_id: Set(suggestion_id),
            label: Set(label),
            submitted_at: Set(submitted_at),
        });
    }
    let positions: Vec<String> = (0..options.len()).map(|p| p.to_string()).collect();
    let poll = pricing_poll::ActiveModel {
        id: Set(poll_id),
        community_id: Set(community.id),
        product_name: Set(title),
        description: Set(description),
        // ISO 4217's code for "no currency": a decision has no prices.
        currency: Set("XXX".into()),
        method: Set(Method::Decision),
        price_points: Set(positions.join(",")),
        opens_at: Set(opens_at),
        closes_at: Set(closes_at),
        closed_at: Set(None),
        binding: Set(input.binding),
        quorum: Set(quorum),
        ballot_count: Set(0),
        eligibility_taken: Set(false),
        eligible_count: Set(None),
        outcome: Set(None),
        ratified_price: Set(None),
        outcome_at: Set(None),
        created_by: Set(staff.id),
        created_at: Set(crate::clock::now()),
        winners: Set(Some(input.winners)),
        tally_version: Set(0),
    }
    .insert(&txn)
    .await?;
    decision_option::Entity::insert_many(options)
        .exec_without_returning(&txn)
        .await?;
    let poll = pricing_polls::take_eligibility(&txn, poll).await?;
    let mut sync = SyncWriter::new();
    sync.poll(&poll);
    sync.commit(txn, state).await?;
    Ok(poll)
}

/// Casts or replaces the caller's choice of up to `winners` options while the vote is open
/// (POLL_CLOSED otherwise; binding votes: eligible members only).
pub async fn cast(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
    option_ids: Vec<Uuid>,
) -> AppResult<(pricing_ballot::Model, pricing_poll::Model)> {
    require_decision(&state.db, poll_id).await?;
    pricing_ballots::cast_ballot(
        state,
        viewer,
        poll_id,
        BallotInput {
            decision: Some(option_ids),
            ..BallotInput::default()
        },
    )
    .await
}

/// [`cast`] inside the caller's transaction (a pushed `SET_DECISION_BALLOT`).
pub async fn cast_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    poll_id: Uuid,
    option_ids: Vec<Uuid>,
    sync: &mut SyncWriter,
) -> AppResult<(pricing_ballot::Model, pricing_poll::Model)> {
    require_decision(txn, poll_id).await?;
    pricing_ballots::cast_ballot_in(
        txn,
        viewer,
        poll_id,
        BallotInput {
            decision: Some(option_ids),
            ..BallotInput::default()
        },
        sync,
    )
    .await
}

/// Closes a vote at once (STAFF/ADMIN), fixing its winners.
pub async fn close(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<pricing_poll::Model> {
    require_decision(&state.db, poll_id).await?;
    pricing_polls::close(state, viewer, poll_id).await
}

async fn require_decision(db: &impl ConnectionTrait, poll_id: Uuid) -> AppResult<()> {
    let method = pricing_poll::Entity::find_by_id(poll_id)
        .one(db)
        .await?
        .map(|p| p.method);
    match method {
        Some(Method::Decision) => Ok(()),
        _ => Err(AppError::not_found("decision poll")),
    }
}

/// A decision vote as `viewer` may see it, its outcome fixed once it has closed.
pub async fn find(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<Option<pricing_poll::Model>> {
    Ok(pricing_polls::find(state, viewer, poll_id)
        .await?
        .filter(|p| p.method == Method::Decision))
}

/// A community's decision votes, newest first, optionally only those with `status` now.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    community_id: Uuid,
    status: Option<PollStatus>,
    page: PageRequest,
) -> AppResult<Page<pricing_poll::Model>> {
    pricing_polls::list_of(state, viewer, community_id, status, true, page).await
}

/// Settles the decision votes whose close has passed without anyone reading them since, so
/// their winners are planned on time (the background task `decision_poll_settle`). Returns how
/// many it settled.
pub async fn settle_due(state: &AppState) -> AppResult<usize> {
    use sea_orm::{Condition, QuerySelect};
    let now = crate::clock::now();
    let due = pricing_poll::Entity::find()
        .filter(pricing_poll::Column::Method.eq(Method::Decision))
        .filter(pricing_poll::Column::OutcomeAt.is_null())
        .filter(
            Condition::any()
                .add(pricing_poll::Column::ClosedAt.is_not_null())
                .add(pricing_poll::Column::ClosesAt.lte(now)),
        )
        .limit(100)
        .all(&state.db)
        .await?;
    let count = due.len();
    for poll in due {
        pricing_polls::settle(state, poll).await?;
    }
    Ok(count)
}

/// The options of many votes, in order, for loaders.
pub async fn options_of(
    db: &impl ConnectionTrait,
    poll_ids: &[Uuid],
) -> AppResult<Vec<decision_option::Model>> {
    Ok(decision_option::Entity::find()
        .filter(decision_option::Column::PollId.is_in(poll_ids.iter().copied()))
        .order_by_asc(decision_option::Column::PollId)
        .order_by_asc(decision_option::Column::Position)
        .all(db)
        .await?)
}

/// Each vote's options ranked — most votes first, ties to the earlier-submitted suggestion,
/// then the earlier option — with their votes; a binding vote still open shows no votes and
/// keeps its options in order.
pub async fn standings_many(
    db: &impl ConnectionTrait,
    polls: &[pricing_poll::Model],
) -> AppResult<HashMap<Uuid, Vec<Standing>>> {
    let now = crate::clock::now();
    let ids: Vec<Uuid> = polls.iter().map(|p| p.id).collect();
    let shown: Vec<Uuid> = polls
        .iter()
        .filter(|p| !p.binding || status_at(p, now) == PollStatus::Closed)
        .map(|p| p.id)
        .collect();
    let tallies = pricing_polls::tallies(db, &shown).await?;
    let mut by_poll: HashMap<Uuid, Vec<Standing>> = HashMap::new();
    for option in options_of(db, &ids).await? {
        let votes = shown.contains(&option.poll_id).then(|| {
            tallies
                .get(&option.poll_id)
                .and_then(|t| t.get(DECISION))
                .and_then(|t| t.get(&i64::from(option.position)))
                .copied()
                .unwrap_or(0)
        });
        by_poll
            .entry(option.poll_id)
            .or_default()
            .push(Standing { option, votes });
    }
    for standings in by_poll.values_mut() {
        if standings.iter().all(|s| s.votes.is_some()) {
            rank(standings);
        }
    }
    Ok(by_poll)
}

/// Most votes first; a tie goes to the earlier-submitted suggestion, then the earlier option.
pub fn rank(standings: &mut [Standing]) {
    standings.sort_by(|a, b| {
        b.votes
            .cmp(&a.votes)
            .then_with(|| match (a.option.submitted_at, b.option.submitted_at) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.option.position.cmp(&b.option.position))
    });
}

/// The winners of a closed vote: its top `winners` options with at least one vote.
pub fn winners_of(poll: &pricing_poll::Model, ranked: &[Standing]) -> Vec<decision_option::Model> {
    let n = usize::try_from(poll.winners.unwrap_or(1)).unwrap_or(1);
    ranked
        .iter()
        .filter(|s| s.votes.unwrap_or(0) > 0)
        .take(n)
        .map(|s| s.option.clone())
        .collect()
}

/// At the close of a ratified vote, inside its settling transaction: every winning suggestion
/// still OPEN or UNDER_REVIEW moves to PLANNED, with its timeline entry and notifications.
pub(super) async fn plan_winners(
    txn: &DatabaseTransaction,
    poll: &pricing_poll::Model,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let standings = standings_many(txn, std::slice::from_ref(poll))
        .await?
        .remove(&poll.id)
        .unwrap_or_default();
    for winner in winners_of(poll, &standings) {
        let Some(suggestion_id) = winner.suggestion_id else {
            continue;
        };
        let Some(found) = suggestions::lock_live(txn, suggestion_id).await? else {
            continue;
        };
        if !matches!(found.status, Status::Open | Status::UnderReview) {
            continue;
        }
        let planned = suggestion_workflow::change_status(
            txn,
            found,
            Status::Planned,
            poll.created_by,
            Some(format!(
                "chosen in the decision vote \"{}\"",
                poll.product_name
            )),
            sync,
        )
        .await?;
        sync.suggestion(&planned);
    }
    Ok(())
}
