//! Loop metrics in GraphQL: `communityMetrics`.

use async_graphql::{Context, ID, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::suggestions::{KindValue, StatusValue};
use super::{parse_id, parts};
use crate::services::metrics::{self, Metrics};

/// Suggestions of one kind.
#[derive(SimpleObject, Clone, Debug)]
pub struct KindCount {
    pub kind: KindValue,
    pub count: i64,
}

/// Suggestions in one status.
#[derive(SimpleObject, Clone, Debug)]
pub struct StatusCount {
    pub status: StatusValue,
    pub count: i64,
}

/// How the closed loop runs in one community, over suggestions created in `[from, to)`.
/// Ratios are exact decimals rounded half-even to 6 places and seconds to the millisecond;
/// each is null when nothing was there to count.
#[derive(SimpleObject, Clone, Debug)]
pub struct CommunityMetrics {
    pub community_id: ID,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Live (not deleted) suggestions created in the window.
    pub suggestion_count: i64,
    pub by_kind: Vec<KindCount>,
    pub by_status: Vec<StatusCount>,
    /// Those with an official response.
    pub responded_count: i64,
    /// respondedCount / suggestionCount.
    pub reply_rate: Option<Decimal>,
    pub complaint_count: i64,
    /// The reply rate of complaints alone.
    pub complaint_reply_rate: Option<Decimal>,
    /// From submission to the first official response, over those answered.
    pub median_first_response_seconds: Option<Decimal>,
    pub mean_first_response_seconds: Option<Decimal>,
    /// SHIPPED or DECLINED ones.
    pub resolved_count: i64,
    /// From submission to SHIPPED or DECLINED.
    pub mean_resolution_seconds: Option<Decimal>,
    /// PLANNED, IN_PROGRESS, SHIPPED or DECLINED ones.
    pub decided_count: i64,
    /// (PLANNED + IN_PROGRESS + SHIPPED) / decidedCount.
    pub adoption_rate: Option<Decimal>,
    /// The share of suggestions by the 100 most active authors.
    pub top_contributor_share: Option<Decimal>,
    /// Items of releases published in the window.
    pub released_item_count: i64,
    /// Those items that ship a user's suggestion, over releasedItemCount.
    pub user_sourced_release_share: Option<Decimal>,
}

impl From<Metrics> for CommunityMetrics {
    fn from(m: Metrics) -> Self {
        CommunityMetrics {
            community_id: ID(m.community_id.to_string()),
            from: m.from,
            to: m.to,
            suggestion_count: m.suggestion_count,
            by_kind: m
                .by_kind
                .into_iter()
                .map(|(kind, count)| KindCount {
                    kind: kind.into(),
                    count,
                })
                .collect(),
            by_status: m
                .by_status
                .into_iter()
                .map(|(status, count)| StatusCount {
                    status: status.into(),
                    count,
                })
                .collect(),
            responded_count: m.responded_count,
            reply_rate: m.reply_rate,
            complaint_count: m.complaint_count,
            complaint_reply_rate: m.complaint_reply_rate,
            median_first_response_seconds: m.median_first_response_seconds,
            mean_first_response_seconds: m.mean_first_response_seconds,
            resolved_count: m.resolved_count,
            mean_resolution_seconds: m.mean_resolution_seconds,
            decided_count: m.decided_count,
            adoption_rate: m.adoption_rate,
            top_contributor_share: m.top_contributor_share,
            released_item_count: m.released_item_count,
            user_sourced_release_share: m.user_sourced_release_share,
        }
    }
}

#[derive(Default)]
pub struct MetricsQuery;

#[Object]
impl MetricsQuery {
    /// A community's loop metrics (STAFF/ADMIN, and the community's OWNER and MODERATORs).
    async fn community_metrics(
        &self,
        ctx: &Context<'_>,
        community_id: ID,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<CommunityMetrics> {
        let (state, viewer) = parts(ctx)?;
        let community_id = parse_id("communityId", &community_id).extend()?;
        Ok(
            metrics::community_metrics(state, viewer, community_id, from, to)
                .await
                .extend()?
                .into(),
        )
    }
}
