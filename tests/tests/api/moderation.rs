//! The community convention: sanctions that bite through GraphQL, push and sync and end by
//! themselves at server time (on a stopped clock), who may sanction whom, appeals decided by
//! someone other than the issuer, and the public moderation log.

use canyu_tests::{TestApp, TestUser, assert_code};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::{
    auth, comment, create_community, id_of, join, member, new_id, ok, staff, submit, try_vote,
};
use crate::sync_client::SyncClient;

const SANCTION: &str = "mutation($input: SanctionUserInput!) { sanctionUser(input: $input) { id kind duration reason startsAt endsAt liftedAt pointsTaken active communityId user { id } issuedBy { handle } } }";

const APPEAL: &str = "mutation($s: ID!, $t: String!) { appealSanction(sanctionId: $s, statement: $t) { id status statement sanction { id } } }";

const DECIDE: &str = "mutation($a: ID!, $g: Boolean!, $n: String) { decideAppeal(appealId: $a, grant: $g, note: $n) { id status note decidedBy { handle } sanction { id liftedAt active } } }";

const LOG: &str = "query($c: ID) { moderationLog(communityId: $c) { nodes { action targetType targetId reason expiresAt moderator { handle } } } }";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn sanction_input(community: Option<&str>, user: &TestUser, kind: &str, duration: &str) -> Value {
    json!({ "input": { "communityId": community, "userId": user.id, "kind": kind,
                       "duration": duration, "reason": "spam in three threads" } })
}

async fn sanction(
    app: &TestApp,
    moderator: &TestUser,
    community: Option<&str>,
    user: &TestUser,
    kind: &str,
    duration: &str,
) -> Value {
    let body = app
        .graphql(
            SANCTION,
            sanction_input(community, user, kind, duration),
            auth(moderator),
        )
        .await;
    ok(&body, "sanctionUser").clone()
}

async fn points(app: &TestApp, user: &TestUser) -> i64 {
    let body = app
        .graphql("query { viewer { growthPoints } }", json!({}), auth(user))
        .await;
    ok(&body, "viewer")["growthPoints"].as_i64().unwrap()
}

async fn try_submit(app: &TestApp, user: &TestUser, community: &str) -> Value {
    app.graphql(
        "mutation($input: SubmitSuggestionInput!) { submitSuggestion(input: $input) { id } }",
        json!({ "input": { "communityId": community, "kind": "IDEA", "title": "Muted idea", "body": "" } }),
        auth(user),
    )
    .await
}

async fn make_moderator(app: &TestApp, owner: &TestUser, community: &str, user: &TestUser) {
    let body = app
        .graphql(
            "mutation($c: ID!, $u: ID!) { setMemberRole(communityId: $c, userId: $u, role: MODERATOR) { role } }",
            json!({ "c": community, "u": user.id }),
            auth(owner),
        )
        .await;
    ok(&body, "setMemberRole");
}

#[tokio::test]
async fn a_mute_stops_posting_commenting_and_voting_there_until_it_ends() {
    let app = TestApp::spawn().await;
    app.state.clock.set(at("2026-07-01T12:00:00Z"));
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let elsewhere = create_community(&app, &owner, "others", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    join(&app, &fan, &elsewhere).await;
    let idea = submit(&app, &owner, &community, "The owner's idea").await;
    for n in 0..3 {
        submit(&app, &fan, &community, &format!("Fan idea {n}")).await;
    }
    assert_eq!(points(&app, &fan).await, 6);

    let muted = sanction(&app, &owner, Some(&community), &fan, "MUTE", "ONE_DAY").await;
    assert_eq!(muted["endsAt"], "2026-07-02T12:00:00+00:00");
    assert_eq!(muted["active"], true);
    assert_eq!(muted["pointsTaken"], 10);
    assert_eq!(muted["issuedBy"]["handle"], "owner");
    assert_eq!(points(&app, &fan).await, -4);

    let refused = try_submit(&app, &fan, &community).await;
    assert_code(&refused, "FORBIDDEN");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("until 2026-07-02T12:00:00"), "{message}");
    assert_code(&try_vote(&app, &fan, &idea, "UP").await, "FORBIDDEN");
    let body = app
        .graphql(
            "mutation($input: AddCommentInput!) { addComment(input: $input) { id } }",
            json!({ "input": { "suggestionId": idea, "body": "muted words" } }),
            auth(&fan),
        )
        .await;
    assert_code(&body, "FORBIDDEN");
    // Another community is not affected; reading is not affected.
    submit(&app, &fan, &elsewhere, "An idea elsewhere").await;
    let body = app
        .graphql(
            "query($id: ID!) { suggestion(id: $id) { id } }",
            json!({ "id": idea }),
            auth(&fan),
        )
        .await;
    assert_eq!(ok(&body, "suggestion")["id"], idea.as_str());

    // A pushed mutation of the muted user is REJECTED with its own code.
    let mut device = SyncClient::new(&fan);
    device.queue("SET_VOTE", json!({ "suggestionId": idea, "value": "UP" }));
    let pushed = device.push(&app).await;
    assert_eq!(pushed["results"][0]["outcome"], "REJECTED", "{pushed}");
    assert_eq!(pushed["results"][0]["code"], "SANCTIONED");

    // Server time ends it.
    app.state.clock.advance(Duration::hours(24));
    submit(&app, &fan, &community, "Back again").await;
    let body = app
        .graphql(
            "query { viewer { sanctions { nodes { id active } } } }",
            json!({}),
            auth(&fan),
        )
        .await;
    assert_eq!(
        ok(&body, "viewer")["sanctions"]["nodes"][0]["active"],
        false
    );
}

#[tokio::test]
async fn a_ban_takes_a_private_community_and_its_sync_scope_until_it_ends() {
    let app = TestApp::spawn().await;
    app.state.clock.set(at("2026-07-01T12:00:00Z"));
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "inner", "PRIVATE").await;
    let fan = app.sign_up("fan").await;
    let body = app
        .graphql(
            "mutation($c: ID!, $u: ID!) { inviteToCommunity(communityId: $c, userId: $u) { status } }",
            json!({ "c": community, "u": fan.id }),
            auth(&owner),
        )
        .await;
    ok(&body, "inviteToCommunity");
    join(&app, &fan, &community).await;
    let idea = submit(&app, &owner, &community, "A private idea").await;
    let mut device = SyncClient::new(&fan);
    device.pull_all(&app, 100).await;
    assert!(device.ids_of("Suggestion").contains(&idea));

    let banned = sanction(&app, &owner, Some(&community), &fan, "BAN", "SEVEN_DAYS").await;
    assert_eq!(banned["pointsTaken"], 60);
    let read = |viewer: &TestUser| {
        let (app, token, community) = (&app, viewer.access_token.clone(), community.clone());
        async move {
            app.graphql(
                "query($c: ID!) { community(id: $c) { id } }",
                json!({ "c": community }),
                Some(&token),
            )
            .await
        }
    };
    assert!(read(&fan).await["data"]["community"].is_null());
    assert_code(&try_submit(&app, &fan, &community).await, "NOT_FOUND");
    let pages = device.pull_all(&app, 100).await;
    assert!(
        pages.iter().any(|p| p["scopeEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "REMOVED" && e["scope"] == format!("community:{community}"))),
        "{pages:?}"
    );
    assert!(!device.ids_of("Suggestion").contains(&idea));
    assert_eq!(device.ids_of("Sanction").len(), 1);

    app.state.clock.advance(Duration::days(7));
    assert_eq!(
        read(&fan).await["data"]["community"]["id"],
        community.as_str()
    );
    device.pull_all(&app, 100).await;
    assert!(
        device.ids_of("Suggestion").contains(&idea),
        "the scope came back"
    );
}

#[tokio::test]
async fn who_may_sanction_whom() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let moderator = member(&app, "moderator", &community).await;
    let other_moderator = member(&app, "othermod", &community).await;
    make_moderator(&app, &owner, &community, &moderator).await;
    make_moderator(&app, &owner, &community, &other_moderator).await;
    let fan = member(&app, "fan", &community).await;
    let other_fan = member(&app, "otherfan", &community).await;
    let brand = staff(&app, "brand").await;
    let admin = app.admin("boss").await;

    for (who, input, code) in [
        (
            &moderator,
            sanction_input(Some(&community), &owner, "MUTE", "ONE_DAY"),
            "FORBIDDEN",
        ),
        (
            &moderator,
            sanction_input(Some(&community), &other_moderator, "MUTE", "ONE_DAY"),
            "FORBIDDEN",
        ),
        (
            &moderator,
            sanction_input(Some(&community), &brand, "MUTE", "ONE_DAY"),
            "FORBIDDEN",
        ),
        (
            &moderator,
            sanction_input(None, &fan, "BAN", "PERMANENT"),
            "FORBIDDEN",
        ),
        (
            &brand,
            sanction_input(None, &fan, "BAN", "PERMANENT"),
            "FORBIDDEN",
        ),
        (
            &other_fan,
            sanction_input(Some(&community), &fan, "MUTE", "ONE_DAY"),
            "FORBIDDEN",
        ),
        (
            &moderator,
            sanction_input(Some(&community), &moderator, "MUTE", "ONE_DAY"),
            "BAD_USER_INPUT",
        ),
        (
            &moderator,
            sanction_input(Some(&new_id()), &fan, "MUTE", "ONE_DAY"),
            "NOT_FOUND",
        ),
    ] {
        let body = app.graphql(SANCTION, input, auth(who)).await;
        assert_code(&body, code);
    }
    let body = app
        .graphql(
            SANCTION,
            json!({ "input": { "communityId": community, "userId": new_id(), "kind": "MUTE", "duration": "ONE_DAY", "reason": "x" } }),
            auth(&moderator),
        )
        .await;
    assert_code(&body, "NOT_FOUND");
    let body = app
        .graphql(
            SANCTION,
            json!({ "input": { "communityId": community, "userId": fan.id, "kind": "MUTE", "duration": "ONE_DAY", "reason": "" } }),
            auth(&moderator),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    let body = app
        .graphql(
            SANCTION,
            sanction_input(Some(&community), &fan, "MUTE", "ONE_DAY"),
            None,
        )
        .await;
    assert_code(&body, "UNAUTHENTICATED");
    assert_eq!(
        app.count("sanction").await,
        0,
        "no refused sanction was written"
    );
    assert_eq!(app.count("moderation_action").await, 0);

    sanction(&app, &moderator, Some(&community), &fan, "MUTE", "ONE_DAY").await;
    sanction(
        &app,
        &brand,
        Some(&community),
        &other_moderator,
        "MUTE",
        "ONE_DAY",
    )
    .await;
    let site_wide = sanction(&app, &admin, None, &other_fan, "MUTE", "PERMANENT").await;
    assert!(site_wide["communityId"].is_null());
    assert!(site_wide["endsAt"].is_null());
    // A site-wide mute bites in every community.
    assert_code(&try_submit(&app, &other_fan, &community).await, "FORBIDDEN");
}

#[tokio::test]
async fn an_appeal_is_decided_by_someone_other_than_the_issuer_and_a_grant_restores_the_points() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let moderator = member(&app, "moderator", &community).await;
    make_moderator(&app, &owner, &community, &moderator).await;
    let fan = member(&app, "fan", &community).await;
    let bystander = member(&app, "bystander", &community).await;
    submit(&app, &fan, &community, "Fan idea").await;
    let muted = sanction(
        &app,
        &moderator,
        Some(&community),
        &fan,
        "MUTE",
        "FIFTEEN_DAYS",
    )
    .await;
    let sanction_id = id_of(&muted);
    assert_eq!(points(&app, &fan).await, 2 - 60);

    let statement = json!({ "s": sanction_id, "t": "It was a misunderstanding" });
    assert_code(
        &app.graphql(APPEAL, statement.clone(), auth(&bystander))
            .await,
        "NOT_FOUND",
    );
    assert_code(
        &app.graphql(APPEAL, json!({ "s": sanction_id, "t": "" }), auth(&fan))
            .await,
        "BAD_USER_INPUT",
    );
    let body = app.graphql(APPEAL, statement.clone(), auth(&fan)).await;
    let appeal = ok(&body, "appealSanction").clone();
    assert_eq!(appeal["status"], "PENDING");
    assert_code(
        &app.graphql(APPEAL, statement, auth(&fan)).await,
        "CONFLICT",
    );

    let listed = app
        .graphql(
            "query($c: ID) { appeals(communityId: $c) { nodes { id statement } } }",
            json!({ "c": community }),
            auth(&owner),
        )
        .await;
    assert_eq!(ok(&listed, "appeals")["nodes"][0]["id"], appeal["id"]);
    let listed = app
        .graphql(
            "query($c: ID) { appeals(communityId: $c) { nodes { id } } }",
            json!({ "c": community }),
            auth(&bystander),
        )
        .await;
    assert_code(&listed, "FORBIDDEN");

    let decide = |grant: bool| json!({ "a": appeal["id"], "g": grant, "n": "Fair enough" });
    assert_code(
        &app.graphql(DECIDE, decide(true), auth(&moderator)).await,
        "FORBIDDEN",
    );
    assert_code(
        &app.graphql(DECIDE, decide(true), auth(&bystander)).await,
        "FORBIDDEN",
    );
    assert_code(
        &app.graphql(DECIDE, decide(true), auth(&fan)).await,
        "FORBIDDEN",
    );
    assert_code(
        &app.graphql(DECIDE, json!({ "a": new_id(), "g": true }), auth(&owner))
            .await,
        "NOT_FOUND",
    );
    assert_eq!(
        points(&app, &fan).await,
        -58,
        "nothing changed before the decision"
    );

    let body = app.graphql(DECIDE, decide(true), auth(&owner)).await;
    let decided = ok(&body, "decideAppeal");
    assert_eq!(decided["status"], "GRANTED");
    assert_eq!(decided["decidedBy"]["handle"], "owner");
    assert_eq!(decided["sanction"]["active"], false);
    assert!(decided["sanction"]["liftedAt"].is_string());
    assert_eq!(points(&app, &fan).await, 2);
    submit(&app, &fan, &community, "Free to post again").await;
    assert_code(
        &app.graphql(DECIDE, decide(false), auth(&owner)).await,
        "CONFLICT",
    );

    // A denied appeal leaves the sanction running.
    let second = sanction(
        &app,
        &moderator,
        Some(&community),
        &bystander,
        "MUTE",
        "ONE_DAY",
    )
    .await;
    let body = app
        .graphql(
            APPEAL,
            json!({ "s": id_of(&second), "t": "please" }),
            auth(&bystander),
        )
        .await;
    let appeal = id_of(ok(&body, "appealSanction"));
    let body = app
        .graphql(DECIDE, json!({ "a": appeal, "g": false }), auth(&owner))
        .await;
    assert_eq!(ok(&body, "decideAppeal")["status"], "DENIED");
    assert_eq!(ok(&body, "decideAppeal")["sanction"]["active"], true);
    assert_code(&try_submit(&app, &bystander, &community).await, "FORBIDDEN");

    // The subject's devices receive the sanction and the appeal.
    let mut device = SyncClient::new(&fan);
    device.pull_all(&app, 100).await;
    assert!(device.row("Sanction", &sanction_id).unwrap().entity["liftedAt"].is_string());
    assert_eq!(device.ids_of("Appeal").len(), 1);
    let mut other = SyncClient::new(&owner);
    other.pull_all(&app, 100).await;
    assert!(other.ids_of("Sanction").is_empty());
}

#[tokio::test]
async fn the_moderation_log_is_public_and_never_names_a_reporter() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let private = create_community(&app, &owner, "inner", "PRIVATE").await;
    let fan = member(&app, "fan", &community).await;
    let idea = submit(&app, &fan, &community, "An idea").await;
    comment(&app, &fan, &idea, "a comment").await;
    sanction(&app, &owner, Some(&community), &fan, "MUTE", "SEVEN_DAYS").await;

    let body = app.graphql(LOG, json!({ "c": community }), None).await;
    let entries = ok(&body, "moderationLog")["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "MUTE");
    assert_eq!(entries[0]["targetType"], "USER");
    assert_eq!(entries[0]["targetId"], fan.id.as_str());
    assert_eq!(entries[0]["reason"], "spam in three threads");
    assert!(entries[0]["expiresAt"].is_string());
    assert_eq!(entries[0]["moderator"]["handle"], "owner");
    assert_code(
        &app.graphql(LOG, json!({ "c": private }), auth(&fan)).await,
        "NOT_FOUND",
    );
    let body = app
        .graphql(LOG, json!({ "c": private }), auth(&owner))
        .await;
    assert!(
        ok(&body, "moderationLog")["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

const REPORT: &str = "mutation($input: ReportContentInput!) { reportContent(input: $input) { id status targetType targetId reason } }";

const RESOLVE: &str = "mutation($r: ID!, $a: ReportResolution!) { resolveReport(reportId: $r, action: $a) { id status resolvedAt } }";

fn report_input(kind: &str, target: &str, community: Option<&str>) -> Value {
    json!({ "input": { "targetType": kind, "targetId": target, "communityId": community,
                       "reason": "rude words from a secret reporter" } })
}

async fn report(app: &TestApp, reporter: &TestUser, kind: &str, target: &str) -> String {
    let body = app
        .graphql(REPORT, report_input(kind, target, None), auth(reporter))
        .await;
    id_of(ok(&body, "reportContent"))
}

async fn listed_ids(
    app: &TestApp,
    viewer: Option<&TestUser>,
    community: &str,
    search: Option<&str>,
) -> Vec<String> {
    let body = app
        .graphql(
            "query($c: ID!, $s: String) { suggestions(communityId: $c, search: $s, sort: NEW) { nodes { id } } }",
            json!({ "c": community, "s": search }),
            viewer.and_then(auth),
        )
        .await;
    crate::support::node_ids(ok(&body, "suggestions"))
}

async fn comment_ids(app: &TestApp, viewer: Option<&TestUser>, suggestion: &str) -> Vec<String> {
    let body = app
        .graphql(
            "query($id: ID!) { suggestion(id: $id) { comments(first: 10) { nodes { id } } } }",
            json!({ "id": suggestion }),
            viewer.and_then(auth),
        )
        .await;
    crate::support::node_ids(&ok(&body, "suggestion")["comments"])
}

#[tokio::test]
async fn hidden_content_is_gone_for_all_but_its_author_and_the_moderators() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = member(&app, "fan", &community).await;
    let reporter = member(&app, "reporter", &community).await;
    let bystander = member(&app, "bystander", &community).await;
    let outsider = app.sign_up("outsider").await;
    let brand = staff(&app, "brand").await;
    let rude = submit(&app, &fan, &community, "A rude zebra idea").await;
    let fine = submit(&app, &owner, &community, "A fine idea").await;
    let rude_comment = comment(&app, &fan, &fine, "a rude comment").await;
    let kind_comment = comment(&app, &bystander, &fine, "a kind comment").await;
    let mut device = SyncClient::new(&bystander);
    device.pull_all(&app, 100).await;
    assert!(device.ids_of("Suggestion").contains(&rude));

    let first = report(&app, &reporter, "SUGGESTION", &rude).await;
    report(&app, &bystander, "SUGGESTION", &rude).await;
    let on_comment = report(&app, &reporter, "COMMENT", &rude_comment).await;
    let body = app
        .graphql(
            REPORT,
            report_input("USER", &fan.id, Some(&community)),
            auth(&reporter),
        )
        .await;
    let on_user = id_of(ok(&body, "reportContent"));
    for (who, input, code) in [
        (
            &reporter,
            report_input("SUGGESTION", &rude, None),
            "CONFLICT",
        ),
        (
            &fan,
            report_input("SUGGESTION", &rude, None),
            "BAD_USER_INPUT",
        ),
        (
            &outsider,
            report_input("SUGGESTION", &rude, None),
            "FORBIDDEN",
        ),
        (
            &reporter,
            report_input("USER", &fan.id, None),
            "BAD_USER_INPUT",
        ),
        (
            &reporter,
            report_input("SUGGESTION", &new_id(), None),
            "NOT_FOUND",
        ),
        (
            &reporter,
            report_input("COMMENT", &new_id(), None),
            "NOT_FOUND",
        ),
    ] {
        assert_code(&app.graphql(REPORT, input, auth(who)).await, code);
    }
    assert_code(
        &app.graphql(REPORT, report_input("SUGGESTION", &rude, None), None)
            .await,
        "UNAUTHENTICATED",
    );
    assert_eq!(app.count("content_report").await, 4);

    let queue = "query($c: ID!) { moderationQueue(communityId: $c) { nodes { id reason reporter { handle } } } }";
    let body = app
        .graphql(queue, json!({ "c": community }), auth(&owner))
        .await;
    let open = ok(&body, "moderationQueue")["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(open.len(), 4);
    assert_eq!(open[0]["reporter"]["handle"], "reporter");
    assert_code(
        &app.graphql(queue, json!({ "c": community }), auth(&reporter))
            .await,
        "FORBIDDEN",
    );
    assert_code(
        &app.graphql(
            RESOLVE,
            json!({ "r": first, "a": "HIDE_CONTENT" }),
            auth(&reporter),
        )
        .await,
        "FORBIDDEN",
    );

    let body = app
        .graphql(
            RESOLVE,
            json!({ "r": first, "a": "HIDE_CONTENT" }),
            auth(&owner),
        )
        .await;
    assert_eq!(ok(&body, "resolveReport")["status"], "ACTIONED");
    let body = app
        .graphql(queue, json!({ "c": community }), auth(&owner))
        .await;
    assert_eq!(
        ok(&body, "moderationQueue")["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "both reports of it closed"
    );
    assert_code(
        &app.graphql(RESOLVE, json!({ "r": first, "a": "DISMISS" }), auth(&owner))
            .await,
        "CONFLICT",
    );

    // Gone from listings, search, reads and votes for everyone else...
    for viewer in [None, Some(&bystander), Some(&reporter)] {
        assert!(
            !listed_ids(&app, viewer, &community, None)
                .await
                .contains(&rude)
        );
        assert!(
            listed_ids(&app, viewer, &community, Some("zebra"))
                .await
                .is_empty()
        );
        let body = app
            .graphql(
                "query($id: ID!) { suggestion(id: $id) { id } }",
                json!({ "id": rude }),
                viewer.and_then(auth),
            )
            .await;
        assert!(body["data"]["suggestion"].is_null(), "{body}");
    }
    assert_code(&try_vote(&app, &bystander, &rude, "UP").await, "NOT_FOUND");
    // ...but not for its author, the moderators and the brand.
    for viewer in [&fan, &owner, &brand] {
        assert!(
            listed_ids(&app, Some(viewer), &community, None)
                .await
                .contains(&rude),
            "{}",
            viewer.handle
        );
        assert_eq!(
            listed_ids(&app, Some(viewer), &community, Some("zebra")).await,
            std::slice::from_ref(&rude)
        );
    }
    device.pull_all(&app, 100).await;
    assert!(
        !device.ids_of("Suggestion").contains(&rude),
        "the tombstone reached the device"
    );

    let body = app
        .graphql(
            RESOLVE,
            json!({ "r": on_comment, "a": "HIDE_CONTENT" }),
            auth(&owner),
        )
        .await;
    ok(&body, "resolveReport");
    assert_eq!(
        comment_ids(&app, Some(&bystander), &fine).await,
        std::slice::from_ref(&kind_comment)
    );
    assert_eq!(
        comment_ids(&app, None, &fine).await,
        std::slice::from_ref(&kind_comment)
    );
    assert_eq!(
        comment_ids(&app, Some(&fan), &fine).await,
        [rude_comment.clone(), kind_comment.clone()]
    );
    assert_eq!(comment_ids(&app, Some(&owner), &fine).await.len(), 2);
    device.pull_all(&app, 100).await;
    assert!(!device.ids_of("Comment").contains(&rude_comment));

    // A user is sanctioned, not hidden.
    assert_code(
        &app.graphql(
            RESOLVE,
            json!({ "r": on_user, "a": "HIDE_CONTENT" }),
            auth(&owner),
        )
        .await,
        "BAD_USER_INPUT",
    );
    let body = app
        .graphql(
            RESOLVE,
            json!({ "r": on_user, "a": "DISMISS" }),
            auth(&owner),
        )
        .await;
    assert_eq!(ok(&body, "resolveReport")["status"], "DISMISSED");

    // The log says what was hidden, never who reported it or what they wrote.
    let body = app.graphql(LOG, json!({ "c": community }), None).await;
    let log = ok(&body, "moderationLog").clone();
    let entries = log["nodes"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["action"] == "HIDE_CONTENT"));
    let text = log.to_string();
    assert!(
        !text.contains(&reporter.id) && !text.contains("secret reporter"),
        "{text}"
    );
}

const UPDATED: &str =
    "subscription($id: ID!) { suggestionUpdated(suggestionId: $id) { id upvotes } }";

/// The next message of operation "1": its `suggestionUpdated`, or its error code.
async fn next_of(socket: &mut crate::support::Socket) -> Result<Value, Value> {
    loop {
        let message = crate::support::receive(socket).await;
        if message["id"] != "1" {
            continue;
        }
        let payload = &message["payload"];
        return match message["type"].as_str() {
            Some("next") if payload["errors"].is_null() => {
                Ok(payload["data"]["suggestionUpdated"].clone())
            }
            Some("next") => Err(payload["errors"][0]["extensions"]["code"].clone()),
            Some("error") => Err(payload[0]["extensions"]["code"].clone()),
            _ => panic!("unexpected {message}"),
        };
    }
}

#[tokio::test]
async fn a_ban_and_hidden_content_end_live_subscriptions() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let private = create_community(&app, &owner, "inner", "PRIVATE").await;
    let public = create_community(&app, &owner, "fans", "PUBLIC").await;
    let fan = app.sign_up("fan").await;
    let body = app
        .graphql(
            "mutation($c: ID!, $u: ID!) { inviteToCommunity(communityId: $c, userId: $u) { status } }",
            json!({ "c": private, "u": fan.id }),
            auth(&owner),
        )
        .await;
    ok(&body, "inviteToCommunity");
    join(&app, &fan, &private).await;
    let voter = member(&app, "voter", &public).await;
    let secret = submit(&app, &owner, &private, "A private idea").await;

    let mut socket = crate::support::connect(&app, &fan).await;
    crate::support::subscribe(&mut socket, "1", UPDATED, &secret).await;
    crate::support::vote(&app, &owner, &secret, "UP").await;
    assert_eq!(next_of(&mut socket).await.unwrap()["upvotes"], 1);
    sanction(&app, &owner, Some(&private), &fan, "BAN", "ONE_DAY").await;
    crate::support::vote(&app, &owner, &secret, "DOWN").await;
    assert_eq!(next_of(&mut socket).await.unwrap_err(), "NOT_FOUND");

    // Hidden content ends a bystander's subscription too.
    let rude = submit(&app, &voter, &public, "A rude idea").await;
    let bystander = member(&app, "bystander", &public).await;
    let mut socket = crate::support::connect(&app, &bystander).await;
    crate::support::subscribe(&mut socket, "1", UPDATED, &rude).await;
    let report = report(&app, &bystander, "SUGGESTION", &rude).await;
    let body = app
        .graphql(
            RESOLVE,
            json!({ "r": report, "a": "HIDE_CONTENT" }),
            auth(&owner),
        )
        .await;
    ok(&body, "resolveReport");
    assert_eq!(next_of(&mut socket).await.unwrap_err(), "NOT_FOUND");
}
