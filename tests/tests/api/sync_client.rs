//! A reference offline-sync client, as SYNC.md's client obligations describe it: one client
//! group per installation, numbered mutations in an outbox that survives everything (resets
//! included), a synced layer of rows keyed by (entity kind, entity id) that remembers the
//! scopes each row came under, and a cursor.
//!
//! Pages are applied in this order: `reset` (clear the synced layer, keep the outbox), ADDED
//! scope events, the changes in order (UPSERT replaces the row, DELETE removes it), then
//! REMOVED scope events (a row held only under a removed scope is dropped; a row held under
//! several loses that scope) — REMOVED last, so that a page which still carries a change of a
//! scope it removes leaves nothing of that scope behind — and finally the acks of this client.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use canyu_tests::{TestApp, TestUser};
use serde_json::{Value, json};

use crate::support::{new_id, ok};

/// The only protocol version.
pub const PROTOCOL_VERSION: i64 = 1;
/// The current schema version.
pub const SCHEMA_VERSION: i64 = 2;
/// The most mutations one push may carry.
pub const MAX_BATCH: usize = 100;
/// More pages than any test needs: a pull that does not end within them fails.
const MAX_PAGES: usize = 5_000;
/// More pushes than any test needs to empty an outbox.
const MAX_PUSHES: usize = 1_000;

/// The `push` mutation with every result field.
pub const PUSH: &str = "mutation($input: PushInput!) { push(input: $input) { lastMutationId retryAfterMs results { id outcome replayed code message serverValues seq } } }";

/// The `pull` query: every change type with small entity selections (no connections, so the
/// query stays far below the complexity limit).
pub const PULL: &str = concat!(
    "query($input: PullInput!) { pull(input: $input) { reset cursor hasMore userId ",
    "scopeEvents { scope kind } acks { clientId lastMutationId } changes { __typename ",
    "... on SuggestionChange { seq op scope entityId version suggestion { id title body productLine status upvotes downvotes score commentCount community { id } } } ",
    "... on VoteChange { seq op scope entityId version vote { id suggestionId userId value updatedAt } } ",
    "... on BallotChange { seq op scope entityId version ballot { id pollId userId choice optionIds updatedAt } } ",
    "... on PollChange { seq op scope entityId version poll { id status ballotCount closedAt community { id } } } ",
    "... on CommentChange { seq op scope entityId version comment { id suggestionId authorId body official createdAt editedAt } } ",
    "... on MembershipChange { seq op scope entityId version membership { id communityId userId role status joinedAt } } ",
    "... on CommunityChange { seq op scope entityId version community { id slug name visibility } } ",
    "... on RevenueShareChange { seq op scope entityId version record { id status amount { amount currency } beneficiary { id } } } ",
    "... on GrowthEventChange { seq op scope entityId version event { id kind points cappedPoints userId } } ",
    "... on SanctionChange { seq op scope entityId version sanction { id kind liftedAt active } } ",
    "... on AppealChange { seq op scope entityId version appeal { id status } } ",
    "... on ReleaseChange { seq op scope entityId version release { id version publishedAt userSourcedShare } } ",
    "} } }"
);

/// (entity kind, entity id), e.g. ("Suggestion", "0193…").
pub type RowKey = (String, String);

/// One row of the synced layer.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedRow {
    /// The entity as the change carried it.
    pub entity: Value,
    pub version: i64,
    /// The seq of the change that wrote it.
    pub seq: String,
    /// Every scope it was received under.
    pub scopes: BTreeSet<String>,
}

/// The synced layer.
pub type SyncedLayer = BTreeMap<RowKey, SyncedRow>;

/// A device: one client of one client group, acting for one user.
#[derive(Debug, Clone)]
pub struct SyncClient {
    pub user: TestUser,
    pub client_group_id: String,
    pub client_id: String,
    pub next_mutation_id: i64,
    /// Pending ClientMutation objects, in id order.
    pub outbox: Vec<Value>,
    /// The batch the last push sent.
    pub last_sent: Vec<Value>,
    pub cursor: Option<String>,
    pub synced: SyncedLayer,
    /// The scopes the server announced (ADDED and not REMOVED since).
    pub scopes: BTreeSet<String>,
    /// The highest seq applied: the `baseSeq` of the next edit.
    pub last_seq: String,
    pub schema_version: i64,
    /// How many pages said `reset: true`.
    pub resets: usize,
}

impl SyncClient {
    /// A new installation (a new client group) of `user`.
    pub fn new(user: &TestUser) -> SyncClient {
        SyncClient::in_group(user, &new_id())
    }

    /// A new client in the client group `client_group_id`, acting for `user`.
    pub fn in_group(user: &TestUser, client_group_id: &str) -> SyncClient {
        SyncClient {
            user: user.clone(),
            client_group_id: client_group_id.to_string(),
            client_id: new_id(),
            next_mutation_id: 1,
            outbox: Vec::new(),
            last_sent: Vec::new(),
            cursor: None,
            synced: BTreeMap::new(),
            scopes: BTreeSet::new(),
            last_seq: "0".to_string(),
            schema_version: SCHEMA_VERSION,
            resets: 0,
        }
    }

    /// Another installation of the same user (another client group).
    pub fn new_device_of(&self) -> SyncClient {
        SyncClient::new(&self.user)
    }

    /// Another client (e.g. another tab) in this client group.
    pub fn sibling(&self) -> SyncClient {
        SyncClient::in_group(&self.user, &self.client_group_id)
    }

    /// The bearer token of the device's user.
    pub fn token(&self) -> Option<&str> {
        Some(self.user.access_token.as_str())
    }

    /// Queues a mutation with the next id; returns the id. EDIT_SUGGESTION carries `baseSeq`.
    pub fn queue(&mut self, name: &str, args: Value) -> i64 {
        self.queue_with(name, args, json!({}))
    }

    /// Like [`queue`](Self::queue), with extra ClientMutation fields (`clientCreatedAt`, or a
    /// `baseSeq` of the test's choosing).
    pub fn queue_with(&mut self, name: &str, args: Value, extra: Value) -> i64 {
        let id = self.next_mutation_id;
        self.next_mutation_id += 1;
        let mut entry = mutation(id, name, args);
        if name == "EDIT_SUGGESTION" {
            entry["baseSeq"] = json!(self.last_seq);
        }
        if let (Some(target), Value::Object(fields)) = (entry.as_object_mut(), extra) {
            target.extend(fields);
        }
        self.outbox.push(entry);
        id
    }

    /// The ids waiting in the outbox.
    pub fn outbox_ids(&self) -> Vec<i64> {
        self.outbox
            .iter()
            .map(|m| m["id"].as_i64().unwrap_or_else(|| panic!("no id in {m}")))
            .collect()
    }

    /// The PushInput of `mutations` from this client.
    pub fn push_input(&self, mutations: &[Value]) -> Value {
        json!({
            "clientGroupId": self.client_group_id,
            "clientId": self.client_id,
            "protocolVersion": PROTOCOL_VERSION,
            "schemaVersion": self.schema_version,
            "mutations": mutations,
        })
    }

    /// Sends `mutations` as they are (the outbox is left alone); returns the whole answer.
    pub async fn send(&self, app: &TestApp, mutations: &[Value]) -> Value {
        app.graphql(
            PUSH,
            json!({ "input": self.push_input(mutations) }),
            self.token(),
        )
        .await
    }

    /// Sends the outbox (at most [`MAX_BATCH`]) and drops what the answer settled (ids up to
    /// `lastMutationId`); returns the whole answer, which may carry errors.
    pub async fn push_raw(&mut self, app: &TestApp) -> Value {
        let batch: Vec<Value> = self.outbox.iter().take(MAX_BATCH).cloned().collect();
        let body = self.send(app, &batch).await;
        if let Some(last) = body["data"]["push"]["lastMutationId"].as_i64() {
            self.drop_through(last);
        }
        self.last_sent = batch;
        body
    }

    /// [`push_raw`](Self::push_raw), which must succeed; returns the PushPayload.
    pub async fn push(&mut self, app: &TestApp) -> Value {
        let body = self.push_raw(app).await;
        ok(&body, "push").clone()
    }

    /// Pushes until the outbox is empty; returns every PushPayload.
    pub async fn push_all(&mut self, app: &TestApp) -> Vec<Value> {
        let mut payloads = Vec::new();
        for _ in 0..MAX_PUSHES {
            if self.outbox.is_empty() {
                return payloads;
            }
            payloads.push(self.push(app).await);
        }
        panic!(
            "the outbox never emptied: {} left, last answer {:?}",
            self.outbox.len(),
            payloads.last()
        );
    }

    /// The PullInput from `cursor`.
    pub fn pull_input(&self, cursor: Option<&str>, limit: i64) -> Value {
        json!({
            "clientGroupId": self.client_group_id,
            "protocolVersion": PROTOCOL_VERSION,
            "schemaVersion": self.schema_version,
            "cursor": cursor,
            "limit": limit,
        })
    }

    /// Pulls from `cursor` without applying anything; returns the whole answer.
    pub async fn pull_at(&self, app: &TestApp, cursor: Option<&str>, limit: i64) -> Value {
        app.graphql(
            PULL,
            json!({ "input": self.pull_input(cursor, limit) }),
            self.token(),
        )
        .await
    }

    /// Pulls one page from the device's cursor without applying it; the whole answer.
    pub async fn pull_raw(&self, app: &TestApp, limit: i64) -> Value {
        self.pull_at(app, self.cursor.as_deref(), limit).await
    }

    /// Pulls one page, which must succeed, applies it and returns the PullPayload.
    pub async fn pull(&mut self, app: &TestApp, limit: i64) -> Value {
        let body = self.pull_raw(app, limit).await;
        let page = ok(&body, "pull").clone();
        self.apply(&page);
        page
    }

    /// Pulls until `hasMore` is false; returns every page.
    pub async fn pull_all(&mut self, app: &TestApp, limit: i64) -> Vec<Value> {
        let mut pages = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.pull(app, limit).await;
            let more = page["hasMore"] == true;
            pages.push(page);
            if !more {
                return pages;
            }
        }
        panic!("pull never ended after {MAX_PAGES} pages");
    }

    /// Applies one PullPayload.
    pub fn apply(&mut self, page: &Value) {
        if page["reset"] == true {
            self.synced.clear();
            self.scopes.clear();
            self.last_seq = "0".to_string();
            self.resets += 1;
        }
        let mut removed = Vec::new();
        for event in list(&page["scopeEvents"]) {
            let scope = text_of(event, "scope");
            match event["kind"].as_str() {
                Some("ADDED") => {
                    self.scopes.insert(scope);
                }
                Some("REMOVED") => removed.push(scope),
                _ => panic!("an unknown scope event: {event}"),
            }
        }
        for change in list(&page["changes"]) {
            self.apply_change(change);
        }
        for scope in &removed {
            self.scopes.remove(scope);
            self.synced.retain(|_, row| {
                row.scopes.remove(scope);
                !row.scopes.is_empty()
            });
        }
        for ack in list(&page["acks"]) {
            if ack["clientId"] == self.client_id.as_str() {
                let last = ack["lastMutationId"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("an ack without lastMutationId: {ack}"));
                self.drop_through(last);
            }
        }
        self.cursor = Some(text_of(page, "cursor"));
    }

    fn apply_change(&mut self, change: &Value) {
        let kind = change_kind(change);
        let key = (kind, text_of(change, "entityId"));
        let seq = text_of(change, "seq");
        match change["op"].as_str() {
            Some("UPSERT") => {
                let entity = entity_of(change).clone();
                assert!(entity.is_object(), "an UPSERT without its entity: {change}");
                let version = change["version"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("a change without version: {change}"));
                let row = self.synced.entry(key).or_insert_with(|| SyncedRow {
                    entity: Value::Null,
                    version: 0,
                    seq: String::new(),
                    scopes: BTreeSet::new(),
                });
                row.entity = entity;
                row.version = version;
                row.seq = seq.clone();
                row.scopes.insert(text_of(change, "scope"));
            }
            Some("DELETE") => {
                self.synced.remove(&key);
            }
            _ => panic!("an unknown op: {change}"),
        }
        if seq_after(&seq, &self.last_seq) {
            self.last_seq = seq;
        }
    }

    fn drop_through(&mut self, last: i64) {
        self.outbox
            .retain(|m| m["id"].as_i64().is_some_and(|id| id > last));
    }

    /// The entities held of `kind`, in id order.
    pub fn rows_of(&self, kind: &str) -> Vec<&Value> {
        self.synced
            .iter()
            .filter(|(key, _)| key.0 == kind)
            .map(|(_, row)| &row.entity)
            .collect()
    }

    /// The ids held of `kind`.
    pub fn ids_of(&self, kind: &str) -> BTreeSet<String> {
        self.synced
            .keys()
            .filter(|key| key.0 == kind)
            .map(|key| key.1.clone())
            .collect()
    }

    /// The row of `kind` with `id`, if held.
    pub fn row(&self, kind: &str, id: &str) -> Option<&SyncedRow> {
        self.synced.get(&(kind.to_string(), id.to_string()))
    }

    /// The entity of `kind` with `id`, if held.
    pub fn entity(&self, kind: &str, id: &str) -> Option<&Value> {
        self.row(kind, id).map(|row| &row.entity)
    }
}

/// A ClientMutation object.
pub fn mutation(id: i64, name: &str, args: Value) -> Value {
    json!({ "id": id, "name": name, "args": args })
}

/// CREATE_SUGGESTION args of an IDEA.
pub fn idea(id: &str, community_id: &str, title: &str) -> Value {
    json!({
        "id": id,
        "communityId": community_id,
        "kind": "IDEA",
        "title": title,
        "body": format!("More about {title}."),
    })
}

/// A JSON list as a slice.
#[track_caller]
pub fn list(value: &Value) -> &[Value] {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("not a list: {value}"))
}

/// A string field.
#[track_caller]
pub fn text_of(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {value}"))
        .to_string()
}

/// A change's kind: its `__typename` without "Change" ("Suggestion", "RevenueShare", …).
#[track_caller]
pub fn change_kind(change: &Value) -> String {
    let typename = change["__typename"]
        .as_str()
        .unwrap_or_else(|| panic!("a change without __typename: {change}"));
    typename
        .strip_suffix("Change")
        .unwrap_or(typename)
        .to_string()
}

/// The field of a change that carries its entity.
#[track_caller]
pub fn entity_field(kind: &str) -> &'static str {
    match kind {
        "Suggestion" => "suggestion",
        "Vote" => "vote",
        "Ballot" => "ballot",
        "Poll" => "poll",
        "Comment" => "comment",
        "Membership" => "membership",
        "Community" => "community",
        "RevenueShare" => "record",
        "GrowthEvent" => "event",
        "Release" => "release",
        "Sanction" => "sanction",
        "Appeal" => "appeal",
        other => panic!("an unknown change kind: {other}"),
    }
}

/// A change's entity (null on DELETE).
#[track_caller]
pub fn entity_of(change: &Value) -> &Value {
    &change[entity_field(&change_kind(change))]
}

/// Whether the decimal seq `a` is greater than `b`.
pub fn seq_after(a: &str, b: &str) -> bool {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    (a.len(), a) > (b.len(), b)
}

/// Every change of `pages`, in order.
pub fn changes_of(pages: &[Value]) -> Vec<&Value> {
    let mut all = Vec::new();
    for page in pages {
        all.extend(list(&page["changes"]).iter());
    }
    all
}

/// The entity ids of the changes of `kind` among `changes` (any op), in order.
pub fn ids_in(changes: &[&Value], kind: &str) -> Vec<String> {
    changes
        .iter()
        .filter(|change| change_kind(change) == kind)
        .map(|change| text_of(change, "entityId"))
        .collect()
}

/// Every scope event of `pages` as "KIND scope", in order.
pub fn scope_events_of(pages: &[Value]) -> Vec<String> {
    let mut events = Vec::new();
    for page in pages {
        for event in list(&page["scopeEvents"]) {
            events.push(format!(
                "{} {}",
                text_of(event, "kind"),
                text_of(event, "scope")
            ));
        }
    }
    events
}

/// A push's results as "id OUTCOME [CODE]" lines.
pub fn summary(payload: &Value) -> Vec<String> {
    list(&payload["results"])
        .iter()
        .map(|result| {
            let mut line = format!(
                "{} {}",
                result["id"],
                result["outcome"].as_str().unwrap_or("?")
            );
            if let Some(code) = result["code"].as_str() {
                line.push(' ');
                line.push_str(code);
            }
            line
        })
        .collect()
}

/// The result of mutation `id` in a push answer.
#[track_caller]
pub fn result_of(payload: &Value, id: i64) -> &Value {
    list(&payload["results"])
        .iter()
        .find(|result| result["id"] == id)
        .unwrap_or_else(|| panic!("no result for mutation {id} in {payload}"))
}
