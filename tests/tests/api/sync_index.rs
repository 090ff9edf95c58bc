//! The change index is complete: after writes through every GraphQL mutation that touches a
//! synced table (not only `push`), every visible domain row has its `sync_entity` rows, in the
//! scopes SYNC.md gives it.

use std::collections::BTreeSet;

use canyu_tests::TestApp;
use entity::{
    comment, community, idea_reward, membership, pricing_ballot, pricing_poll,
    revenue_share_record, suggestion, sync_entity, vote,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::support::{
    auth, comment as add_comment, create_community, id_of, mark_duplicate, member, new_id, ok,
    respond, staff, submit, vote as cast_vote,
};
use super::sync::create_poll;

type Key = (String, &'static str, Uuid);

/// The index entries of live rows: (scope, entity, id) of every UPSERT.
async fn indexed(app: &TestApp) -> BTreeSet<(String, String, Uuid)> {
    sync_entity::Entity::find()
        .filter(sync_entity::Column::Op.eq("UPSERT"))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.scope, row.entity, row.entity_id))
        .collect()
}

/// What SYNC.md says must be indexed, computed from the domain tables.
async fn expected(app: &TestApp) -> Vec<Key> {
    let db = &app.state.db;
    let mut keys: Vec<Key> = Vec::new();
    for row in community::Entity::find().all(db).await.unwrap() {
        keys.push((format!("community:{}", row.id), "Community", row.id));
    }
    for row in membership::Entity::find().all(db).await.unwrap() {
        keys.push((format!("user:{}", row.user_id), "Membership", row.id));
    }
    let live = suggestion::Entity::find()
        .filter(suggestion::Column::DeletedAt.is_null())
        .all(db)
        .await
        .unwrap();
    for row in &live {
        keys.push((
            format!("community:{}", row.community_id),
            "Suggestion",
            row.id,
        ));
    }
    let community_of = |id: Uuid| live.iter().find(|s| s.id == id).map(|s| s.community_id);
    for row in comment::Entity::find()
        .filter(comment::Column::DeletedAt.is_null())
        .all(db)
        .await
        .unwrap()
    {
        if let Some(community_id) = community_of(row.suggestion_id) {
            keys.push((format!("community:{community_id}"), "Comment", row.id));
        }
    }
    for row in vote::Entity::find().all(db).await.unwrap() {
        if community_of(row.suggestion_id).is_some() {
            keys.push((format!("user:{}", row.user_id), "Vote", row.id));
        }
    }
    for row in pricing_poll::Entity::find().all(db).await.unwrap() {
        keys.push((format!("community:{}", row.community_id), "Poll", row.id));
    }
    for row in pricing_ballot::Entity::find().all(db).await.unwrap() {
        keys.push((format!("user:{}", row.user_id), "Ballot", row.id));
    }
    let rewards = idea_reward::Entity::find().all(db).await.unwrap();
    for row in revenue_share_record::Entity::find().all(db).await.unwrap() {
        keys.push((
            format!("user:{}", row.beneficiary_id),
            "RevenueShare",
            row.id,
        ));
        let reward = rewards.iter().find(|r| r.id == row.reward_id).unwrap();
        let community_id = suggestion::Entity::find_by_id(reward.suggestion_id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .community_id;
        keys.push((format!("admin:{community_id}"), "RevenueShare", row.id));
    }
    keys
}

#[tokio::test]
async fn every_visible_row_written_through_graphql_is_in_the_change_index() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let private = create_community(&app, &owner, "insiders", "PRIVATE").await;
    let alice = member(&app, "alice", &community).await;
    let bob = member(&app, "bob", &community).await;
    let staffer = staff(&app, "staffer").await;
    let admin = app.admin("root").await;

    let first = submit(&app, &alice, &community, "Glow bricks").await;
    let second = submit(&app, &bob, &community, "Glowing bricks").await;
    let doomed = submit(&app, &bob, &community, "Doomed idea").await;
    cast_vote(&app, &alice, &second, "UP").await;
    cast_vote(&app, &bob, &first, "DOWN").await;
    cast_vote(&app, &bob, &doomed, "UP").await;
    add_comment(&app, &alice, &first, "Yes please").await;
    add_comment(&app, &alice, &doomed, "Gone soon").await;
    respond(&app, &staffer, &first, "We are looking into it").await;
    mark_duplicate(&app, &staffer, &second, &first).await;
    let deleted = app
        .graphql(
            "mutation($id: ID!) { deleteSuggestion(suggestionId: $id) }",
            json!({ "id": doomed }),
            auth(&bob),
        )
        .await;
    ok(&deleted, "deleteSuggestion");
    let invited = app
        .graphql(
            "mutation($c: ID!, $u: ID!) { inviteToCommunity(communityId: $c, userId: $u) { status } }",
            json!({ "c": private, "u": alice.id }),
            auth(&owner),
        )
        .await;
    ok(&invited, "inviteToCommunity");

    let poll = create_poll(&app, &staffer, &community).await;
    let ballot = app
        .graphql(
            "mutation($input: CastBallotInput!) { castBallot(input: $input) { updatedAt } }",
            json!({ "input": { "pollId": poll, "choice": "9.99" } }),
            auth(&bob),
        )
        .await;
    ok(&ballot, "castBallot");

    let adoption = app
        .graphql(
            "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
            json!({ "input": {
                "id": new_id(),
                "suggestionId": first,
                "productLine": "bricks",
                "currency": "USD",
                "startsAt": "2025-01-01T00:00:00Z",
            } }),
            auth(&admin),
        )
        .await;
    ok(&adoption, "adoptSuggestion");
    let report = app
        .graphql(
            "mutation($input: ReportSalesInput!) { reportSales(input: $input) { records { id } } }",
            json!({ "input": {
                "externalId": "pos-1", "productLine": "bricks",
                "periodStart": "2025-03-01T00:00:00Z", "periodEnd": "2025-04-01T00:00:00Z",
                "netSales": "1000.00", "currency": "USD",
            } }),
            auth(&admin),
        )
        .await;
    let record = id_of(&ok(&report, "reportSales")["records"][0]);
    let voided = app
        .graphql(
            "mutation($id: ID!) { voidRevenueShare(id: $id, reason: \"test\") { id } }",
            json!({ "id": record }),
            auth(&admin),
        )
        .await;
    ok(&voided, "voidRevenueShare");

    let index = indexed(&app).await;
    let expected = expected(&app).await;
    let kinds: BTreeSet<&str> = expected.iter().map(|(_, kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "Ballot",
            "Comment",
            "Community",
            "Membership",
            "Poll",
            "RevenueShare",
            "Suggestion",
            "Vote"
        ]),
        "the scenario touches every synced kind"
    );
    let missing: Vec<&Key> = expected
        .iter()
        .filter(|(scope, kind, id)| !index.contains(&(scope.clone(), kind.to_string(), *id)))
        .collect();
    assert!(
        missing.is_empty(),
        "rows missing from the change index: {missing:?}"
    );

    // The deleted suggestion, its comment and its votes are tombstones, not live entries.
    let doomed = Uuid::parse_str(&doomed).unwrap();
    assert!(!index.iter().any(|(_, _, id)| *id == doomed));
    let tombstones = sync_entity::Entity::find()
        .filter(sync_entity::Column::Op.eq("DELETE"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        tombstones
            .iter()
            .any(|t| t.entity == "Suggestion" && t.entity_id == doomed)
    );
    assert!(tombstones.iter().any(|t| t.entity == "Comment"));
    assert!(tombstones.iter().any(|t| t.entity == "Vote"));
}

#[tokio::test]
async fn data_written_before_sync_existed_is_indexed_when_the_server_starts() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let alice = member(&app, "alice", &community).await;
    let idea = submit(&app, &alice, &community, "Older than sync").await;
    // A database from before the sync migrations: no index, a sequence that never moved.
    for sql in ["DELETE FROM sync_entity", "UPDATE sync_counter SET seq = 0"] {
        app.state
            .db
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert!(indexed(&app).await.is_empty());

    let restarted = app.replica(&[]).await;
    let index = indexed(&restarted).await;
    let missing: Vec<Key> = expected(&restarted)
        .await
        .into_iter()
        .filter(|(scope, kind, id)| !index.contains(&(scope.clone(), kind.to_string(), *id)))
        .collect();
    assert!(missing.is_empty(), "not indexed at startup: {missing:?}");

    let pulled = restarted
        .graphql(
            "query($i: PullInput!) { pull(input: $i) { hasMore changes { ... on SuggestionChange { entityId } } } }",
            json!({ "i": { "clientGroupId": new_id(), "protocolVersion": 1, "schemaVersion": 2 } }),
            auth(&alice),
        )
        .await;
    let ids: Vec<&str> = ok(&pulled, "pull")["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["entityId"].as_str())
        .collect();
    assert_eq!(ids, [idea.as_str()]);

    // A database already in sync is not indexed again: no entry moves.
    let seq = "SELECT MAX(seq) FROM sync_entity";
    let before = restarted.sql_strings(seq).await;
    assert_ne!(before, ["0"]);
    let again = restarted.replica(&[]).await;
    assert_eq!(again.sql_strings(seq).await, before);
}
