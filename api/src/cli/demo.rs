//! Demo data for `canyu seed-demo`: communities, fans, suggestions with votes, comments, official
//! responses and statuses, written in bulk with counters equal to the rows — so GraphiQL shows
//! something real at once, and benchmarks have a realistic database.

use chrono::{Duration, Utc};
use entity::community::{self, Visibility};
use entity::membership::{self, CommunityRole, MembershipStatus};
use entity::suggestion::{self, Kind, Status};
use entity::user::{self, Role};
use entity::{comment, suggestion_event, vote};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IntoActiveModel,
    QueryFilter, Set, Statement,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::services::metrics;
use crate::services::suggestions::hot_rank;
use crate::state::AppState;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "canyu-demo-password";

/// How much to seed.
#[derive(Debug, Clone)]
pub struct DemoSize {
    pub users: usize,
    pub suggestions: usize,
    pub votes: usize,
    pub comments: usize,
}

impl Default for DemoSize {
    fn default() -> Self {
        DemoSize {
            users: 300,
            suggestions: 3000,
            votes: 30_000,
            comments: 6000,
        }
    }
}

/// What was seeded.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub communities: Vec<(Uuid, String)>,
    pub users: usize,
    pub suggestions: usize,
    pub votes: usize,
    pub comments: usize,
    pub staff_handle: String,
}

const COMMUNITIES: &[(&str, &str, &str, Visibility)] = &[
    (
        "aurora-phones",
        "Aurora Phones",
        "Fans of the Aurora phone line: cameras, batteries, software.",
        Visibility::Public,
    ),
    (
        "home-lab",
        "Home Lab",
        "Smart home devices, routers and the app that runs them.",
        Visibility::Public,
    ),
    (
        "insiders",
        "Insiders",
        "Private beta testers of unreleased products.",
        Visibility::Private,
    ),
];

const SUBJECTS: &[&str] = &[
    "battery life",
    "night mode camera",
    "dark mode",
    "charging speed",
    "the settings app",
    "Wi-Fi range",
    "the lock screen",
    "fingerprint unlock",
    "notification grouping",
    "the router app",
    "firmware updates",
    "the smart plug schedule",
    "voice assistant wake word",
    "screen brightness",
    "the case fit",
];
const IDEAS: &[&str] = &[
    "Let us customise {}",
    "Add a widget for {}",
    "Please improve {}",
    "Offer a pro mode for {}",
    "Sync {} across devices",
];
const COMPLAINTS: &[&str] = &[
    "{} got worse after the last update",
    "Disappointed with {}",
    "{} is too slow",
];
const BUGS: &[&str] = &[
    "Crash when opening {}",
    "{} resets after reboot",
    "{} shows the wrong value",
];
const COMMENTS: &[&str] = &[
    "Same here, happens every day.",
    "+1, this would make me upgrade.",
    "Have you tried the beta? It is better there.",
    "Please fix this, it is the only thing I miss.",
    "Agree, and the same goes for the tablet.",
];

/// Seeds the demo into an empty database; refuses when it was seeded before, and in
/// production (every demo account shares one published password).
pub async fn seed(state: &AppState, size: DemoSize) -> AppResult<DemoReport> {
    if !state.config.is_development() {
        return Err(AppError::Forbidden(
            "seed-demo refuses to run with CANYU_ENV=production: its accounts share a published \
             password"
                .into(),
        ));
    }
    let db = &state.db;
    if community::Entity::find()
        .filter(community::Column::Slug.eq(COMMUNITIES[0].0))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "this database already holds the demo".into(),
        ));
    }
    let mut rng = StdRng::seed_from_u64(2026);
    let password_hash = state.passwords.hash(DEMO_PASSWORD.to_string()).await?;
    let now = Utc::now();
    let start = now - Duration::days(30);

    // Users: one STAFF account and the fans.
    let staff_handle = "brand_staff".to_string();
    let mut user_rows = vec![user_row(
        &staff_handle,
        "Brand Team",
        &password_hash,
        Role::Staff,
        start,
    )];
    for i in 0..size.users {
        let handle = format!("fan{i:05}");
        user_rows.push(user_row(
            &handle,
            &format!("Fan {i}"),
            &password_hash,
            Role::Member,
            start,
        ));
    }
    let staff_id = user_rows[0].id;
    let fan_ids: Vec<Uuid> = user_rows[1..].iter().map(|u| u.id).collect();
    insert_chunks::<user::Entity>(db, user_rows).await?;

    // Communities: every fan joins the public ones; a fifth of them are insiders.
    let mut communities = Vec::new();
    let mut members: Vec<Vec<Uuid>> = Vec::new();
    let mut membership_rows = Vec::new();
    for (slug, name, description, visibility) in COMMUNITIES {
        let id = Uuid::now_v7();
        let in_it: Vec<Uuid> = match visibility {
            Visibility::Public => fan_ids.clone(),
            Visibility::Private => fan_ids.iter().copied().step_by(5).collect(),
        };
        community::ActiveModel {
            id: Set(id),
            slug: Set(slug.to_string()),
            name: Set(name.to_string()),
            description: Set(description.to_string()),
            visibility: Set(*visibility),
            member_count: Set(i32::try_from(in_it.len() + 1).unwrap_or(i32::MAX)),
            created_by: Set(staff_id),
            created_at: Set(start),
            updated_at: Set(start),
        }
        .insert(db)
        .await?;
        membership_rows.push(membership_row(id, staff_id, CommunityRole::Owner, start));
        for fan in &in_it {
            membership_rows.push(membership_row(id, *fan, CommunityRole::Member, start));
        }
        communities.push((id, slug.to_string()));
        members.push(in_it);
    }
    insert_chunks::<membership::Entity>(db, membership_rows).await?;

    // Suggestions, spread over the last 30 days, mostly in the first community.
    struct Draft {
        model: suggestion::Model,
        community: usize,
        up: i32,
        down: i32,
        comments: i32,
    }
    let mut drafts: Vec<Draft> = Vec::with_capacity(size.suggestions);
    for i in 0..size.suggestions {
        let c = match i % 10 {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        };
        let author = *members[c].choose(&mut rng).unwrap_or(&staff_id);
        let subject = SUBJECTS[rng.gen_range(0..SUBJECTS.len())];
        let (kind, templates) = match rng.gen_range(0..10) {
            0..=5 => (Kind::Idea, IDEAS),
            6..=8 => (Kind::Complaint, COMPLAINTS),
            _ => (Kind::Bug, BUGS),
        };
        let title =
            capitalise(&templates[rng.gen_range(0..templates.len())].replace("{}", subject));
        let created = start + Duration::seconds(rng.gen_range(0..30 * 24 * 3600));
        let model = suggestion::Model {
            id: Uuid::now_v7(),
            community_id: communities[c].0,
            author_id: author,
            kind,
            title,
            body: format!(
                "I use it every day. {} matters to me because it is what I notice first. \
                 (#{i})",
                capitalise(subject)
            ),
            product_line: Some(communities[c].1.clone()),
            status: Status::Open,
            upvotes: 0,
            downvotes: 0,
            score: 0,
            comment_count: 0,
            hot_rank: 0,
            official_response_id: None,
            first_response_at: None,
            resolved_at: None,
            duplicate_of_id: None,
            deleted_at: None,
            created_at: created,
            updated_at: created,
            hidden_at: None,
            first_response_ms: None,
            resolution_ms: None,
        };
        drafts.push(Draft {
            model,
            community: c,
            up: 0,
            down: 0,
            comments: 0,
        });
    }

    // Votes: distinct (suggestion, fan) pairs, mostly UP, skewed towards a few suggestions.
    let mut vote_rows = Vec::with_capacity(size.votes);
    let mut seen = std::collections::HashSet::with_capacity(size.votes);
    let mut attempts = 0;
    while vote_rows.len() < size.votes && attempts < size.votes * 4 && !drafts.is_empty() {
        attempts += 1;
        let skewed = (rng.gen_range(0.0f64..1.0).powi(3) * drafts.len() as f64) as usize;
        let d = skewed.min(drafts.len() - 1);
        let pool = &members[drafts[d].community];
        let Some(voter) = pool.choose(&mut rng).copied() else {
            continue;
        };
        if !seen.insert((d, voter)) {
            continue;
        }
        let value = if rng.gen_range(0..10) < 8 {
            drafts[d].up += 1;
            vote::Value::Up
        } else {
            drafts[d].down += 1;
            vote::Value::Down
        };
        vote_rows.push(vote::Model {
            id: Uuid::now_v7(),
            suggestion_id: drafts[d].model.id,
            user_id: voter,
            value,
            created_at: now,
            updated_at: now,
        });
    }

    // Comments, and official responses with status changes on a third of the suggestions.
    let mut comment_rows = Vec::new();
    let mut event_rows = Vec::new();
    for _ in 0..size.comments {
        if drafts.is_empty() {
            break;
        }
        let d = rng.gen_range(0..drafts.len());
        let author = *members[drafts[d].community]
            .choose(&mut rng)
            .unwrap_or(&staff_id);
        drafts[d].comments += 1;
        comment_rows.push(comment_row(
            drafts[d].model.id,
            author,
            COMMENTS[rng.gen_range(0..COMMENTS.len())],
            false,
            now,
        ));
    }
    for draft in &mut drafts {
        let id = draft.model.id;
        let created = draft.model.created_at;
        event_rows.push(event_row(
            id,
            Some(draft.model.author_id),
            None,
            Status::Open,
            created,
        ));
        if rng.gen_range(0..3) == 0 {
            let answered = created + Duration::hours(rng.gen_range(1..24));
            let status = [
                Status::UnderReview,
                Status::Planned,
                Status::Shipped,
                Status::Declined,
            ][rng.gen_range(0..4)];
            let response = comment_row(
                id,
                staff_id,
                "Thanks for raising this — the team has looked at it.",
                true,
                answered,
            );
            draft.model.official_response_id = Some(response.id);
            let waited = metrics::millis(draft.model.created_at, answered);
            draft.model.first_response_at = Some(answered);
            draft.model.first_response_ms = Some(waited);
            draft.model.status = status;
            if matches!(status, Status::Shipped | Status::Declined) {
                draft.model.resolved_at = Some(answered);
                draft.model.resolution_ms = Some(waited);
            }
            draft.comments += 1;
            comment_rows.push(response);
            event_rows.push(event_row(
                id,
                Some(staff_id),
                Some(Status::Open),
                status,
                answered,
            ));
        }
        let score = draft.up - draft.down;
        draft.model.upvotes = draft.up;
        draft.model.downvotes = draft.down;
        draft.model.score = score;
        draft.model.comment_count = draft.comments;
        draft.model.hot_rank = hot_rank(score, created);
    }
    let suggestion_rows: Vec<suggestion::Model> = drafts.into_iter().map(|d| d.model).collect();
    let suggestions = suggestion_rows.len();
    let search_rows: Vec<(Uuid, String, String)> = suggestion_rows
        .iter()
        .map(|s| (s.id, s.title.clone(), s.body.clone()))
        .collect();
    insert_chunks::<suggestion::Entity>(db, suggestion_rows).await?;
    let votes = vote_rows.len();
    insert_chunks::<vote::Entity>(db, vote_rows).await?;
    let comments = comment_rows.len();
    insert_chunks::<comment::Entity>(db, comment_rows).await?;
    insert_chunks::<suggestion_event::Entity>(db, event_rows).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        for chunk in search_rows.chunks(300) {
            let mut sql =
                String::from("INSERT INTO suggestion_fts (suggestion_id, title, body) VALUES ");
            let mut values = Vec::with_capacity(chunk.len() * 3);
            for (i, (id, title, body)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(?{}, ?{}, ?{})", i * 3 + 1, i * 3 + 2, i * 3 + 3));
                values.push((*id).into());
                values.push(title.clone().into());
                values.push(body.clone().into());
            }
            db.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                sql,
                values,
            ))
            .await?;
        }
    }
    // Bulk inserts bypass the services: put every row into the sync change index at once, and
    // count the suggestions into the loop metrics.
    crate::changes::reindex(&state.db).await?;
    metrics::recount_all(&state.db).await?;
    // The planner's statistics for what was just loaded: without them (Postgres' autovacuum
    // may be off, SQLite never gathers them by itself) every read is planned for empty tables.
    state.db.execute_unprepared("ANALYZE").await?;
    Ok(DemoReport {
        communities,
        users: fan_ids.len() + 1,
        suggestions,
        votes,
        comments,
        staff_handle,
    })
}

/// Inserts `rows` 500 at a time.
async fn insert_chunks<E>(db: &impl ConnectionTrait, rows: Vec<E::Model>) -> AppResult<()>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Clone,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
{
    for chunk in rows.chunks(500) {
        E::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

fn user_row(
    handle: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
    at: chrono::DateTime<Utc>,
) -> user::Model {
    user::Model {
        id: Uuid::now_v7(),
        handle: handle.to_string(),
        display_name: display_name.to_string(),
        password_hash: password_hash.to_string(),
        role,
        token_version: 0,
        banned_at: None,
        growth_points: 0,
        created_at: at,
        updated_at: at,
    }
}

fn membership_row(
    community_id: Uuid,
    user_id: Uuid,
    role: CommunityRole,
    at: chrono::DateTime<Utc>,
) -> membership::Model {
    membership::Model {
        id: Uuid::now_v7(),
        community_id,
        user_id,
        role,
        status: MembershipStatus::Active,
        joined_at: Some(at),
        created_at: at,
    }
}

fn comment_row(
    suggestion_id: Uuid,
    author_id: Uuid,
    body: &str,
    official: bool,
    at: chrono::DateTime<Utc>,
) -> comment::Model {
    comment::Model {
        id: Uuid::now_v7(),
        suggestion_id,
        author_id,
        body: body.to_string(),
        official,
        created_at: at,
        edited_at: None,
        deleted_at: None,
        hidden_at: None,
    }
}

fn event_row(
    suggestion_id: Uuid,
    actor_id: Option<Uuid>,
    from: Option<Status>,
    to: Status,
    at: chrono::DateTime<Utc>,
) -> suggestion_event::Model {
    suggestion_event::Model {
        id: Uuid::now_v7(),
        suggestion_id,
        actor_id,
        from_status: from,
        to_status: to,
        note: None,
        created_at: at,
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
