//! Every DataLoader, built fresh for each request by [`Loaders::new`]: one query per batch,
//! never one per row, and nothing cached across requests. Loaders that answer "what may this
//! viewer see" carry the request's viewer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    appeal, comment, community, membership, pricing_ballot, pricing_poll, revenue_share_record,
    sales_report, sanction, suggestion, suggestion_event, user, vote,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::clock::Clock;
use crate::error::AppError;
use crate::services;

/// The loaders of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub communities: DataLoader<CommunityLoader>,
    pub suggestions: DataLoader<SuggestionLoader>,
    pub comments: DataLoader<CommentLoader>,
    pub memberships: DataLoader<MembershipLoader>,
    pub votes: DataLoader<VoteLoader>,
    pub timelines: DataLoader<TimelineLoader>,
    pub idea_rewards: DataLoader<IdeaRewardLoader>,
    pub sales_reports: DataLoader<SalesReportLoader>,
    pub accrued_counts: DataLoader<AccruedCountLoader>,
    pub revenue_share_records: DataLoader<RevenueShareRecordLoader>,
    pub pricing_polls: DataLoader<PricingPollLoader>,
    pub comment_pages: DataLoader<CommentPageLoader>,
    pub viewer_ballots: DataLoader<ViewerBallotLoader>,
    pub poll_results: DataLoader<PollResultsLoader>,
    pub decision_standings: DataLoader<DecisionStandingsLoader>,
    pub appeals: DataLoader<AppealLoader>,
    pub sanctions: DataLoader<SanctionLoader>,
}

/// How long a loader waits for more keys before it queries. The keys of one response arrive in
/// the same executor pass, so a short wait batches them all (the crate's default is 1 ms, which
/// only adds latency here).
const BATCH_DELAY: Duration = Duration::from_micros(100);

/// A loader whose batches run in tasks of their own, with the request's clock (see `clock`).
fn loader<K, T>(clock: &Clock, inner: T) -> DataLoader<T>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    T: Loader<K>,
{
    let clock = clock.clone();
    DataLoader::new(inner, move |work| tokio::spawn(clock.scope(work))).delay(BATCH_DELAY)
}

impl Loaders {
    pub fn new(
        db: DatabaseConnection,
        viewer: Viewer,
        clock: &Clock,
        poll_results: Arc<services::pricing_polls::ResultsCache>,
    ) -> Self {
        Loaders {
            users: loader(clock, UserLoader { db: db.clone() }),
            communities: loader(clock, CommunityLoader { db: db.clone() }),
            suggestions: loader(
                clock,
                SuggestionLoader {
                    db: db.clone(),
                    viewer: viewer.clone(),
                },
            ),
            comments: loader(clock, CommentLoader { db: db.clone() }),
            memberships: loader(
                clock,
                MembershipLoader {
                    db: db.clone(),
                    viewer: viewer.clone(),
                },
            ),
            timelines: loader(clock, TimelineLoader { db: db.clone() }),
            idea_rewards: loader(clock, IdeaRewardLoader { db: db.clone() }),
            sales_reports: loader(clock, SalesReportLoader { db: db.clone() }),
            accrued_counts: loader(clock, AccruedCountLoader { db: db.clone() }),
            revenue_share_records: loader(clock, RevenueShareRecordLoader { db: db.clone() }),
            pricing_polls: loader(clock, PricingPollLoader { db: db.clone() }),
            comment_pages: loader(
                clock,
                CommentPageLoader {
                    db: db.clone(),
                    viewer: viewer.clone(),
                },
            ),
            viewer_ballots: loader(
                clock,
                ViewerBallotLoader {
                    db: db.clone(),
                    viewer: viewer.clone(),
                },
            ),
            poll_results: loader(
                clock,
                PollResultsLoader {
                    db: db.clone(),
                    cache: poll_results,
                },
            ),
            decision_standings: loader(clock, DecisionStandingsLoader { db: db.clone() }),
            appeals: loader(clock, AppealLoader { db: db.clone() }),
            sanctions: loader(clock, SanctionLoader { db: db.clone() }),
            votes: loader(clock, VoteLoader { db, viewer }),
        }
    }
}

/// Users by id.
pub struct UserLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, AppError> {
        let users = services::users::find_many(&self.db, keys).await?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Communities by id, without a visibility check: only reached from something already visible.
pub struct CommunityLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for CommunityLoader {
    type Value = community::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, community::Model>, AppError> {
        let rows = services::communities::find_many(&self.db, keys).await?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// Suggestions by id, only those the viewer may see (others are simply absent).
pub struct SuggestionLoader {
    db: DatabaseConnection,
    viewer: Viewer,
}

impl Loader<Uuid> for SuggestionLoader {
    type Value = suggestion::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, suggestion::Model>, AppError> {
        let rows = services::suggestions::find_visible(&self.db, &self.viewer, keys).await?;
        Ok(rows.into_iter().map(|s| (s.id, s)).collect())
    }
}

/// Comments by id (official responses), without a visibility check.
pub struct CommentLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for CommentLoader {
    type Value = comment::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, comment::Model>, AppError> {
        let rows = services::comments::find_many(&self.db, keys).await?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// The viewer's membership, by community id.
pub struct MembershipLoader {
    db: DatabaseConnection,
    viewer: Viewer,
}

impl Loader<Uuid> for MembershipLoader {
    type Value = membership::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, membership::Model>, AppError> {
        let Some(user_id) = self.viewer.user_id() else {
            return Ok(HashMap::new());
        };
        let rows = services::memberships::memberships_of(&self.db, user_id, keys).await?;
        Ok(rows.into_iter().map(|m| (m.community_id, m)).collect())
    }
}

/// The viewer's vote, by suggestion id.
pub struct VoteLoader {
    db: DatabaseConnection,
    viewer: Viewer,
}

impl Loader<Uuid> for VoteLoader {
    type Value = vote::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, vote::Model>, AppError> {
        let Some(user_id) = self.viewer.user_id() else {
            return Ok(HashMap::new());
        };
        let rows = services::votes::find_for_user(&self.db, user_id, keys).await?;
        Ok(rows.into_iter().map(|v| (v.suggestion_id, v)).collect())
    }
}

/// Suggestion timelines, by suggestion id (each oldest first).
pub struct TimelineLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for TimelineLoader {
    type Value = Vec<suggestion_event::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<suggestion_event::Model>>, AppError> {
        let mut timelines: HashMap<Uuid, Vec<suggestion_event::Model>> = HashMap::new();
        for event in services::suggestion_workflow::timelines(&self.db, keys).await? {
            timelines
                .entry(event.suggestion_id)
                .or_default()
                .push(event);
        }
        Ok(timelines)
    }
}

/// Idea rewards with their contributors, without a permission check: only reached from a
/// revenue-share record the viewer may see.
pub struct IdeaRewardLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for IdeaRewardLoader {
    type Value = services::idea_rewards::Reward;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, services::idea_rewards::Reward>, AppError> {
        let rows = services::idea_rewards::find_many(&self.db, keys).await?;
        Ok(rows.into_iter().map(|r| (r.model.id, r)).collect())
    }
}

/// Sales reports, without a permission check: only reached from a visible record.
pub struct SalesReportLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for SalesReportLoader {
    type Value = sales_report::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, sales_report::Model>, AppError> {
        let rows = services::sales_reports::find_reports(&self.db, keys).await?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// The appeal of each sanction, where there is one.
pub struct AppealLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for AppealLoader {
    type Value = appeal::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, appeal::Model>, AppError> {
        let rows = services::appeals::for_sanctions(&self.db, keys).await?;
        Ok(rows.into_iter().map(|a| (a.sanction_id, a)).collect())
    }
}

/// Sanctions by id.
pub struct SanctionLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for SanctionLoader {
    type Value = sanction::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, sanction::Model>, AppError> {
        let rows = services::sanctions::find_many(&self.db, keys).await?;
        Ok(rows.into_iter().map(|s| (s.id, s)).collect())
    }
}

/// How many records each sales report accrued (reversals not counted); absent means none.
pub struct AccruedCountLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for AccruedCountLoader {
    type Value = i64;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, i64>, AppError> {
        services::revenue_shares::accrued_counts(&self.db, keys).await
    }
}

/// Revenue-share records, without a permission check: only reached from a visible record
/// (a reversal's original belongs to the same beneficiary).
pub struct RevenueShareRecordLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for RevenueShareRecordLoader {
    type Value = revenue_share_record::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, revenue_share_record::Model>, AppError> {
        let rows = services::revenue_shares::find_records(&self.db, keys).await?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// Pricing polls, without a visibility check: only reached from a device's own ballot.
pub struct PricingPollLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for PricingPollLoader {
    type Value = pricing_poll::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, pricing_poll::Model>, AppError> {
        let rows = services::pricing_polls::find_many(&self.db, keys).await?;
        Ok(rows.into_iter().map(|p| (p.id, p)).collect())
    }
}

/// The first page of a suggestion's comments: keyed by (suggestion, rows to fetch), so each
/// page size is one query for every suggestion of the response.
pub struct CommentPageLoader {
    db: DatabaseConnection,
    viewer: Viewer,
}

impl Loader<(Uuid, u64)> for CommentPageLoader {
    type Value = Vec<comment::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(Uuid, u64)],
    ) -> Result<HashMap<(Uuid, u64), Vec<comment::Model>>, AppError> {
        let mut by_size: HashMap<u64, Vec<Uuid>> = HashMap::new();
        for (suggestion, rows) in keys {
            by_size.entry(*rows).or_default().push(*suggestion);
        }
        let mut pages = HashMap::new();
        for (rows, suggestions) in by_size {
            let mut found =
                services::comments::first_pages(&self.db, &self.viewer, &suggestions, rows).await?;
            for suggestion in suggestions {
                let page = found.remove(&suggestion).unwrap_or_default();
                pages.insert((suggestion, rows), page);
            }
        }
        Ok(pages)
    }
}

/// The viewer's ballot, by poll.
pub struct ViewerBallotLoader {
    db: DatabaseConnection,
    viewer: Viewer,
}

impl Loader<Uuid> for ViewerBallotLoader {
    type Value = pricing_ballot::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, pricing_ballot::Model>, AppError> {
        let rows = services::pricing_ballots::viewer_ballots(&self.db, &self.viewer, keys).await?;
        Ok(rows.into_iter().map(|b| (b.poll_id, b)).collect())
    }
}

/// Poll results, by poll (absent while a binding poll is open).
pub struct PollResultsLoader {
    db: DatabaseConnection,
    cache: Arc<services::pricing_polls::ResultsCache>,
}

/// Keyed by poll and the `tally_version` the request read: results already computed at that
/// version cost no query.
impl Loader<(Uuid, i64)> for PollResultsLoader {
    type Value = Arc<services::pricing_polls::Results>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(Uuid, i64)],
    ) -> Result<HashMap<(Uuid, i64), Arc<services::pricing_polls::Results>>, AppError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for &(id, version) in keys {
            match self.cache.get(id, version) {
                Some(results) => {
                    found.insert((id, version), results);
                }
                None => missing.push(id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let polls = services::pricing_polls::find_many(&self.db, &missing).await?;
        let computed = services::pricing_polls::results_many(&self.db, &self.cache, &polls).await?;
        for key in keys {
            if let (false, Some(results)) = (found.contains_key(key), computed.get(&key.0)) {
                found.insert(*key, results.clone());
            }
        }
        Ok(found)
    }
}

/// The ranked options of decision votes by poll id (votes hidden while a binding one is open).
pub struct DecisionStandingsLoader {
    db: DatabaseConnection,
}

impl Loader<Uuid> for DecisionStandingsLoader {
    type Value = Vec<services::decision_polls::Standing>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<services::decision_polls::Standing>>, AppError> {
        let polls = services::pricing_polls::find_many(&self.db, keys).await?;
        services::decision_polls::standings_many(&self.db, &polls).await
    }
}
