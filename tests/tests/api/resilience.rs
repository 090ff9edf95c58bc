//! Nothing lost: replicas that start at once migrate once, a background task that fails is
//! retried (and shows on `/metrics`), and `canyu backup` copies a database that is being
//! written into one that restores whole.

use canyu_tests::{TestApp, on_postgres};
use futures_util::future::join_all;
use serde_json::json;

use crate::support::{
    auth, create_community, execute, member, ok, scalar, set_status, staff, submit, vote,
};

#[tokio::test]
#[cfg_attr(not(canyu_postgres), ignore = "needs Postgres (set TEST_DATABASE_URL)")]
async fn replicas_starting_at_once_on_an_empty_database_migrate_once_and_both_serve() {
    let (first, second) = TestApp::spawn_two_at_once().await;
    let applied = first
        .sql_strings("SELECT COUNT(*) || ' ' || COUNT(DISTINCT version) FROM seaql_migrations")
        .await;
    let (rows, distinct) = applied[0].split_once(' ').unwrap();
    assert_eq!(rows, distinct, "a migration was recorded twice");
    assert_eq!(first.count("sync_counter").await, 1);
    let user = first.sign_up("early").await;
    let body = second
        .graphql("{ viewer { handle } }", json!({}), Some(&user.access_token))
        .await;
    assert_eq!(body["data"]["viewer"]["handle"], "early", "{body}");
}

/// `canyu_task_failures_total{task}` and `canyu_task_last_success_seconds{task}` on /metrics.
async fn task_metrics(app: &TestApp, task: &str) -> (f64, f64) {
    let (_, text) = app.get("/metrics").await;
    let value = |metric: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{metric}{{task=\"{task}\"}} ")))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    };
    (
        value("canyu_task_failures_total"),
        value("canyu_task_last_success_seconds"),
    )
}

#[tokio::test]
async fn a_fan_out_that_fails_is_retried_until_every_voter_is_told() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "phones", "PUBLIC").await;
    let author = member(&app, "author", &community).await;
    let id = submit(&app, &author, &community, "A longer battery").await;
    for i in 0..3 {
        let voter = member(&app, &format!("voter{i}"), &community).await;
        vote(&app, &voter, &id, "UP").await;
    }
    // Every SHIPPED notification fails to insert, inside the database.
    if on_postgres() {
        execute(&app, "CREATE FUNCTION refuse_shipped() RETURNS trigger AS $$ BEGIN IF NEW.kind = 'SHIPPED' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql").await;
        execute(&app, "CREATE TRIGGER refuse_shipped BEFORE INSERT ON notification FOR EACH ROW EXECUTE FUNCTION refuse_shipped()").await;
    } else {
        execute(&app, "CREATE TRIGGER refuse_shipped BEFORE INSERT ON notification WHEN NEW.kind = 'SHIPPED' BEGIN SELECT RAISE(ABORT, 'injected fault'); END").await;
    }
    let staffer = staff(&app, "staffer").await;
    set_status(&app, &staffer, &id, "SHIPPED").await;
    let mut failures = 0.0;
    for _ in 0..100 {
        failures = task_metrics(&app, "notification_fan_out").await.0;
        if failures > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(failures > 0.0, "the failed run shows on /metrics");
    assert_eq!(app.count("notification_fanout").await, 1, "the job waits");

    // The fault goes; the task's next turn (at most a few seconds away) tells every voter.
    execute(
        &app,
        if on_postgres() {
            "DROP TRIGGER refuse_shipped ON notification"
        } else {
            "DROP TRIGGER refuse_shipped"
        },
    )
    .await;
    crate::notifications::wait_for_fan_out(&app).await;
    let told = scalar(
        &app,
        "SELECT COUNT(*) FROM notification WHERE kind = 'SHIPPED'",
    )
    .await;
    assert_eq!(told, 3);
    let (_, last_success) = task_metrics(&app, "notification_fan_out").await;
    assert!(last_success > 0.0, "its last success shows on /metrics");
}

#[tokio::test]
async fn a_backup_taken_while_votes_arrive_restores_whole() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner").await;
    let community = create_community(&app, &owner, "phones", "PUBLIC").await;
    let mut ids = Vec::new();
    for title in ["One idea", "Two ideas", "Three ideas"] {
        ids.push(submit(&app, &owner, &community, title).await);
    }
    let mut voters = Vec::new();
    for i in 0..20 {
        voters.push(member(&app, &format!("voter{i}"), &community).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    let path = path.to_str().unwrap().to_string();
    let castings = voters.iter().enumerate().map(|(i, voter)| {
        let id = ids[i % ids.len()].clone();
        let app = &app;
        async move {
            app.graphql(
                "mutation($id: ID!) { castVote(input: { suggestionId: $id, value: UP }) { score } }",
                json!({ "id": id }),
                auth(voter),
            )
            .await
        }
    });
    let backup = canyu::db::backup(&app.state.db, &path);
    let (votes, backup) = tokio::join!(join_all(castings), backup);
    if on_postgres() {
        assert!(backup.is_err(), "Postgres is backed up with its own tools");
        return;
    }
    backup.unwrap();
    for body in &votes {
        ok(body, "castVote");
    }
    // The copy opens, is intact, and its counters equal its vote rows: a snapshot, not a mix.
    let copy = sea_orm::Database::connect(format!("sqlite://{path}?mode=ro"))
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    let one = |sql: &str| {
        let copy = &copy;
        let sql = sql.to_string();
        async move {
            copy.query_one_raw(sea_orm::Statement::from_string(
                copy.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap()
        }
    };
    let integrity: String = one("PRAGMA integrity_check")
        .await
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(integrity, "ok");
    let mismatched: i64 = one("SELECT COUNT(*) FROM suggestion s WHERE s.upvotes <> \
         (SELECT COUNT(*) FROM vote v WHERE v.suggestion_id = s.id AND v.value = 'UP')")
    .await
    .try_get_by_index(0)
    .unwrap();
    assert_eq!(mismatched, 0, "the copy's counters equal its rows");
    let suggestions: i64 = one("SELECT COUNT(*) FROM suggestion")
        .await
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(suggestions, 3);
    // A backup never overwrites a file.
    assert!(canyu::db::backup(&app.state.db, &path).await.is_err());
}

#[tokio::test]
async fn commits_reach_the_disk_before_they_are_acknowledged() {
    let app = TestApp::spawn().await;
    if on_postgres() {
        // Postgres waits for the WAL flush at each commit unless told not to.
        assert_eq!(app.sql_strings("SHOW synchronous_commit").await, ["on"]);
    } else {
        // 2 = FULL: the WAL is synced at every commit, so a power cut loses no acknowledged
        // write (NORMAL would sync only at checkpoints).
        assert_eq!(app.sql_strings("PRAGMA synchronous").await, ["2"]);
    }
}
