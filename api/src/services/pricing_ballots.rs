//! Pricing ballots: casting and replacing a member's ballot while its poll is open, validating
//! it against the poll's method, and the per-poll aggregates (`pricing_tally`) each ballot
//! moves in the same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::pricing_poll::{self, Method};
use entity::{decision_option, pricing_ballot, pricing_eligibility};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set, Statement,
};
use uuid::Uuid;

use super::money::input_minor;
use super::pricing_math;
use super::pricing_polls::{
    PollStatus, digits_of, lock_visible, price_points, status_at, take_eligibility,
};
use super::{decision_polls, memberships};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::db::placeholders;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A ballot as cast: exactly the part matching the poll's method.
#[derive(Debug, Clone, Default)]
pub struct BallotInput {
    pub choice: Option<Decimal>,
    pub van_westendorp: Option<[Decimal; 4]>,
    pub gabor_granger: Option<Vec<(Decimal, bool)>>,
    /// A decision vote's chosen option ids.
    pub decision: Option<Vec<Uuid>>,
}

/// Casts or replaces the caller's ballot (ACTIVE members; for a binding poll, eligible ones).
/// Returns the ballot and its poll.
pub async fn cast_ballot(
    state: &AppState,
    viewer: &Viewer,
    poll_id: Uuid,
    input: BallotInput,
) -> AppResult<(pricing_ballot::Model, pricing_poll::Model)> {
    let txn = crate::db::begin_write(&state.db).await?;
    let mut sync = SyncWriter::new();
    let cast = cast_ballot_in(&txn, viewer, poll_id, input, &mut sync).await?;
    sync.commit(txn, state).await?;
    state.events.pricing_poll_updated(&state.db, poll_id).await;
    Ok(cast)
}

/// [`cast_ballot`] inside the caller's transaction.
pub async fn cast_ballot_in(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    poll_id: Uuid,
    input: BallotInput,
    sync: &mut SyncWriter,
) -> AppResult<(pricing_ballot::Model, pricing_poll::Model)> {
    viewer.require_user()?;
    let (poll, community) = lock_visible(txn, viewer, poll_id).await?;
    let voter = memberships::require_member(txn, viewer, &community).await?;
    let now = crate::clock::now();
    if status_at(&poll, now) != PollStatus::Open {
        return Err(AppError::PollClosed(
            "this poll is not open for ballots".into(),
        ));
    }
    let poll = take_eligibility(txn, poll).await?;
    if poll.binding
        && pricing_eligibility::Entity::find_by_id((poll.id, voter.id))
            .one(txn)
            .await?
            .is_none()
    {
        return Err(AppError::Forbidden(
            "only members who had joined when the poll opened vote in a binding poll".into(),
        ));
    }
    let options = if poll.method == Method::Decision {
        decision_polls::options_of(txn, &[poll.id]).await?
    } else {
        Vec::new()
    };
    let ballot = validate_ballot(&poll, &options, input)?;
    let existing = pricing_ballot::Entity::find()
        .filter(pricing_ballot::Column::PollId.eq(poll.id))
        .filter(pricing_ballot::Column::UserId.eq(voter.id))
        .one(txn)
        .await?;
    // The poll's row is locked: its ballot count and tally version change with the tallies.
    let (count, version) = (poll.ballot_count, poll.tally_version + 1);
    let (saved, count) = match existing {
        Some(old) => {
            add_to_tally(txn, poll.id, &contributions(&old), -1).await?;
            let mut active: pricing_ballot::ActiveModel = old.into();
            ballot.fill(&mut active, now);
            (active.update(txn).await?, count)
        }
        None => {
            let mut active = pricing_ballot::ActiveModel {
                id: Set(Uuid::now_v7()),
                poll_id: Set(poll.id),
                user_id: Set(voter.id),
                created_at: Set(now),
                ..Default::default()
            };
            ballot.fill(&mut active, now);
            (active.insert(txn).await?, count + 1)
        }
    };
    let mut active: pricing_poll::ActiveModel = poll.into();
    active.ballot_count = Set(count);
    active.tally_version = Set(version);
    let poll = active.update(txn).await?;
    add_to_tally(txn, poll.id, &contributions(&saved), 1).await?;
    sync.ballot(&saved);
    sync.poll(&poll);
    Ok((saved, poll))
}

/// The caller's ballot in a poll, if any.
pub async fn viewer_ballot(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    poll_id: Uuid,
) -> AppResult<Option<pricing_ballot::Model>> {
    let Some(user_id) = viewer.user_id() else {
        return Ok(None);
    };
    Ok(pricing_ballot::Entity::find()
        .filter(pricing_ballot::Column::PollId.eq(poll_id))
        .filter(pricing_ballot::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// The caller's ballots in many polls (for loaders), by poll.
pub async fn viewer_ballots(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    poll_ids: &[Uuid],
) -> AppResult<Vec<pricing_ballot::Model>> {
    let Some(user_id) = viewer.user_id() else {
        return Ok(Vec::new());
    };
    Ok(pricing_ballot::Entity::find()
        .filter(pricing_ballot::Column::PollId.is_in(poll_ids.iter().copied()))
        .filter(pricing_ballot::Column::UserId.eq(user_id))
        .all(db)
        .await?)
}

/// A validated ballot in minor units.
struct Ballot {
    choice: Option<i64>,
    too_cheap: Option<i64>,
    cheap: Option<i64>,
    expensive: Option<i64>,
    too_expensive: Option<i64>,
    would_buy: Option<String>,
    choices: Option<String>,
}

impl Ballot {
    /// Writes the answers into a ballot row (a new one or the one it replaces).
    fn fill(self, row: &mut pricing_ballot::ActiveModel, now: DateTime<Utc>) {
        row.choice = Set(self.choice);
        row.too_cheap = Set(self.too_cheap);
        row.cheap = Set(self.cheap);
        row.expensive = Set(self.expensive);
        row.too_expensive = Set(self.too_expensive);
        row.would_buy = Set(self.would_buy);
        row.choices = Set(self.choices);
        row.updated_at = Set(now);
    }
}

fn validate_ballot(
    poll: &pricing_poll::Model,
    options: &[decision_option::Model],
    input: BallotInput,
) -> AppResult<Ballot> {
    let digits = digits_of(poll);
    let points = price_points(poll);
    let price = |field: &str, value: Decimal| {
        let minor = input_minor(field, value, digits)?;
        if minor <= 0 {
            return Err(AppError::bad_input(field, "prices must be positive"));
        }
        Ok(minor)
    };
    let mut ballot = Ballot {
        choice: None,
        too_cheap: None,
        cheap: None,
        expensive: None,
        too_expensive: None,
        would_buy: None,
        choices: None,
    };
    if poll.method != Method::Decision && input.decision.is_some() {
        return Err(AppError::bad_input(
            "optionIds",
            "a pricing poll takes prices, not options",
        ));
    }
    let wrong = |field: &str| {
        AppError::bad_input(
            field,
            "answer exactly the part that matches the poll's method",
        )
    };
    match poll.method {
        Method::Choice => {
            if input.van_westendorp.is_some() {
                return Err(wrong("vanWestendorp"));
            }
            if input.gabor_granger.is_some() {
                return Err(wrong("gaborGranger"));
            }
            let choice = price("choice", input.choice.ok_or_else(|| wrong("choice"))?)?;
            if !points.contains(&choice) {
                return Err(AppError::bad_input(
                    "choice",
                    "choose one of the poll's price points",
                ));
            }
            ballot.choice = Some(choice);
        }
        Method::VanWestendorp => {
            if input.choice.is_some() {
                return Err(wrong("choice"));
            }
            if input.gabor_granger.is_some() {
                return Err(wrong("gaborGranger"));
            }
            let [a, b, c, d] = input.van_westendorp.ok_or_else(|| wrong("vanWestendorp"))?;
            let answer = pricing_math::VwAnswer {
                too_cheap: price("vanWestendorp.tooCheap", a)?,
                cheap: price("vanWestendorp.cheap", b)?,
                expensive: price("vanWestendorp.expensive", c)?,
                too_expensive: price("vanWestendorp.tooExpensive", d)?,
            };
            if !answer.is_valid() {
                return Err(AppError::bad_input(
                    "vanWestendorp",
                    "answers must satisfy tooCheap < cheap < expensive < tooExpensive",
                ));
            }
            ballot.too_cheap = Some(answer.too_cheap);
            ballot.cheap = Some(answer.cheap);
            ballot.expensive = Some(answer.expensive);
            ballot.too_expensive = Some(answer.too_expensive);
        }
        Method::GaborGranger => {
            if input.choice.is_some() {
                return Err(wrong("choice"));
            }
            if input.van_westendorp.is_some() {
                return Err(wrong("vanWestendorp"));
            }
            let answers = input.gabor_granger.ok_or_else(|| wrong("gaborGranger"))?;
            let mut ladder: BTreeMap<i64, bool> = BTreeMap::new();
            for (value, would_buy) in answers {
                let p = price("gaborGranger", value)?;
                if ladder.insert(p, would_buy).is_some() {
                    return Err(AppError::bad_input(
                        "gaborGranger",
                        "each price point is answered once",
                    ));
                }
            }
            if ladder.keys().copied().collect::<Vec<_>>() != points {
                return Err(AppError::bad_input(
                    "gaborGranger",
                    "answer every price point of the poll, and only those",
                ));
            }
            ballot.would_buy = Some(
                ladder
                    .iter()
                    .map(|(p, yes)| format!("{p}:{}", u8::from(*yes)))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        Method::Decision => {
            if input.choice.is_some()
                || input.van_westendorp.is_some()
                || input.gabor_granger.is_some()
            {
                return Err(AppError::bad_input(
                    "optionIds",
                    "a decision vote takes options, not prices",
                ));
            }
            let chosen = input.decision.unwrap_or_default();
            let winners = usize::try_from(poll.winners.unwrap_or(1)).unwrap_or(1);
            if chosen.is_empty() || chosen.len() > winners {
                return Err(AppError::bad_input(
                    "optionIds",
                    format!("choose 1 to {winners} options"),
                ));
            }
            let mut positions = Vec::with_capacity(chosen.len());
            for id in chosen {
                let option = options.iter().find(|o| o.id == id).ok_or_else(|| {
                    AppError::bad_input(
                        "optionIds",
                        format!("option {id} is not one of this vote's"),
                    )
                })?;
                if positions.contains(&option.position) {
                    return Err(AppError::bad_input(
                        "optionIds",
                        "each option is chosen once",
                    ));
                }
                positions.push(option.position);
            }
            positions.sort_unstable();
            ballot.choices = Some(
                positions
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
    }
    Ok(ballot)
}

/// The Gabor-Granger ladder of a stored ballot.
pub fn ladder(ballot: &pricing_ballot::Model) -> Vec<(i64, bool)> {
    ballot
        .would_buy
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|pair| {
            let (price, yes) = pair.split_once(':')?;
            Some((price.parse().ok()?, yes == "1"))
        })
        .collect()
}

pub(super) const CHOICE: &str = "CHOICE";

pub(super) const TOO_CHEAP: &str = "TOO_CHEAP";

pub(super) const CHEAP: &str = "CHEAP";

pub(super) const EXPENSIVE: &str = "EXPENSIVE";

pub(super) const TOO_EXPENSIVE: &str = "TOO_EXPENSIVE";

pub(super) const GG_HIGHEST: &str = "GG_HIGHEST";

/// The tally answer of decision votes: ballots per option position.
pub(super) const DECISION: &str = "DECISION";

/// The option positions a stored decision ballot chose.
pub fn choices(ballot: &pricing_ballot::Model) -> Vec<i32> {
    ballot
        .choices
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// What a stored ballot adds to the tallies: (answer, price) pairs.
fn contributions(ballot: &pricing_ballot::Model) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    if let Some(c) = ballot.choice {
        out.push((CHOICE, c));
    }
    for (answer, value) in [
        (TOO_CHEAP, ballot.too_cheap),
        (CHEAP, ballot.cheap),
        (EXPENSIVE, ballot.expensive),
        (TOO_EXPENSIVE, ballot.too_expensive),
    ] {
        if let Some(v) = value {
            out.push((answer, v));
        }
    }
    if ballot.would_buy.is_some() {
        let highest = ladder(ballot)
            .into_iter()
            .filter(|(_, yes)| *yes)
            .map(|(p, _)| p)
            .max()
            .unwrap_or(-1);
        out.push((GG_HIGHEST, highest));
    }
    for position in choices(ballot) {
        out.push((DECISION, i64::from(position)));
    }
    out
}

async fn add_to_tally(
    txn: &DatabaseTransaction,
    poll_id: Uuid,
    entries: &[(&'static str, i64)],
    delta: i64,
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let sql = placeholders(
        backend,
        "INSERT INTO pricing_tally (poll_id, answer, price, ballots) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (poll_id, answer, price) DO UPDATE SET ballots = pricing_tally.ballots + $4",
    );
    for (answer, price) in entries {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql.clone(),
            [
                poll_id.into(),
                (*answer).into(),
                (*price).into(),
                delta.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}
