//! `push`: a device's queued mutations, applied at most once each. Every mutation runs in its
//! own transaction with its ledger row and the client's `lastMutationId` bump. A permanent
//! failure of the domain rule ([`super::mutations`]) rolls its transaction back, and a new one
//! records it (REJECTED, the queue moves on) without any of its effects; a transient one rolls
//! back and stops the batch. The pokes of a push's mutations go out together, a few
//! milliseconds apart at most.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{suggestion, sync_client, sync_mutation_ledger};
use sea_orm::sea_query::{CommonTableExpression, Expr, WithClause};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

pub use super::mutations::MutationName;
use super::mutations::run;
use super::{check_versions, ensure_group, find_or_insert};
use crate::auth::Viewer;
use crate::changes::SyncWriter;
use crate::error::{AppError, AppResult};
use crate::events::Event;
use crate::state::AppState;

/// Most mutations one push may carry.
pub const MAX_BATCH: usize = 100;

/// What a client waits before resending after a transient failure.
pub const RETRY_AFTER_MS: i32 = 1000;

/// One queued mutation.
#[derive(Debug, Clone)]
pub struct ClientMutation {
    pub id: i64,
    pub name: MutationName,
    pub args: Value,
    /// The seq the device had pulled when it made an edit (field-level merge).
    pub base_seq: Option<String>,
    /// Informational only: server time decides.
    pub client_created_at: Option<DateTime<Utc>>,
}

/// What a push carries.
#[derive(Debug, Clone)]
pub struct PushRequest {
    pub client_group_id: Uuid,
    pub client_id: Uuid,
    pub protocol_version: i32,
    pub schema_version: i32,
    pub mutations: Vec<ClientMutation>,
    /// The client has seen the acks through this id: their ledger rows may go.
    pub acked_through: Option<i64>,
}

/// How a mutation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Applied,
    Rejected,
    Conflict,
}

impl Outcome {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Applied => "APPLIED",
            Outcome::Rejected => "REJECTED",
            Outcome::Conflict => "CONFLICT",
        }
    }
}

/// The result of one mutation, as the ledger stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MutationResult {
    pub id: i64,
    pub outcome: Outcome,
    #[serde(skip)]
    pub replayed: bool,
    pub code: Option<String>,
    pub message: Option<String>,
    pub server_values: Option<Value>,
    pub seq: Option<i64>,
}

impl MutationResult {
    pub(super) fn rejected(id: i64, code: &str, message: impl Into<String>) -> Self {
        MutationResult {
            id,
            outcome: Outcome::Rejected,
            replayed: false,
            code: Some(code.to_string()),
            message: Some(message.into()),
            server_values: None,
            seq: None,
        }
    }
}

/// What a push answers.
#[derive(Debug, Clone)]
pub struct PushResult {
    pub last_mutation_id: i64,
    pub results: Vec<MutationResult>,
    pub retry_after_ms: Option<i32>,
}

/// Applies a device's mutations in id order, each at most once.
pub async fn push(
    state: &AppState,
    viewer: &Viewer,
    mut request: PushRequest,
) -> AppResult<PushResult> {
    let user = viewer.require_user()?.clone();
    check_versions(request.protocol_version, request.schema_version)?;
    if request.mutations.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "mutations",
            format!("a push carries at most {MAX_BATCH} mutations"),
        ));
    }
    ensure_group(state, user.id, request.client_group_id).await?;
    let last = ensure_client(state, request.client_group_id, request.client_id).await?;
    if let Some(acked) = request.acked_through {
        release_acked(state, request.client_id, acked.min(last)).await?;
    }
    let mut mutations = std::mem::take(&mut request.mutations);
    mutations.sort_by_key(|m| m.id);
    let mut pokes = Pokes::default();
    let applied = apply(state, viewer, &request, mutations, last, &mut pokes).await;
    pokes.publish(state).await;
    applied
}

/// The mutations of a push (in id order) after `last`, each in its own transaction; the events
/// of those that committed go to `pokes`. The `lastMutationId` answered is one this push saw
/// committed: on SQLite a client row read in the open batch may carry another push's bump that
/// is not durable yet.
async fn apply(
    state: &AppState,
    viewer: &Viewer,
    request: &PushRequest,
    mutations: Vec<ClientMutation>,
    mut last: i64,
    pokes: &mut Pokes,
) -> AppResult<PushResult> {
    let mut results = Vec::new();
    let mut retry_after_ms = None;
    for mutation in mutations {
        let hash = args_hash(mutation.name, &mutation.args);
        let (txn, client) = lock_client(state, request.client_id).await?;
        if mutation.id <= client.last_mutation_id {
            results.push(replay(&txn, request.client_id, &mutation, &hash).await?);
            txn.commit().await?;
            last = client.last_mutation_id;
            continue;
        }
        if mutation.id > client.last_mutation_id + 1 {
            txn.commit().await?;
            last = client.last_mutation_id;
            break;
        }
        let mut sync = SyncWriter::for_group(request.client_group_id);
        let (txn, client, mut result) = match run(
            &txn,
            viewer,
            &mutation,
            request.client_group_id,
            &mut sync,
        )
        .await
        {
            Ok(result) => (txn, client, result),
            Err(err) if is_transient(&err) => {
                drop(txn);
                tracing::warn!(error = %err, mutation = mutation.id, "push stopped by a transient failure");
                retry_after_ms = Some(RETRY_AFTER_MS);
                break;
            }
            Err(err) => {
                // A permanent failure may come after some of the rule's writes: they go with
                // the transaction, and the rejection is recorded in a new one. (A savepoint
                // around every mutation would cost each one two statements more; failures
                // are the rare case.) The client's lock was let go meanwhile: another push
                // of the same client may have run this mutation, and is then replayed.
                txn.rollback().await?;
                let (txn, client) = lock_client(state, request.client_id).await?;
                if client.last_mutation_id >= mutation.id {
                    results.push(replay(&txn, request.client_id, &mutation, &hash).await?);
                    txn.commit().await?;
                    last = client.last_mutation_id;
                    continue;
                }
                sync = SyncWriter::for_group(request.client_group_id);
                let code = rejection_code(&txn, &mutation, &err).await?;
                let rejected = MutationResult::rejected(mutation.id, &code, err.to_string());
                (txn, client, rejected)
            }
        };
        let finished = finish(
            txn,
            request.client_id,
            &mutation,
            &hash,
            &mut result,
            client,
            &mut sync,
        );
        match finished.await {
            Ok(()) => {}
            Err(err) if is_transient(&err) => {
                tracing::warn!(error = %err, mutation = mutation.id, "push stopped by a transient failure");
                retry_after_ms = Some(RETRY_AFTER_MS);
                break;
            }
            Err(err) => return Err(err),
        }
        pokes.add(&sync);
        if pokes.due() {
            pokes.publish(state).await;
        }
        last = mutation.id;
        results.push(result);
    }
    Ok(PushResult {
        last_mutation_id: last,
        results,
        retry_after_ms,
    })
}

/// Starts a mutation's transaction with the client's row locked: the pushes of one client
/// apply its mutations one at a time.
async fn lock_client(
    state: &AppState,
    client_id: Uuid,
) -> AppResult<(crate::db::WriteTransaction, sync_client::Model)> {
    let txn = crate::db::begin_write(&state.db).await?;
    let client = sync_client::Entity::find_by_id(client_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("sync client vanished"))?;
    Ok((txn, client))
}

/// The events of a push's committed mutations, published together: once [`POKE_EVERY`] has
/// passed since the first of them committed, and at the end of the push (also one that fails
/// half-way). A push of many mutations then sends a few `NOTIFY`s, not one per mutation.
#[derive(Default)]
struct Pokes {
    events: Vec<Event>,
    since: Option<Instant>,
}

/// The longest a committed mutation's poke waits for the mutations after it.
const POKE_EVERY: Duration = Duration::from_millis(10);

impl Pokes {
    fn add(&mut self, sync: &SyncWriter) {
        for event in sync.events() {
            if !self.events.contains(&event) {
                self.events.push(event);
            }
        }
        self.since.get_or_insert_with(Instant::now);
    }

    fn due(&self) -> bool {
        self.since
            .is_some_and(|since| since.elapsed() >= POKE_EVERY)
    }

    async fn publish(&mut self, state: &AppState) {
        self.since = None;
        if !self.events.is_empty() {
            let events = std::mem::take(&mut self.events);
            state.events.publish(&state.db, events).await;
        }
    }
}

/// A mutation id already applied: its stored result, or MUTATION_ID_REUSED when the id now
/// comes with another name or other arguments.
async fn replay(
    txn: &DatabaseTransaction,
    client_id: Uuid,
    mutation: &ClientMutation,
    hash: &str,
) -> AppResult<MutationResult> {
    let stored = sync_mutation_ledger::Entity::find_by_id((client_id, mutation.id))
        .one(txn)
        .await?;
    let mut result = match stored {
        Some(row) if row.name == mutation.name.name() && row.args_hash == hash => {
            serde_json::from_str::<MutationResult>(&row.result).map_err(AppError::internal)?
        }
        Some(_) => MutationResult::rejected(
            mutation.id,
            "MUTATION_ID_REUSED",
            "this mutation id was already used with other arguments; it was not run",
        ),
        None => MutationResult::rejected(
            mutation.id,
            "MUTATION_ID_REUSED",
            "this mutation id is behind the client's lastMutationId and its result was released \
             by ackedThrough; it was not run",
        ),
    };
    result.replayed = true;
    Ok(result)
}

/// Ends a mutation's transaction: takes its seq (last), writes the change index, the ledger row
/// and the client's `lastMutationId`, and commits.
async fn finish(
    txn: crate::db::WriteTransaction,
    client_id: Uuid,
    mutation: &ClientMutation,
    hash: &str,
    result: &mut MutationResult,
    client: sync_client::Model,
    sync: &mut SyncWriter,
) -> AppResult<()> {
    let seq = sync.flush_always(&txn).await?;
    result.seq = Some(seq);
    let now = Utc::now();
    let ledger = sync_mutation_ledger::Entity::insert(sync_mutation_ledger::ActiveModel {
        client_id: Set(client_id),
        mutation_id: Set(mutation.id),
        name: Set(mutation.name.name().to_string()),
        args_hash: Set(hash.to_string()),
        outcome: Set(result.outcome.name().to_string()),
        result: Set(serde_json::to_string(result).map_err(AppError::internal)?),
        seq: Set(Some(seq)),
        created_at: Set(now),
    })
    .into_query();
    let bump = sync_client::Entity::update_many()
        .col_expr(
            sync_client::Column::LastMutationId,
            Expr::value(mutation.id),
        )
        .col_expr(sync_client::Column::LastMutationSeq, Expr::value(seq))
        .col_expr(sync_client::Column::UpdatedAt, Expr::value(now))
        .filter(sync_client::Column::Id.eq(client.id))
        .into_query();
    let backend = txn.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        // One statement: the client's update with the ledger's insert as its CTE.
        let insert = CommonTableExpression::new()
            .query(ledger)
            .table_name("ledger")
            .to_owned();
        let both = bump.with(WithClause::new().cte(insert).to_owned());
        txn.execute_raw(backend.build(&both)).await?;
    } else {
        txn.execute_raw(backend.build(&ledger)).await?;
        txn.execute_raw(backend.build(&bump)).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Forgets the stored results of mutations the client has seen acked (ids ≤ `through`, never
/// beyond its `lastMutationId`): the ledger stays as small as the unacknowledged queue.
async fn release_acked(state: &AppState, client_id: Uuid, through: i64) -> AppResult<()> {
    sync_mutation_ledger::Entity::delete_many()
        .filter(sync_mutation_ledger::Column::ClientId.eq(client_id))
        .filter(sync_mutation_ledger::Column::MutationId.lte(through))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// Creates the client on first use; a client id of another group is FORBIDDEN.
async fn ensure_client(state: &AppState, group_id: Uuid, client_id: Uuid) -> AppResult<i64> {
    let client = find_or_insert::<sync_client::Entity>(
        state,
        client_id,
        sync_client::ActiveModel {
            id: Set(client_id),
            client_group_id: Set(group_id),
            last_mutation_id: Set(0),
            last_mutation_seq: Set(0),
            updated_at: Set(Utc::now()),
        },
        sync_client::Column::Id,
    )
    .await?;
    if client.client_group_id != group_id {
        return Err(AppError::Forbidden(
            "this client belongs to another client group".into(),
        ));
    }
    Ok(client.last_mutation_id)
}

/// Database trouble is transient (retry later); everything else is a permanent answer.
fn is_transient(err: &AppError) -> bool {
    matches!(err, AppError::Unavailable(_) | AppError::Internal(_))
}

/// The result code of a permanent failure. A missing target that exists as a deleted
/// suggestion is ENTITY_DELETED: deletes win and ids are never reused.
async fn rejection_code(
    txn: &DatabaseTransaction,
    mutation: &ClientMutation,
    err: &AppError,
) -> AppResult<String> {
    if matches!(err, AppError::NotFound(_) | AppError::Conflict(_))
        && let Some(target) = suggestion_target(mutation)
        && suggestion::Entity::find_by_id(target)
            .one(txn)
            .await?
            .is_some_and(|s| s.deleted_at.is_some())
    {
        return Ok("ENTITY_DELETED".into());
    }
    Ok(match err {
        AppError::BadUserInput { field: Some(f), .. } if f == "args" => "INVALID_ARGS",
        AppError::Sanctioned(_) => "SANCTIONED",
        other => other.code(),
    }
    .to_string())
}

/// The suggestion a mutation acts on, if any.
fn suggestion_target(mutation: &ClientMutation) -> Option<Uuid> {
    let key = match mutation.name {
        MutationName::CreateSuggestion
        | MutationName::EditSuggestion
        | MutationName::DeleteSuggestion => "id",
        MutationName::SetVote | MutationName::AddComment => "suggestionId",
        _ => return None,
    };
    mutation
        .args
        .get(key)
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
}

/// SHA-256 of the name and the arguments with object keys sorted.
fn args_hash(name: MutationName, args: &Value) -> String {
    crate::auth::secrets::digest(&json!([name.name(), canonical(args)]).to_string())
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::to_value(sorted).unwrap_or(Value::Null)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
