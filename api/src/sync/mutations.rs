//! The named mutations a device may push, and the rule behind each: its arguments (checked
//! field by field, unknown fields refused), the service function it runs — the same one as the
//! matching GraphQL mutation — and the field-by-field merge of EDIT_SUGGESTION.

use entity::{suggestion, sync_field_version};
use rust_decimal::Decimal;
use sea_orm::{ActiveEnum, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::push::{ClientMutation, MutationResult, Outcome};
use crate::auth::Viewer;
use crate::changes::{EntityKind, SyncWriter};
use crate::error::{AppError, AppResult};
use crate::services::pricing_ballots::BallotInput;
use crate::services::suggestions::{NewSuggestion, SuggestionChanges};
use crate::services::{comments, decision_polls, memberships, pricing_ballots, suggestions, votes};

/// The named mutations a device may queue. Arguments of a shipped name never change; a new
/// shape gets a new name. None of them touches revenue shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutationName {
    CreateSuggestion,
    EditSuggestion,
    DeleteSuggestion,
    SetVote,
    SetBallot,
    SetDecisionBallot,
    AddComment,
    JoinCommunity,
    LeaveCommunity,
}

impl MutationName {
    /// The wire name, as stored in the ledger.
    pub fn name(self) -> &'static str {
        match self {
            MutationName::CreateSuggestion => "CREATE_SUGGESTION",
            MutationName::EditSuggestion => "EDIT_SUGGESTION",
            MutationName::DeleteSuggestion => "DELETE_SUGGESTION",
            MutationName::SetVote => "SET_VOTE",
            MutationName::SetBallot => "SET_BALLOT",
            MutationName::SetDecisionBallot => "SET_DECISION_BALLOT",
            MutationName::AddComment => "ADD_COMMENT",
            MutationName::JoinCommunity => "JOIN_COMMUNITY",
            MutationName::LeaveCommunity => "LEAVE_COMMUNITY",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateSuggestionArgs {
    id: Uuid,
    community_id: Uuid,
    kind: String,
    title: String,
    body: String,
    #[serde(default)]
    product_line: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EditSuggestionArgs {
    id: Uuid,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    product_line: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IdArgs {
    id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SetVoteArgs {
    suggestion_id: Uuid,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VanWestendorpArgs {
    too_cheap: Decimal,
    cheap: Decimal,
    expensive: Decimal,
    too_expensive: Decimal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GaborGrangerArgs {
    price: Decimal,
    would_buy: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SetBallotArgs {
    poll_id: Uuid,
    #[serde(default)]
    choice: Option<Decimal>,
    #[serde(default)]
    van_westendorp: Option<VanWestendorpArgs>,
    #[serde(default)]
    gabor_granger: Option<Vec<GaborGrangerArgs>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SetDecisionBallotArgs {
    poll_id: Uuid,
    option_ids: Vec<Uuid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddCommentArgs {
    id: Uuid,
    suggestion_id: Uuid,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CommunityArgs {
    community_id: Uuid,
}

fn args<T: DeserializeOwned>(value: &Value) -> AppResult<T> {
    serde_json::from_value(value.clone())
        .map_err(|e| AppError::bad_input("args", format!("invalid args: {e}")))
}

fn invalid_args(message: &str) -> AppError {
    AppError::bad_input("args", message.to_string())
}

/// Runs one mutation inside `txn` (a savepoint), recording its changes in `sync`.
pub(super) async fn run(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    mutation: &ClientMutation,
    client_group: Uuid,
    sync: &mut SyncWriter,
) -> AppResult<MutationResult> {
    let applied = MutationResult {
        id: mutation.id,
        outcome: Outcome::Applied,
        replayed: false,
        code: None,
        message: None,
        server_values: None,
        seq: None,
    };
    match mutation.name {
        MutationName::CreateSuggestion => {
            let a: CreateSuggestionArgs = args(&mutation.args)?;
            let kind = suggestion::Kind::try_from_value(&a.kind)
                .map_err(|_| invalid_args("kind must be IDEA, COMPLAINT or BUG"))?;
            let input = NewSuggestion {
                id: Some(a.id),
                community_id: a.community_id,
                kind,
                title: a.title,
                body: a.body,
                product_line: a.product_line,
            };
            suggestions::submit_in(txn, viewer, input, sync).await?;
        }
        MutationName::EditSuggestion => {
            let a: EditSuggestionArgs = args(&mutation.args)?;
            return edit(txn, viewer, mutation, a, client_group, sync, applied).await;
        }
        MutationName::DeleteSuggestion => {
            let a: IdArgs = args(&mutation.args)?;
            suggestions::delete_in(txn, viewer, a.id, sync).await?;
        }
        MutationName::SetVote => {
            let a: SetVoteArgs = args(&mutation.args)?;
            let value = entity::vote::Value::try_from_value(&a.value)
                .map_err(|_| invalid_args("value must be UP, DOWN or NONE"))?;
            votes::cast_in(txn, viewer, a.suggestion_id, value, sync).await?;
        }
        MutationName::SetBallot => {
            let a: SetBallotArgs = args(&mutation.args)?;
            let input = BallotInput {
                choice: a.choice,
                van_westendorp: a
                    .van_westendorp
                    .map(|v| [v.too_cheap, v.cheap, v.expensive, v.too_expensive]),
                gabor_granger: a
                    .gabor_granger
                    .map(|list| list.into_iter().map(|g| (g.price, g.would_buy)).collect()),
                // SET_BALLOT's arguments are fixed: a decision ballot is SET_DECISION_BALLOT.
                decision: None,
            };
            pricing_ballots::cast_ballot_in(txn, viewer, a.poll_id, input, sync).await?;
        }
        MutationName::SetDecisionBallot => {
            let a: SetDecisionBallotArgs = args(&mutation.args)?;
            decision_polls::cast_in(txn, viewer, a.poll_id, a.option_ids, sync).await?;
        }
        MutationName::AddComment => {
            let a: AddCommentArgs = args(&mutation.args)?;
            comments::add_in(txn, viewer, Some(a.id), a.suggestion_id, &a.body, sync).await?;
        }
        MutationName::JoinCommunity => {
            let a: CommunityArgs = args(&mutation.args)?;
            memberships::join_in(txn, viewer, a.community_id, sync).await?;
        }
        MutationName::LeaveCommunity => {
            let a: CommunityArgs = args(&mutation.args)?;
            memberships::leave_in(txn, viewer, a.community_id, sync).await?;
        }
    }
    Ok(applied)
}

/// EDIT_SUGGESTION, field by field: a field someone else changed after the device's `baseSeq`
/// is not applied and comes back in `serverValues` (outcome CONFLICT); the others merge.
async fn edit(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    mutation: &ClientMutation,
    a: EditSuggestionArgs,
    client_group: Uuid,
    sync: &mut SyncWriter,
    applied: MutationResult,
) -> AppResult<MutationResult> {
    let base: i64 = match &mutation.base_seq {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| invalid_args("baseSeq must be a seq from a pull"))?,
    };
    let current = suggestions::lock_visible(txn, viewer, a.id).await?;
    let versions = sync_field_version::Entity::find()
        .filter(sync_field_version::Column::Entity.eq(EntityKind::Suggestion.name()))
        .filter(sync_field_version::Column::EntityId.eq(a.id))
        .all(txn)
        .await?;
    let conflicts = |field: &str| {
        versions
            .iter()
            .any(|v| v.field == field && v.seq > base && v.client_group_id != Some(client_group))
    };
    let mut changes = SuggestionChanges {
        title: None,
        body: None,
        product_line: None,
    };
    let mut server_values = serde_json::Map::new();
    if let Some(title) = a.title {
        if conflicts("title") {
            server_values.insert("title".into(), json!(current.title));
        } else {
            changes.title = Some(title);
        }
    }
    if let Some(body) = a.body {
        if conflicts("body") {
            server_values.insert("body".into(), json!(current.body));
        } else {
            changes.body = Some(body);
        }
    }
    if let Some(product_line) = a.product_line {
        if conflicts("productLine") {
            server_values.insert("productLine".into(), json!(current.product_line));
        } else {
            changes.product_line = Some(product_line);
        }
    }
    if changes.title.is_some() || changes.body.is_some() || changes.product_line.is_some() {
        suggestions::edit_in(txn, viewer, a.id, changes, sync).await?;
    }
    if server_values.is_empty() {
        return Ok(applied);
    }
    Ok(MutationResult {
        outcome: Outcome::Conflict,
        code: Some("CONFLICT".into()),
        message: Some("another device changed these fields since your last pull".into()),
        server_values: Some(Value::Object(server_values)),
        ..applied
    })
}
