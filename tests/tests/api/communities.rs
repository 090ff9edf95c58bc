//! Communities: creation, idempotent creates, slugs, visibility of private communities,
//! memberships (join, invite, request, approve, leave) and community roles.

use canyu_tests::{TestApp, assert_code};
use serde_json::{Value, json};

use crate::support::{auth, create_community, id_of, join, member, new_id, node_ids, ok, submit};

const CREATE: &str = "mutation($input: CreateCommunityInput!) { createCommunity(input: $input) { id slug name description visibility memberCount viewerMembership { role status joinedAt user { id } } } }";
const BY_ID: &str = "query($id: ID) { community(id: $id) { id slug name memberCount viewerMembership { role status } } }";
const BY_SLUG: &str = "query($slug: String) { community(slug: $slug) { id slug } }";
const LIST: &str = "query($first: Int, $after: String, $search: String) { communities(first: $first, after: $after, search: $search) { nodes { id slug } pageInfo { hasNextPage endCursor } } }";
const JOIN: &str = "mutation($c: ID!) { joinCommunity(communityId: $c) { role status joinedAt community { id } user { id } } }";
const INVITE: &str = "mutation($c: ID!, $u: ID!) { inviteToCommunity(communityId: $c, userId: $u) { role status joinedAt user { id } } }";
const APPROVE: &str = "mutation($c: ID!, $u: ID!) { approveMembership(communityId: $c, userId: $u) { role status joinedAt user { id } } }";
const LEAVE: &str = "mutation($c: ID!) { leaveCommunity(communityId: $c) }";
const SET_ROLE: &str = "mutation($c: ID!, $u: ID!, $role: CommunityRole!) { setMemberRole(communityId: $c, userId: $u, role: $role) { role status user { id } } }";
const UPDATE: &str = "mutation($input: UpdateCommunityInput!) { updateCommunity(input: $input) { id name description visibility } }";
const SUGGESTIONS_IN: &str = "query($c: ID) { suggestions(communityId: $c) { nodes { id } } }";
const USER_SUGGESTIONS: &str =
    "query($id: ID!) { user(id: $id) { suggestions(first: 10) { nodes { id } } } }";

/// `community(id)` as `token` sees it (null when not visible).
async fn community(app: &TestApp, id: &str, token: Option<&str>) -> Value {
    let body = app.graphql(BY_ID, json!({ "id": id }), token).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["community"].clone()
}

/// The slugs `communities(search)` lists for `token`, in order (one page of 100).
async fn listed_slugs(app: &TestApp, search: Option<&str>, token: Option<&str>) -> Vec<String> {
    let body = app
        .graphql(
            LIST,
            json!({ "first": 100, "after": null, "search": search }),
            token,
        )
        .await;
    ok(&body, "communities")["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["slug"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn creating_a_community_makes_the_creator_its_active_owner() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let body = app
        .graphql(
            CREATE,
            json!({ "input": { "slug": "Coffee-Lovers", "name": "Coffee Lovers" } }),
            auth(&owner),
        )
        .await;
    let created = ok(&body, "createCommunity");
    assert_eq!(
        created["slug"], "coffee-lovers",
        "slugs are stored lower case"
    );
    assert_eq!(created["name"], "Coffee Lovers");
    assert_eq!(created["description"], "");
    assert_eq!(created["visibility"], "PUBLIC");
    assert_eq!(created["memberCount"], 1);
    let membership = &created["viewerMembership"];
    assert_eq!(membership["role"], "OWNER");
    assert_eq!(membership["status"], "ACTIVE");
    assert_eq!(membership["user"]["id"], owner.id.as_str());
    assert!(membership["joinedAt"].is_string(), "{membership}");
    assert_eq!(app.count("community").await, 1);
    assert_eq!(app.count("membership").await, 1);

    let id = id_of(created);
    let anonymous = community(&app, &id, None).await;
    assert_eq!(anonymous["memberCount"], 1);
    assert!(anonymous["viewerMembership"].is_null(), "{anonymous}");
    let by_slug = app
        .graphql(BY_SLUG, json!({ "slug": "coffee-lovers" }), None)
        .await;
    assert_eq!(by_slug["data"]["community"]["id"], id.as_str());
}

#[tokio::test]
async fn community_needs_an_id_or_a_slug() {
    let app = TestApp::spawn().await;
    let body = app.graphql("{ community { id } }", json!({}), None).await;
    assert_code(&body, "BAD_USER_INPUT");
}

#[tokio::test]
async fn creating_again_with_the_same_client_id_returns_the_same_community() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let id = new_id();
    let input = json!({ "id": id, "slug": "tea", "name": "Tea", "description": "Leaves" });
    let first = app
        .graphql(CREATE, json!({ "input": input }), auth(&owner))
        .await;
    assert_eq!(ok(&first, "createCommunity")["id"], id.as_str());
    let again = app
        .graphql(CREATE, json!({ "input": input }), auth(&owner))
        .await;
    assert_eq!(ok(&again, "createCommunity")["id"], id.as_str());
    assert_eq!(app.count("community").await, 1);
    assert_eq!(app.count("membership").await, 1);

    let changed = app
        .graphql(
            CREATE,
            json!({ "input": { "id": id, "slug": "tea", "name": "Tea Time", "description": "Leaves" } }),
            auth(&owner),
        )
        .await;
    assert_code(&changed, "CONFLICT");
    assert_eq!(app.count("community").await, 1);
    assert_eq!(community(&app, &id, None).await["name"], "Tea");
}

#[tokio::test]
async fn bad_community_input_names_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let cases = [
        (json!({ "slug": "ab", "name": "Fans" }), "slug"),
        (json!({ "slug": "a".repeat(41), "name": "Fans" }), "slug"),
        (json!({ "slug": "has space", "name": "Fans" }), "slug"),
        (json!({ "slug": "under_score", "name": "Fans" }), "slug"),
        (json!({ "slug": "café", "name": "Fans" }), "slug"),
        (json!({ "slug": "fans", "name": "" }), "name"),
        (json!({ "slug": "fans", "name": "n".repeat(101) }), "name"),
        (
            json!({ "slug": "fans", "name": "Fans", "description": "d".repeat(2001) }),
            "description",
        ),
    ];
    for (input, field) in cases {
        let body = app
            .graphql(CREATE, json!({ "input": input }), auth(&owner))
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(app.count("community").await, 0);
    assert_eq!(app.count("membership").await, 0);

    // The limits themselves are fine.
    for input in [
        json!({ "slug": "abc", "name": "n".repeat(100) }),
        json!({ "slug": "b".repeat(40), "name": "N", "description": "d".repeat(2000) }),
    ] {
        let body = app
            .graphql(CREATE, json!({ "input": input }), auth(&owner))
            .await;
        ok(&body, "createCommunity");
    }
    assert_eq!(app.count("community").await, 2);
}

#[tokio::test]
async fn a_taken_slug_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let other = app.sign_up("copycat").await;
    create_community(&app, &owner, "fans", "PUBLIC").await;
    for slug in ["fans", "Fans", "FANS"] {
        let body = app
            .graphql(
                CREATE,
                json!({ "input": { "slug": slug, "name": "Other fans" } }),
                auth(&other),
            )
            .await;
        assert_code(&body, "CONFLICT");
    }
    assert_eq!(app.count("community").await, 1);
    assert_eq!(app.count("membership").await, 1);
}

#[tokio::test]
async fn anonymous_callers_cannot_create_or_join() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            CREATE,
            json!({ "input": { "slug": "fans", "name": "Fans" } }),
            None,
        )
        .await;
    assert_code(&body, "UNAUTHENTICATED");
    assert_eq!(app.count("community").await, 0);

    let owner = app.sign_up("founder").await;
    let id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let join = app.graphql(JOIN, json!({ "c": id }), None).await;
    assert_code(&join, "UNAUTHENTICATED");
    assert_eq!(app.count("membership").await, 1);
}

#[tokio::test]
async fn joining_a_public_community_makes_an_active_member_once() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = app.sign_up("fan").await;

    let first = app.graphql(JOIN, json!({ "c": id }), auth(&fan)).await;
    let membership = ok(&first, "joinCommunity");
    assert_eq!(membership["role"], "MEMBER");
    assert_eq!(membership["status"], "ACTIVE");
    assert_eq!(membership["community"]["id"], id.as_str());
    assert_eq!(membership["user"]["id"], fan.id.as_str());
    assert!(membership["joinedAt"].is_string(), "{membership}");

    let again = app.graphql(JOIN, json!({ "c": id }), auth(&fan)).await;
    let unchanged = ok(&again, "joinCommunity");
    assert_eq!(unchanged["status"], "ACTIVE");
    assert_eq!(unchanged["joinedAt"], membership["joinedAt"]);
    assert_eq!(app.count("membership").await, 2);

    let seen = community(&app, &id, auth(&fan)).await;
    assert_eq!(seen["memberCount"], 2);
    assert_eq!(seen["viewerMembership"]["role"], "MEMBER");
    assert_eq!(seen["viewerMembership"]["status"], "ACTIVE");
}

#[tokio::test]
async fn joining_an_unknown_community_is_not_found() {
    let app = TestApp::spawn().await;
    let fan = app.sign_up("fan").await;
    let body = app
        .graphql(JOIN, json!({ "c": new_id() }), auth(&fan))
        .await;
    assert_code(&body, "NOT_FOUND");
    assert_eq!(app.count("membership").await, 0);
}

#[tokio::test]
async fn a_private_community_looks_exactly_like_a_missing_one_to_outsiders() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("keeper").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let open = create_community(&app, &owner, "open", "PUBLIC").await;
    let hidden = submit(&app, &owner, &secret, "Hidden plans").await;
    let outsider = app.sign_up("outsider").await;
    let missing = new_id();

    for token in [None, auth(&outsider)] {
        let by_id = app.graphql(BY_ID, json!({ "id": secret }), token).await;
        let by_missing_id = app.graphql(BY_ID, json!({ "id": missing }), token).await;
        assert!(by_id["data"]["community"].is_null(), "{by_id}");
        assert_eq!(by_id, by_missing_id);

        let by_slug = app
            .graphql(BY_SLUG, json!({ "slug": "secret" }), token)
            .await;
        let by_missing_slug = app
            .graphql(BY_SLUG, json!({ "slug": "nosuch" }), token)
            .await;
        assert!(by_slug["data"]["community"].is_null(), "{by_slug}");
        assert_eq!(by_slug, by_missing_slug);

        assert_eq!(listed_slugs(&app, None, token).await, vec!["open"]);

        let suggestion = app
            .graphql(
                "query($id: ID!) { suggestion(id: $id) { id } }",
                json!({ "id": hidden }),
                token,
            )
            .await;
        let missing_suggestion = app
            .graphql(
                "query($id: ID!) { suggestion(id: $id) { id } }",
                json!({ "id": missing }),
                token,
            )
            .await;
        assert!(suggestion["data"]["suggestion"].is_null(), "{suggestion}");
        assert_eq!(suggestion, missing_suggestion);

        let listed = app
            .graphql(SUGGESTIONS_IN, json!({ "c": secret }), token)
            .await;
        let listed_missing = app
            .graphql(SUGGESTIONS_IN, json!({ "c": missing }), token)
            .await;
        assert_code(&listed, "NOT_FOUND");
        assert_eq!(
            listed.to_string().replace(&secret, "<id>"),
            listed_missing.to_string().replace(&missing, "<id>"),
            "the error does not tell a private community from a missing one"
        );

        let everywhere = app
            .graphql(SUGGESTIONS_IN, json!({ "c": null }), token)
            .await;
        assert!(
            node_ids(ok(&everywhere, "suggestions")).is_empty(),
            "{everywhere}"
        );

        let nested = app
            .graphql(USER_SUGGESTIONS, json!({ "id": owner.id }), token)
            .await;
        assert!(
            node_ids(&ok(&nested, "user")["suggestions"]).is_empty(),
            "{nested}"
        );
    }

    // Its members see all of it.
    let mine = community(&app, &secret, auth(&owner)).await;
    assert_eq!(mine["slug"], "secret");
    assert_eq!(
        listed_slugs(&app, None, auth(&owner)).await,
        vec!["secret", "open"]
    );
    let nested = app
        .graphql(USER_SUGGESTIONS, json!({ "id": owner.id }), auth(&owner))
        .await;
    assert_eq!(
        node_ids(&ok(&nested, "user")["suggestions"]),
        vec![hidden.clone()]
    );
    assert_eq!(
        read_ids(&app, &secret, auth(&owner)).await,
        vec![hidden.clone()]
    );
    assert!(read_ids(&app, &open, auth(&owner)).await.is_empty());
}

/// The suggestion ids `suggestions(communityId)` lists.
async fn read_ids(app: &TestApp, community_id: &str, token: Option<&str>) -> Vec<String> {
    let body = app
        .graphql(SUGGESTIONS_IN, json!({ "c": community_id }), token)
        .await;
    node_ids(ok(&body, "suggestions"))
}

#[tokio::test]
async fn an_invited_user_joins_a_private_community_and_then_sees_it() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("keeper").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let guest = app.sign_up("guest").await;

    let invited = app
        .graphql(INVITE, json!({ "c": secret, "u": guest.id }), auth(&owner))
        .await;
    let invitation = ok(&invited, "inviteToCommunity");
    assert_eq!(invitation["status"], "INVITED");
    assert_eq!(invitation["role"], "MEMBER");
    assert_eq!(invitation["user"]["id"], guest.id.as_str());
    assert!(invitation["joinedAt"].is_null(), "{invitation}");
    assert!(
        community(&app, &secret, auth(&guest)).await.is_null(),
        "an invitation alone does not reveal the community"
    );
    assert_eq!(
        community(&app, &secret, auth(&owner)).await["memberCount"],
        1
    );

    let joined = app
        .graphql(JOIN, json!({ "c": secret }), auth(&guest))
        .await;
    let membership = ok(&joined, "joinCommunity");
    assert_eq!(membership["status"], "ACTIVE");
    assert_eq!(membership["role"], "MEMBER");
    assert!(membership["joinedAt"].is_string(), "{membership}");

    let seen = community(&app, &secret, auth(&guest)).await;
    assert_eq!(seen["slug"], "secret");
    assert_eq!(seen["memberCount"], 2);
    assert_eq!(seen["viewerMembership"]["status"], "ACTIVE");
    assert_eq!(app.count("membership").await, 2);

    let twice = app
        .graphql(INVITE, json!({ "c": secret, "u": guest.id }), auth(&owner))
        .await;
    assert_code(&twice, "CONFLICT");

    // A plain member cannot invite.
    let friend = app.sign_up("friend").await;
    let by_member = app
        .graphql(INVITE, json!({ "c": secret, "u": friend.id }), auth(&guest))
        .await;
    assert_code(&by_member, "FORBIDDEN");
    assert_eq!(app.count("membership").await, 2);
}

#[tokio::test]
async fn a_request_to_join_a_private_community_waits_for_approval() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("keeper").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let hopeful = app.sign_up("hopeful").await;

    let requested = app
        .graphql(JOIN, json!({ "c": secret }), auth(&hopeful))
        .await;
    let request = ok(&requested, "joinCommunity");
    assert_eq!(request["status"], "REQUESTED");
    assert!(request["joinedAt"].is_null(), "{request}");
    assert!(community(&app, &secret, auth(&hopeful)).await.is_null());
    let listed = app
        .graphql(SUGGESTIONS_IN, json!({ "c": secret }), auth(&hopeful))
        .await;
    assert_code(&listed, "NOT_FOUND");
    assert_eq!(
        community(&app, &secret, auth(&owner)).await["memberCount"],
        1
    );

    // A second request; a plain member cannot approve it (once the first one is in).
    let other = app.sign_up("other").await;
    join(&app, &other, &secret).await;

    let approved = app
        .graphql(
            APPROVE,
            json!({ "c": secret, "u": hopeful.id }),
            auth(&owner),
        )
        .await;
    let membership = ok(&approved, "approveMembership");
    assert_eq!(membership["status"], "ACTIVE");
    assert_eq!(membership["role"], "MEMBER");
    assert_eq!(membership["user"]["id"], hopeful.id.as_str());
    assert!(membership["joinedAt"].is_string(), "{membership}");

    let seen = community(&app, &secret, auth(&hopeful)).await;
    assert_eq!(seen["memberCount"], 2);
    assert_eq!(seen["viewerMembership"]["status"], "ACTIVE");

    let by_member = app
        .graphql(
            APPROVE,
            json!({ "c": secret, "u": other.id }),
            auth(&hopeful),
        )
        .await;
    assert_code(&by_member, "FORBIDDEN");
    assert!(community(&app, &secret, auth(&other)).await.is_null());
}

#[tokio::test]
async fn approving_without_a_request_is_not_found() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("keeper").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let stranger = app.sign_up("stranger").await;
    let body = app
        .graphql(
            APPROVE,
            json!({ "c": secret, "u": stranger.id }),
            auth(&owner),
        )
        .await;
    assert_code(&body, "NOT_FOUND");
    assert_eq!(app.count("membership").await, 1);
    assert!(community(&app, &secret, auth(&stranger)).await.is_null());
}

#[tokio::test]
async fn inviting_someone_who_asked_to_join_lets_them_in() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("keeper").await;
    let secret = create_community(&app, &owner, "secret", "PRIVATE").await;
    let hopeful = app.sign_up("hopeful").await;
    assert_eq!(join(&app, &hopeful, &secret).await["status"], "REQUESTED");
    let invited = app
        .graphql(
            INVITE,
            json!({ "c": secret, "u": hopeful.id }),
            auth(&owner),
        )
        .await;
    assert_eq!(ok(&invited, "inviteToCommunity")["status"], "ACTIVE");
    assert_eq!(
        community(&app, &secret, auth(&hopeful)).await["memberCount"],
        2
    );
}

#[tokio::test]
async fn the_owner_sets_roles_and_a_moderator_cannot() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let moddy = member(&app, "moddy", &id).await;
    let fan = member(&app, "fan", &id).await;
    let stranger = app.sign_up("stranger").await;

    let promoted = app
        .graphql(
            SET_ROLE,
            json!({ "c": id, "u": moddy.id, "role": "MODERATOR" }),
            auth(&owner),
        )
        .await;
    let membership = ok(&promoted, "setMemberRole");
    assert_eq!(membership["role"], "MODERATOR");
    assert_eq!(membership["user"]["id"], moddy.id.as_str());
    assert_eq!(
        community(&app, &id, auth(&moddy)).await["viewerMembership"]["role"],
        "MODERATOR"
    );

    let by_moderator = app
        .graphql(
            SET_ROLE,
            json!({ "c": id, "u": fan.id, "role": "MODERATOR" }),
            auth(&moddy),
        )
        .await;
    assert_code(&by_moderator, "FORBIDDEN");
    assert_eq!(
        community(&app, &id, auth(&fan)).await["viewerMembership"]["role"],
        "MEMBER"
    );

    let not_a_member = app
        .graphql(
            SET_ROLE,
            json!({ "c": id, "u": stranger.id, "role": "MODERATOR" }),
            auth(&owner),
        )
        .await;
    assert_code(&not_a_member, "NOT_FOUND");
    assert_eq!(app.count("membership").await, 3);

    let last_owner = app
        .graphql(
            SET_ROLE,
            json!({ "c": id, "u": owner.id, "role": "MEMBER" }),
            auth(&owner),
        )
        .await;
    assert_code(&last_owner, "CONFLICT");
    assert_eq!(
        community(&app, &id, auth(&owner)).await["viewerMembership"]["role"],
        "OWNER"
    );
}

#[tokio::test]
async fn moderators_update_a_community_and_members_cannot() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let moddy = member(&app, "moddy", &id).await;
    let fan = member(&app, "fan", &id).await;
    let promoted = app
        .graphql(
            SET_ROLE,
            json!({ "c": id, "u": moddy.id, "role": "MODERATOR" }),
            auth(&owner),
        )
        .await;
    ok(&promoted, "setMemberRole");

    let updated = app
        .graphql(
            UPDATE,
            json!({ "input": { "communityId": id, "name": "Fan Club", "description": "All fans" } }),
            auth(&moddy),
        )
        .await;
    let community_now = ok(&updated, "updateCommunity");
    assert_eq!(community_now["name"], "Fan Club");
    assert_eq!(community_now["description"], "All fans");
    assert_eq!(community_now["visibility"], "PUBLIC");

    let by_member = app
        .graphql(
            UPDATE,
            json!({ "input": { "communityId": id, "name": "Hijacked" } }),
            auth(&fan),
        )
        .await;
    assert_code(&by_member, "FORBIDDEN");
    assert_eq!(community(&app, &id, None).await["name"], "Fan Club");
}

#[tokio::test]
async fn the_last_owner_cannot_leave_but_members_can() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let id = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &id).await;
    let heir = member(&app, "heir", &id).await;

    let refused = app.graphql(LEAVE, json!({ "c": id }), auth(&owner)).await;
    assert_code(&refused, "CONFLICT");
    assert_eq!(app.count("membership").await, 3);

    let left = app.graphql(LEAVE, json!({ "c": id }), auth(&fan)).await;
    assert_eq!(ok(&left, "leaveCommunity"), &json!(true));
    assert_eq!(community(&app, &id, None).await["memberCount"], 2);
    assert!(community(&app, &id, auth(&fan)).await["viewerMembership"].is_null());
    let again = app.graphql(LEAVE, json!({ "c": id }), auth(&fan)).await;
    assert_code(&again, "NOT_FOUND");

    let promoted = app
        .graphql(
            SET_ROLE,
            json!({ "c": id, "u": heir.id, "role": "OWNER" }),
            auth(&owner),
        )
        .await;
    assert_eq!(ok(&promoted, "setMemberRole")["role"], "OWNER");
    let owner_left = app.graphql(LEAVE, json!({ "c": id }), auth(&owner)).await;
    assert_eq!(ok(&owner_left, "leaveCommunity"), &json!(true));
    let seen = community(&app, &id, auth(&heir)).await;
    assert_eq!(seen["memberCount"], 1);
    assert_eq!(seen["viewerMembership"]["role"], "OWNER");
}

#[tokio::test]
async fn communities_page_oldest_first_without_duplicates() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let slugs = ["one", "two", "three", "four", "five"];
    for slug in slugs {
        create_community(&app, &owner, &format!("club-{slug}"), "PUBLIC").await;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        let body = app
            .graphql(
                LIST,
                json!({ "first": 2, "after": after, "search": null }),
                None,
            )
            .await;
        let page = ok(&body, "communities");
        let nodes = page["nodes"].as_array().unwrap();
        assert!(nodes.len() <= 2, "{page}");
        seen.extend(
            nodes
                .iter()
                .map(|node| node["slug"].as_str().unwrap().to_string()),
        );
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    let expected: Vec<String> = slugs.iter().map(|slug| format!("club-{slug}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn community_search_is_a_literal_case_insensitive_substring() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("founder").await;
    let outsider = app.sign_up("outsider").await;
    for (slug, name) in [
        ("coffee", "Coffee Lovers"),
        ("brew", "Tea 100% Leaf"),
        ("rice", "Rice_Fans"),
        ("plain", "Plain"),
    ] {
        let body = app
            .graphql(
                CREATE,
                json!({ "input": { "slug": slug, "name": name } }),
                auth(&owner),
            )
            .await;
        ok(&body, "createCommunity");
    }
    let body = app
        .graphql(
            CREATE,
            json!({ "input": { "slug": "coffee-club", "name": "Secret Coffee", "visibility": "PRIVATE" } }),
            auth(&owner),
        )
        .await;
    ok(&body, "createCommunity");

    let cases: [(&str, Vec<&str>); 9] = [
        ("COFFEE", vec!["coffee"]),
        ("%", vec!["brew"]),
        ("100%", vec!["brew"]),
        ("_", vec!["rice"]),
        ("ric", vec!["rice"]),
        ("brew", vec!["brew"]),
        ("e", vec!["coffee", "brew", "rice"]),
        ("zzz", vec![]),
        ("'", vec![]),
    ];
    for (search, expected) in cases {
        assert_eq!(
            listed_slugs(&app, Some(search), auth(&outsider)).await,
            expected,
            "search {search:?}"
        );
    }
    assert_eq!(
        listed_slugs(&app, Some("coffee"), auth(&owner)).await,
        vec!["coffee", "coffee-club"],
        "members find their private communities"
    );
}
