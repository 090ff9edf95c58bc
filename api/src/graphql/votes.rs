//! Votes in GraphQL: `VoteValue` and `castVote`.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt};

use super::suggestions::Suggestion;
use super::{parse_id, parts};
use crate::services::votes;

/// A vote. Set semantics: the same vote twice changes nothing; NONE retracts.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::vote::Value")]
pub enum VoteValue {
    Up,
    Down,
    None,
}

#[derive(InputObject)]
pub struct CastVoteInput {
    pub suggestion_id: ID,
    pub value: VoteValue,
}

#[derive(Default)]
pub struct VotesMutation;

#[Object]
impl VotesMutation {
    /// Sets the viewer's vote (ACTIVE members); returns the suggestion with its new counts.
    async fn cast_vote(
        &self,
        ctx: &Context<'_>,
        input: CastVoteInput,
    ) -> async_graphql::Result<Suggestion> {
        let (state, viewer) = parts(ctx)?;
        let id = parse_id("suggestionId", &input.suggestion_id).extend()?;
        Ok(votes::cast(state, viewer, id, input.value.into())
            .await
            .extend()?
            .into())
    }
}
