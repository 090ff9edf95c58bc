//! Feature decision votes in GraphQL: `DecisionPoll`, `decisionPoll(s)`,
//! `createDecisionPoll`, `castDecisionBallot` and `closeDecisionPoll`.

use async_graphql::connection::Connection;
use async_graphql::{
    ComplexObject, Context, ErrorExtensions, ID, InputObject, Object, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::{decision_option, pricing_poll};
use uuid::Uuid;

use super::communities::Community;
use super::connection::from_page;
use super::pricing_polls::{OutcomeValue, PollStatusValue};
use super::suggestions::Suggestion;
use super::{loaders, parse_id, parse_optional_id, parts};
use crate::error::AppError;
use crate::pagination::PageRequest;
use crate::services::decision_polls::{self, NewDecisionPoll, NewOption, Standing};
use crate::services::pricing_polls;

/// A feature decision vote: members choose up to `winners` options; at the close the top ones
/// win and their suggestions become PLANNED.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct DecisionPoll {
    pub id: ID,
    pub title: String,
    pub description: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Set by an early close.
    pub closed_at: Option<DateTime<Utc>>,
    pub status: PollStatusValue,
    pub binding: bool,
    /// Minimum ballots for a binding vote to be RATIFIED.
    pub quorum: Option<i32>,
    /// How many options win, and how many a ballot may choose.
    pub winners: i32,
    /// Members eligible for a binding vote (those who had joined when it opened).
    pub eligible_count: Option<i32>,
    pub ballot_count: i32,
    /// Once closed: RATIFIED (winners chosen) or NO_QUORUM.
    pub outcome: Option<OutcomeValue>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: pricing_poll::Model,
}

impl From<pricing_poll::Model> for DecisionPoll {
    fn from(model: pricing_poll::Model) -> Self {
        DecisionPoll {
            id: ID(model.id.to_string()),
            title: model.product_name.clone(),
            description: model.description.clone(),
            opens_at: model.opens_at,
            closes_at: model.closes_at,
            closed_at: model.closed_at,
            status: pricing_polls::status_at(&model, crate::clock::now()).into(),
            binding: model.binding,
            quorum: model.quorum,
            winners: model.winners.unwrap_or(1),
            eligible_count: model.eligible_count,
            ballot_count: model.ballot_count,
            outcome: model.outcome.map(Into::into),
            created_at: model.created_at,
            model,
        }
    }
}

impl DecisionPoll {
    /// The options ranked (one query for every poll of the response, by a loader).
    async fn standings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Standing>> {
        Ok(loaders(ctx)?
            .decision_standings
            .load_one(self.model.id)
            .await
            .extend()?
            .unwrap_or_default())
    }
}

#[ComplexObject]
impl DecisionPoll {
    async fn community(&self, ctx: &Context<'_>) -> async_graphql::Result<Community> {
        loaders(ctx)?
            .communities
            .load_one(self.model.community_id)
            .await
            .extend()?
            .map(Community::from)
            .ok_or_else(|| AppError::not_found("community").extend())
    }

    /// The options: in order while a binding vote's results are hidden (`votes` null), else
    /// ranked — most votes first, ties to the earlier-submitted suggestion.
    async fn options(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DecisionOption>> {
        Ok(self
            .standings(ctx)
            .await?
            .into_iter()
            .map(DecisionOption::from)
            .collect())
    }

    /// The winning options, once the vote is RATIFIED.
    async fn winning_options(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<DecisionOption>> {
        if self.model.outcome != Some(entity::pricing_poll::Outcome::Ratified) {
            return Ok(Vec::new());
        }
        let standings = self.standings(ctx).await?;
        Ok(decision_polls::winners_of(&self.model, &standings)
            .into_iter()
            .map(|option| {
                DecisionOption::from(Standing {
                    option,
                    votes: None,
                })
            })
            .collect())
    }

    /// The options the viewer chose (empty before their ballot).
    async fn viewer_option_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ID>> {
        let Some(ballot) = loaders(ctx)?
            .viewer_ballots
            .load_one(self.model.id)
            .await
            .extend()?
        else {
            return Ok(Vec::new());
        };
        let standings = self.standings(ctx).await?;
        Ok(decision_polls::chosen(&ballot, &standings)
            .map(|option| ID(option.id.to_string()))
            .collect())
    }
}

/// One option of a decision vote.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct DecisionOption {
    pub id: ID,
    pub position: i32,
    /// The suggestion's title when it was put to the vote, or the free text.
    pub label: String,
    /// Null while a binding vote's results are hidden.
    pub votes: Option<i64>,
    #[graphql(skip)]
    pub suggestion_id: Option<Uuid>,
}

impl From<Standing> for DecisionOption {
    fn from(standing: Standing) -> Self {
        let option: decision_option::Model = standing.option;
        DecisionOption {
            id: ID(option.id.to_string()),
            position: option.position,
            label: option.label,
            votes: standing.votes,
            suggestion_id: option.suggestion_id,
        }
    }
}

#[ComplexObject]
impl DecisionOption {
    /// The suggestion this option stands for (null for a free-text option).
    async fn suggestion(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Suggestion>> {
        let Some(id) = self.suggestion_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .suggestions
            .load_one(id)
            .await
            .extend()?
            .map(Suggestion::from))
    }
}

/// One option of a new vote: a suggestion, or a free-text label.
#[derive(InputObject)]
pub struct DecisionOptionInput {
    pub suggestion_id: Option<ID>,
    /// 1–200 characters.
    pub label: Option<String>,
}

#[derive(InputObject)]
pub struct CreateDecisionPollInput {
    pub community_id: ID,
    /// 1–200 characters.
    pub title: String,
    #[graphql(default)]
    pub description: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    #[graphql(default)]
    pub binding: bool,
    /// Binding votes only (default 1).
    pub quorum: Option<i32>,
    /// 2–20, all suggestions (OPEN or UNDER_REVIEW, of this community) or all labels.
    pub options: Vec<DecisionOptionInput>,
    /// How many win: 1 to one less than the options.
    pub winners: i32,
}

#[derive(Default)]
pub struct DecisionPollsQuery;

#[Object]
impl DecisionPollsQuery {
    /// A decision vote; null when missing or in a community hidden from the viewer.
    async fn decision_poll(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<DecisionPoll>> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        Ok(decision_polls::find(state, viewer, id)
            .await
            .extend()?
            .map(DecisionPoll::from))
    }

    /// A community's decision votes, newest first.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn decision_polls(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        status: Option<PollStatusValue>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, DecisionPoll>> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let page = PageRequest::new(first, after).extend()?;
        let page = decision_polls::list(state, viewer, community_id, status.map(Into::into), page)
            .await
            .extend()?;
        Ok(from_page(page, DecisionPoll::from))
    }
}

#[derive(Default)]
pub struct DecisionPollsMutation;

#[Object]
impl DecisionPollsMutation {
    /// Puts features to a vote (STAFF/ADMIN).
    async fn create_decision_poll(
        &self,
        ctx: &Context<'_>,
        input: CreateDecisionPollInput,
    ) -> async_graphql::Result<DecisionPoll> {
        let (state, viewer) = parts(ctx)?;
        let mut options = Vec::with_capacity(input.options.len());
        for option in input.options {
            let suggestion =
                parse_optional_id("options.suggestionId", &option.suggestion_id).extend()?;
            options.push(match (suggestion, option.label) {
                (Some(id), None) => NewOption::Suggestion(id),
                (None, Some(label)) => NewOption::Label(label),
                _ => {
                    return Err(AppError::bad_input(
                        "options",
                        "each option is a suggestionId or a label",
                    )
                    .extend());
                }
            });
        }
        let input = NewDecisionPoll {
            community_id: parse_id("communityId", &input.community_id).extend()?,
            title: input.title,
            description: input.description,
            opens_at: input.opens_at,
            closes_at: input.closes_at,
            binding: input.binding,
            quorum: input.quorum,
            winners: input.winners,
            options,
        };
        Ok(decision_polls::create(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// Chooses up to `winners` options (ACTIVE members; binding votes: those who had joined
    /// when it opened); replaces an earlier choice until the close (POLL_CLOSED after).
    async fn cast_decision_ballot(
        &self,
        ctx: &Context<'_>,
        poll_id: ID,
        option_ids: Vec<ID>,
    ) -> async_graphql::Result<DecisionPoll> {
        let (state, viewer) = parts(ctx)?;
        let poll_id = parse_id("pollId", &poll_id).extend()?;
        let option_ids = option_ids
            .iter()
            .map(|id| parse_id("optionIds", id).extend())
            .collect::<Result<Vec<_>, _>>()?;
        let (_, poll) = decision_polls::cast(state, viewer, poll_id, option_ids)
            .await
            .extend()?;
        Ok(poll.into())
    }

    /// Closes a vote at once (STAFF/ADMIN): its winners are fixed and planned.
    async fn close_decision_poll(
        &self,
        ctx: &Context<'_>,
        poll_id: ID,
    ) -> async_graphql::Result<DecisionPoll> {
        let (state, viewer) = parts(ctx)?;
        let poll_id = parse_id("pollId", &poll_id).extend()?;
        Ok(decision_polls::close(state, viewer, poll_id)
            .await
            .extend()?
            .into())
    }
}
