//! Pricing polls in GraphQL: `PricingPoll` with its results, creating, casting ballots, closing,
//! listing, and the `pricingPollUpdated` subscription.

use async_graphql::connection::Connection;
use async_graphql::futures_util::Stream;
use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Object, ResultExt,
    SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use entity::pricing_ballot;
use entity::pricing_poll::{self};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use super::communities::Community;
use super::connection::from_page;
use super::{live_updates, loaders, parse_id, parse_optional_id, parts};
use crate::error::AppError;
use crate::events::Event;
use crate::pagination::PageRequest;
use crate::services::money::from_minor;
use crate::services::pricing_ballots::{self, BallotInput};
use crate::services::pricing_math::Share;
use crate::services::pricing_polls::{self, NewPoll, digits_of, price_points};

/// How fans answer a pricing poll.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "PricingMethod", remote = "entity::pricing_poll::Method")]
pub enum MethodValue {
    /// Pick one of the candidate prices.
    Choice,
    /// Four prices per fan: too cheap, cheap, expensive, too expensive.
    VanWestendorp,
    /// Would-buy yes/no at each price of a ladder.
    GaborGranger,
    /// A feature decision vote (`DecisionPoll`): options instead of prices.
    Decision,
}

/// Where a poll stands by server time.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(
    name = "PricingPollStatus",
    remote = "crate::services::pricing_polls::PollStatus"
)]
pub enum PollStatusValue {
    Scheduled,
    Open,
    Closed,
}

/// How a binding poll ended.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "PricingOutcome", remote = "entity::pricing_poll::Outcome")]
pub enum OutcomeValue {
    /// Enough ballots: the price stands.
    Ratified,
    /// Fewer ballots than the quorum.
    NoQuorum,
}

/// A fan-council vote or pricing study.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct PricingPoll {
    pub id: ID,
    pub product_name: String,
    pub description: String,
    pub currency: String,
    pub method: MethodValue,
    /// Ascending; empty for VAN_WESTENDORP.
    pub price_points: Vec<Decimal>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Set by an early close.
    pub closed_at: Option<DateTime<Utc>>,
    pub status: PollStatusValue,
    pub binding: bool,
    /// Minimum ballots for a binding poll to be RATIFIED.
    pub quorum: Option<i32>,
    /// Members eligible for a binding poll (those who had joined when it opened).
    pub eligible_count: Option<i32>,
    pub ballot_count: i32,
    /// Binding polls, once closed.
    pub outcome: Option<OutcomeValue>,
    pub ratified_price: Option<Decimal>,
    #[graphql(skip)]
    pub model: pricing_poll::Model,
}

impl From<pricing_poll::Model> for PricingPoll {
    fn from(model: pricing_poll::Model) -> Self {
        let digits = digits_of(&model);
        PricingPoll {
            id: ID(model.id.to_string()),
            product_name: model.product_name.clone(),
            description: model.description.clone(),
            currency: model.currency.clone(),
            method: model.method.into(),
            // A decision vote's points are its option positions, not prices.
            price_points: match model.method {
                entity::pricing_poll::Method::Decision => Vec::new(),
                _ => price_points(&model)
                    .into_iter()
                    .map(|p| from_minor(p, digits))
                    .collect(),
            },
            opens_at: model.opens_at,
            closes_at: model.closes_at,
            closed_at: model.closed_at,
            status: pricing_polls::status_at(&model, crate::clock::now()).into(),
            binding: model.binding,
            quorum: model.quorum,
            eligible_count: model.eligible_count,
            ballot_count: model.ballot_count,
            outcome: model.outcome.map(Into::into),
            ratified_price: model.ratified_price.map(|p| from_minor(p, digits)),
            model,
        }
    }
}

#[ComplexObject]
impl PricingPoll {
    async fn community(&self, ctx: &Context<'_>) -> async_graphql::Result<Community> {
        let found = loaders(ctx)?
            .communities
            .load_one(self.model.community_id)
            .await
            .extend()?;
        found
            .map(Community::from)
            .ok_or_else(|| AppError::not_found("community").extend())
    }

    /// The viewer's current ballot.
    async fn viewer_ballot(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<PricingBallot>> {
        let found = loaders(ctx)?
            .viewer_ballots
            .load_one(self.model.id)
            .await
            .extend()?;
        Ok(found.map(|b| PricingBallot::new(b, digits_of(&self.model))))
    }

    /// Null for a binding poll until it has closed.
    async fn results(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PricingResults>> {
        if !pricing_polls::results_shown(&self.model, crate::clock::now()) {
            return Ok(None);
        }
        let digits = digits_of(&self.model);
        let Some(results) = loaders(ctx)?
            .poll_results
            .load_one((self.model.id, self.model.tally_version))
            .await
            .extend()?
        else {
            return Ok(None);
        };
        let money = |minor: i64| from_minor(minor, digits);
        Ok(Some(PricingResults {
            choice_tally: results
                .choice
                .iter()
                .map(|row| ChoiceTallyRow {
                    price: money(row.price),
                    votes: row.votes,
                    share: share(row.share),
                })
                .collect(),
            winning_price: results.winning_price.map(money),
            van_westendorp: results
                .van_westendorp
                .as_ref()
                .map(|v| VanWestendorpResult {
                    marginal_cheapness: v.marginal_cheapness.map(money),
                    optimal_price: v.optimal_price.map(money),
                    indifference_price: v.indifference_price.map(money),
                    marginal_expensiveness: v.marginal_expensiveness.map(money),
                    valid_responses: v.valid_responses,
                }),
            gabor_granger: results
                .gabor_granger
                .iter()
                .map(|row| GaborGrangerRow {
                    price: money(row.price),
                    demand_share: share(Share {
                        count: row.buyers,
                        total: row.ballots,
                    }),
                    revenue_index: money(row.revenue_index()),
                })
                .collect(),
            revenue_maximizing_price: results.revenue_maximizing_price.map(money),
        }))
    }
}

/// A share rounded half-even to 6 decimals (0 without ballots).
fn share(share: Share) -> Decimal {
    if share.total == 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(share.count) / Decimal::from(share.total))
        .round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven)
}

/// A poll's results.
#[derive(SimpleObject, Clone, Debug)]
pub struct PricingResults {
    /// CHOICE: every price point, ascending.
    pub choice_tally: Vec<ChoiceTallyRow>,
    /// CHOICE: most votes, ties to the lower price.
    pub winning_price: Option<Decimal>,
    /// VAN_WESTENDORP only.
    pub van_westendorp: Option<VanWestendorpResult>,
    /// GABOR_GRANGER: every price point, ascending.
    pub gabor_granger: Vec<GaborGrangerRow>,
    /// GABOR_GRANGER: highest revenue index, ties to the lower price.
    pub revenue_maximizing_price: Option<Decimal>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ChoiceTallyRow {
    pub price: Decimal,
    pub votes: i64,
    /// votes / ballots, half-even to 6 decimals.
    pub share: Decimal,
}

/// The four Van Westendorp price points (PMC, OPP, IPP, PME), half-even to the minor unit.
#[derive(SimpleObject, Clone, Debug)]
pub struct VanWestendorpResult {
    pub marginal_cheapness: Option<Decimal>,
    pub optimal_price: Option<Decimal>,
    pub indifference_price: Option<Decimal>,
    pub marginal_expensiveness: Option<Decimal>,
    pub valid_responses: i64,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct GaborGrangerRow {
    pub price: Decimal,
    /// Share of ballots that would buy at this price, half-even to 6 decimals.
    pub demand_share: Decimal,
    /// price × demandShare, half-even to the minor unit.
    pub revenue_index: Decimal,
}

/// A fan's answer to a poll.
#[derive(SimpleObject, Clone, Debug)]
pub struct PricingBallot {
    pub choice: Option<Decimal>,
    pub van_westendorp: Option<VanWestendorpAnswer>,
    pub gabor_granger: Option<Vec<GaborGrangerAnswer>>,
    pub updated_at: DateTime<Utc>,
}

impl PricingBallot {
    fn new(model: pricing_ballot::Model, digits: u32) -> Self {
        let money = |minor: i64| from_minor(minor, digits);
        let van_westendorp = match (
            model.too_cheap,
            model.cheap,
            model.expensive,
            model.too_expensive,
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => Some(VanWestendorpAnswer {
                too_cheap: money(a),
                cheap: money(b),
                expensive: money(c),
                too_expensive: money(d),
            }),
            _ => None,
        };
        let gabor_granger = model.would_buy.is_some().then(|| {
            pricing_ballots::ladder(&model)
                .into_iter()
                .map(|(price, would_buy)| GaborGrangerAnswer {
                    price: money(price),
                    would_buy,
                })
                .collect()
        });
        PricingBallot {
            choice: model.choice.map(money),
            van_westendorp,
            gabor_granger,
            updated_at: model.updated_at,
        }
    }
}

#[derive(SimpleObject, Clone, Debug)]
pub struct VanWestendorpAnswer {
    pub too_cheap: Decimal,
    pub cheap: Decimal,
    pub expensive: Decimal,
    pub too_expensive: Decimal,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct GaborGrangerAnswer {
    pub price: Decimal,
    pub would_buy: bool,
}

#[derive(InputObject)]
pub struct CreatePricingPollInput {
    /// Optional client-made UUID: sending the same input again returns the same poll.
    pub id: Option<ID>,
    pub community_id: ID,
    /// 1–200 characters.
    pub product_name: String,
    #[graphql(default)]
    pub description: String,
    /// ISO 4217 code, e.g. USD, EUR, JPY.
    pub currency: String,
    pub method: MethodValue,
    /// 2–20 distinct positive prices (CHOICE, GABOR_GRANGER); not for VAN_WESTENDORP.
    pub price_points: Option<Vec<Decimal>>,
    pub opens_at: DateTime<Utc>,
    /// After `opensAt`.
    pub closes_at: DateTime<Utc>,
    #[graphql(default)]
    pub binding: bool,
    /// Minimum ballots (binding polls only; default 1).
    pub quorum: Option<i32>,
}

#[derive(InputObject)]
pub struct VanWestendorpInput {
    pub too_cheap: Decimal,
    pub cheap: Decimal,
    pub expensive: Decimal,
    pub too_expensive: Decimal,
}

#[derive(InputObject)]
pub struct GaborGrangerInput {
    pub price: Decimal,
    pub would_buy: bool,
}

#[derive(InputObject)]
pub struct CastBallotInput {
    pub poll_id: ID,
    /// CHOICE: one of the price points.
    pub choice: Option<Decimal>,
    /// VAN_WESTENDORP: tooCheap < cheap < expensive < tooExpensive.
    pub van_westendorp: Option<VanWestendorpInput>,
    /// GABOR_GRANGER: every price point once.
    pub gabor_granger: Option<Vec<GaborGrangerInput>>,
}

#[derive(Default)]
pub struct PricingPollsQuery;

#[Object]
impl PricingPollsQuery {
    /// A pricing poll; null when missing or in a community hidden from the viewer.
    async fn pricing_poll(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<PricingPoll>> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("id", &id).extend()?;
        let found = pricing_polls::find(state, viewer, id).await.extend()?;
        Ok(found.map(PricingPoll::from))
    }

    /// A community's polls, newest first.
    #[graphql(complexity = "crate::pagination::page_cost(first, child_complexity)")]
    async fn pricing_polls(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        status: Option<PollStatusValue>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, PricingPoll>> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        let page = PageRequest::new(first, after).extend()?;
        let page = pricing_polls::list(state, viewer, community_id, status.map(Into::into), page)
            .await
            .extend()?;
        Ok(from_page(page, PricingPoll::from))
    }
}

#[derive(Default)]
pub struct PricingPollsMutation;

#[Object]
impl PricingPollsMutation {
    /// Creates a pricing poll (STAFF/ADMIN).
    async fn create_pricing_poll(
        &self,
        ctx: &Context<'_>,
        input: CreatePricingPollInput,
    ) -> async_graphql::Result<PricingPoll> {
        let (state, viewer) = parts(ctx)?;
        let input = NewPoll {
            id: parse_optional_id("id", &input.id).extend()?,
            community_id: parse_id("communityId", &input.community_id).extend()?,
            product_name: input.product_name,
            description: input.description,
            currency: input.currency,
            method: input.method.into(),
            price_points: input.price_points,
            opens_at: input.opens_at,
            closes_at: input.closes_at,
            binding: input.binding,
            quorum: input.quorum,
        };
        Ok(pricing_polls::create(state, viewer, input)
            .await
            .extend()?
            .into())
    }

    /// Casts or replaces the viewer's ballot (members; eligible members for a binding poll).
    async fn cast_ballot(
        &self,
        ctx: &Context<'_>,
        input: CastBallotInput,
    ) -> async_graphql::Result<PricingBallot> {
        let (state, viewer) = parts(ctx)?;
        let poll_id = parse_id("pollId", &input.poll_id).extend()?;
        let ballot = BallotInput {
            choice: input.choice,
            van_westendorp: input
                .van_westendorp
                .map(|v| [v.too_cheap, v.cheap, v.expensive, v.too_expensive]),
            gabor_granger: input.gabor_granger.map(|answers| {
                answers
                    .into_iter()
                    .map(|a| (a.price, a.would_buy))
                    .collect()
            }),
            decision: None,
        };
        let (saved, poll) = pricing_ballots::cast_ballot(state, viewer, poll_id, ballot)
            .await
            .extend()?;
        Ok(PricingBallot::new(saved, digits_of(&poll)))
    }

    /// Closes a poll now (STAFF/ADMIN).
    async fn close_pricing_poll(
        &self,
        ctx: &Context<'_>,
        poll_id: ID,
    ) -> async_graphql::Result<PricingPoll> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("pollId", &poll_id).extend()?;
        Ok(pricing_polls::close(state, viewer, id)
            .await
            .extend()?
            .into())
    }
}

#[derive(Default)]
pub struct PricingPollsSubscription;

#[Subscription]
impl PricingPollsSubscription {
    /// The poll after every ballot and after it closes (results of a binding poll stay null
    /// until then).
    async fn pricing_poll_updated(
        &self,
        ctx: &Context<'_>,
        poll_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<PricingPoll>> + use<>> {
        let (state, viewer) = parts(ctx)?;
        let id: Uuid = parse_id("pollId", &poll_id).extend()?;
        let receiver = state.events.subscribe();
        pricing_polls::find(state, viewer, id)
            .await
            .extend()?
            .ok_or_else(|| AppError::not_found("pricing poll").extend())?;
        let (state, viewer) = (state.clone(), viewer.clone());
        Ok(live_updates(
            receiver,
            Event::PricingPoll(id),
            "pricing poll",
            move || {
                let (state, viewer) = (state.clone(), viewer.clone());
                async move {
                    let found = pricing_polls::find(&state, &viewer, id).await?;
                    Ok(found.map(PricingPoll::from))
                }
            },
        ))
    }
}
