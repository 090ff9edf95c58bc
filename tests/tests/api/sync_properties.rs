//! Property tests of offline sync. Three users in two communities (a public one all three
//! join and leave at random, and a private one with only two of them), five devices, and a
//! fixed-seed run of random offline writes (suggestions, edits, deletes, votes, comments,
//! joins and leaves), pushes and pulls with small limits — some of them at once. Then:
//! every device equals what its user may see through the ordinary API (12), and no device
//! ever received a row of a scope it did not hold (21), checked on every page as it arrived.

use std::collections::{BTreeMap, BTreeSet};

use canyu_tests::{TestApp, TestUser};
use futures_util::future::join;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::support::{self, auth, create_community, new_id, ok};
use crate::sync_client::{SyncClient, change_kind, entity_of, list, text_of};

const MEMBERSHIP: &str = "query($id: ID) { community(id: $id) { viewerMembership { status } } }";
const INVITE: &str =
    "mutation($c: ID!, $u: ID!) { inviteToCommunity(communityId: $c, userId: $u) { status } }";
const LIST: &str = "query($c: ID, $after: String) { suggestions(communityId: $c, first: 50, after: $after) { nodes { id title body upvotes downvotes commentCount viewerVote } pageInfo { hasNextPage endCursor } } }";
const COMMENTS: &str = "query($id: ID!) { suggestion(id: $id) { comments(first: 50) { nodes { id body } pageInfo { hasNextPage } } } }";
const VOTES: [&str; 3] = ["UP", "DOWN", "NONE"];

/// The user who is not a member of the private community (and never may be).
const OUTSIDER: usize = 2;

/// Two distinct elements of `items`, mutably.
fn pair_mut<T>(items: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b);
    if a < b {
        let (left, right) = items.split_at_mut(b);
        (&mut left[a], &mut right[0])
    } else {
        let (left, right) = items.split_at_mut(a);
        (&mut right[0], &mut left[b])
    }
}

/// The communities among `communities` where `user` is an ACTIVE member.
async fn active_communities(
    app: &TestApp,
    user: &TestUser,
    communities: &[&str],
) -> BTreeSet<String> {
    let mut active = BTreeSet::new();
    for community in communities {
        let body = app
            .graphql(MEMBERSHIP, json!({ "id": community }), auth(user))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        if body["data"]["community"]["viewerMembership"]["status"] == "ACTIVE" {
            active.insert(String::from(*community));
        }
    }
    active
}

/// Every suggestion `user` sees in `communities`, by id: `{ id title body upvotes downvotes
/// commentCount viewerVote }`.
async fn visible_suggestions(
    app: &TestApp,
    user: &TestUser,
    communities: &BTreeSet<String>,
) -> BTreeMap<String, Value> {
    let mut seen = BTreeMap::new();
    for community in communities {
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages <= 100, "suggestions never ended");
            let body = app
                .graphql(LIST, json!({ "c": community, "after": after }), auth(user))
                .await;
            let page = ok(&body, "suggestions");
            for node in list(&page["nodes"]) {
                seen.insert(text_of(node, "id"), node.clone());
            }
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = Some(text_of(&page["pageInfo"], "endCursor"));
        }
    }
    seen
}

/// The (id, body) of every comment `user` sees on a suggestion.
async fn visible_comments(
    app: &TestApp,
    user: &TestUser,
    suggestion_id: &str,
) -> BTreeSet<(String, String)> {
    let body = app
        .graphql(COMMENTS, json!({ "id": suggestion_id }), auth(user))
        .await;
    let comments = &ok(&body, "suggestion")["comments"];
    assert_eq!(comments["pageInfo"]["hasNextPage"], false, "{comments}");
    list(&comments["nodes"])
        .iter()
        .map(|c| (text_of(c, "id"), text_of(c, "body")))
        .collect()
}

/// A push answer of the simulation: every result has a known outcome, rejections have a
/// code, and no mutation was malformed or a reused id.
#[track_caller]
fn check_push(payload: &Value) {
    for result in list(&payload["results"]) {
        let outcome = result["outcome"].as_str().unwrap_or("");
        assert!(
            matches!(outcome, "APPLIED" | "REJECTED" | "CONFLICT"),
            "{result}"
        );
        assert!(
            outcome != "REJECTED" || result["code"].is_string(),
            "{result}"
        );
        for code in ["INVALID_ARGS", "MUTATION_ID_REUSED"] {
            assert_ne!(
                result["code"], code,
                "the simulation sends only well-formed, fresh mutations: {result}"
            );
        }
    }
}

/// The world of one run.
struct Sim {
    app: TestApp,
    users: Vec<TestUser>,
    public: String,
    private: String,
    devices: Vec<SyncClient>,
    /// The user index of each device.
    device_user: Vec<usize>,
    /// Every suggestion id ever queued (applied or not).
    suggestions: Vec<String>,
    community_of: BTreeMap<String, String>,
    author_of: BTreeMap<String, usize>,
    /// Per user: the communities where they are ACTIVE, as the server last said.
    active: Vec<BTreeSet<String>>,
    /// Seeded, so every run makes the same choices (`rand` keeps `StdRng` stable within a
    /// version).
    rng: StdRng,
    /// Extra weight of joins and leaves.
    churn: usize,
    serial: usize,
    pages_checked: usize,
    changes_checked: usize,
}

impl Sim {
    async fn setup(seed: u64, churn: usize) -> Sim {
        let app = TestApp::spawn().await;
        let founder = app.sign_up("founder").await;
        let public = create_community(&app, &founder, "open-club", "PUBLIC").await;
        let mut users = Vec::new();
        for handle in ["ana", "ben", "cyd"] {
            let user = app.sign_up(handle).await;
            support::join(&app, &user, &public).await;
            users.push(user);
        }
        let private = create_community(&app, &users[0], "inner-circle", "PRIVATE").await;
        let invited = app
            .graphql(
                INVITE,
                json!({ "c": private, "u": users[1].id }),
                auth(&users[0]),
            )
            .await;
        ok(&invited, "inviteToCommunity");
        support::join(&app, &users[1], &private).await;

        let mut devices = Vec::new();
        let mut device_user = Vec::new();
        for (user, count) in [(0, 2), (1, 1), (OUTSIDER, 2)] {
            for _ in 0..count {
                devices.push(SyncClient::new(&users[user]));
                device_user.push(user);
            }
        }
        let mut sim = Sim {
            app,
            users,
            public,
            private,
            devices,
            device_user,
            suggestions: Vec::new(),
            community_of: BTreeMap::new(),
            author_of: BTreeMap::new(),
            active: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            churn,
            serial: 0,
            pages_checked: 0,
            changes_checked: 0,
        };
        sim.refresh_membership().await;
        assert!(sim.active[0].contains(&sim.private));
        assert!(sim.active[1].contains(&sim.private));
        assert!(!sim.active[OUTSIDER].contains(&sim.private));
        sim
    }

    /// Asks the server which communities each user is ACTIVE in.
    async fn refresh_membership(&mut self) {
        let communities = [self.public.as_str(), self.private.as_str()];
        let mut all = Vec::new();
        for user in &self.users {
            all.push(active_communities(&self.app, user, &communities).await);
        }
        self.active = all;
    }

    fn random_device(&mut self) -> usize {
        self.rng.gen_range(0..self.devices.len())
    }

    fn two_devices(&mut self) -> (usize, usize) {
        let a = self.random_device();
        let mut b = self.random_device();
        while b == a {
            b = self.random_device();
        }
        (a, b)
    }

    /// A device of `user`.
    fn device_of(&mut self, user: usize) -> usize {
        let candidates: Vec<usize> = (0..self.devices.len())
            .filter(|d| self.device_user[*d] == user)
            .collect();
        candidates[self.rng.gen_range(0..candidates.len())]
    }

    /// Mostly a device of the suggestion's author, sometimes anyone's.
    fn author_or_anyone(&mut self, target: &str) -> usize {
        let author = self.author_of.get(target).copied();
        let prefer_author = self.rng.gen_ratio(75, 100);
        match author {
            Some(author) if prefer_author => self.device_of(author),
            _ => self.random_device(),
        }
    }

    fn random_suggestion(&mut self) -> Option<String> {
        if self.suggestions.is_empty() {
            return None;
        }
        let n = self.rng.gen_range(0..self.suggestions.len());
        Some(self.suggestions[n].clone())
    }

    fn queue_create(&mut self) {
        let d = self.random_device();
        let community = if self.rng.gen_ratio(20, 100) {
            self.private.clone()
        } else {
            self.public.clone()
        };
        self.serial += 1;
        let serial = self.serial;
        let id = new_id();
        self.devices[d].queue(
            "CREATE_SUGGESTION",
            json!({
                "id": id,
                "communityId": community,
                "kind": "IDEA",
                "title": format!("Idea {serial} from device {d}"),
                "body": format!("Body {serial}"),
            }),
        );
        self.community_of.insert(id.clone(), community);
        self.author_of.insert(id.clone(), self.device_user[d]);
        self.suggestions.push(id);
    }

    fn queue_edit(&mut self) {
        let Some(target) = self.random_suggestion() else {
            return;
        };
        let d = self.author_or_anyone(&target);
        self.serial += 1;
        let serial = self.serial;
        let mut args = json!({ "id": target });
        match self.rng.gen_range(0..3) {
            0 => args["title"] = json!(format!("Title edit {serial}")),
            1 => args["body"] = json!(format!("Body edit {serial}")),
            _ => {
                args["title"] = json!(format!("Title edit {serial}"));
                args["body"] = json!(format!("Body edit {serial}"));
            }
        }
        self.devices[d].queue("EDIT_SUGGESTION", args);
    }

    fn queue_delete(&mut self) {
        let Some(target) = self.random_suggestion() else {
            return;
        };
        let d = self.author_or_anyone(&target);
        self.devices[d].queue("DELETE_SUGGESTION", json!({ "id": target }));
    }

    fn queue_vote(&mut self) {
        let Some(target) = self.random_suggestion() else {
            return;
        };
        let d = self.random_device();
        let value = VOTES[self.rng.gen_range(0..VOTES.len())];
        self.devices[d].queue(
            "SET_VOTE",
            json!({ "suggestionId": target, "value": value }),
        );
    }

    fn queue_comment(&mut self) {
        let Some(target) = self.random_suggestion() else {
            return;
        };
        let d = self.random_device();
        self.serial += 1;
        let serial = self.serial;
        self.devices[d].queue(
            "ADD_COMMENT",
            json!({ "id": new_id(), "suggestionId": target, "body": format!("Comment {serial}") }),
        );
    }

    fn queue_membership(&mut self) {
        let d = self.random_device();
        let name = if self.rng.gen_bool(0.5) {
            "JOIN_COMMUNITY"
        } else {
            "LEAVE_COMMUNITY"
        };
        let community = self.public.clone();
        self.devices[d].queue(name, json!({ "communityId": community }));
    }

    fn limit(&mut self) -> i64 {
        self.rng.gen_range(1..=6)
    }

    async fn push_one(&mut self, d: usize) {
        let payload = self.devices[d].push(&self.app).await;
        check_push(&payload);
        self.refresh_membership().await;
    }

    async fn push_two(&mut self, a: usize, b: usize) {
        let (first, second) = pair_mut(&mut self.devices, a, b);
        let app = &self.app;
        let (p, q) = join(first.push(app), second.push(app)).await;
        check_push(&p);
        check_push(&q);
        self.refresh_membership().await;
    }

    async fn pull_one(&mut self, d: usize) {
        let limit = self.limit();
        let allowed = self.active[self.device_user[d]].clone();
        let page = self.devices[d].pull(&self.app, limit).await;
        self.check_page(d, &page, &allowed);
    }

    /// `pusher` pushes while `puller` pulls; the pull may see the state before or after.
    async fn push_and_pull(&mut self, pusher: usize, puller: usize) {
        let limit = self.limit();
        let mut allowed = self.active[self.device_user[puller]].clone();
        let (pushing, pulling) = pair_mut(&mut self.devices, pusher, puller);
        let app = &self.app;
        let (pushed, page) = join(pushing.push(app), pulling.pull(app, limit)).await;
        check_push(&pushed);
        self.refresh_membership().await;
        allowed.extend(self.active[self.device_user[puller]].iter().cloned());
        self.check_page(puller, &page, &allowed);
    }

    async fn step(&mut self) {
        let roll = self.rng.gen_range(0..100 + self.churn);
        match roll {
            0..=13 => self.queue_create(),
            14..=23 => self.queue_edit(),
            24..=29 => self.queue_delete(),
            30..=44 => self.queue_vote(),
            45..=52 => self.queue_comment(),
            53..=66 => {
                let d = self.random_device();
                self.push_one(d).await;
            }
            67..=73 => {
                let (a, b) = self.two_devices();
                self.push_two(a, b).await;
            }
            74..=89 => {
                let d = self.random_device();
                self.pull_one(d).await;
            }
            90..=99 => {
                let (a, b) = self.two_devices();
                self.push_and_pull(a, b).await;
            }
            _ => self.queue_membership(),
        }
    }

    /// Property 21 on one applied page: scope events only for scopes the user may hold,
    /// changes only under scopes the device holds (or removes in this very page), private
    /// rows only of the device's user, community rows only of communities the user belongs
    /// to (`allowed`), and never the private community for the outsider.
    fn check_page(&mut self, d: usize, page: &Value, allowed: &BTreeSet<String>) {
        self.pages_checked += 1;
        let user = self.device_user[d];
        let device = &self.devices[d];
        let user_id = device.user.id.clone();
        let own = format!("user:{user_id}");
        let private_scope = format!("community:{}", self.private);
        let mut removed = BTreeSet::new();
        for event in list(&page["scopeEvents"]) {
            let scope = text_of(event, "scope");
            assert!(
                user != OUTSIDER || scope != private_scope,
                "the outsider's device {d} was told about the private community: {event}"
            );
            if event["kind"] == "REMOVED" {
                removed.insert(scope);
                continue;
            }
            if scope != own {
                let community = scope
                    .strip_prefix("community:")
                    .unwrap_or_else(|| panic!("device {d} was given {scope}"));
                assert!(
                    allowed.contains(community),
                    "device {d} gained {scope}, a community its user is not in"
                );
            }
        }
        for change in list(&page["changes"]) {
            let scope = text_of(change, "scope");
            assert!(
                device.scopes.contains(&scope) || removed.contains(&scope),
                "device {d} got a change under {scope}, which it does not hold ({:?}): {change}",
                device.scopes
            );
            assert!(
                user != OUTSIDER || scope != private_scope,
                "the outsider's device {d} got a private row: {change}"
            );
            let kind = change_kind(change);
            let entity = entity_of(change);
            match kind.as_str() {
                "Vote" | "Ballot" | "Membership" | "GrowthEvent" => {
                    assert_eq!(scope, own, "device {d}: {change}");
                    if !entity.is_null() {
                        assert_eq!(
                            entity["userId"],
                            user_id.as_str(),
                            "device {d} got another user's row: {change}"
                        );
                    }
                }
                "Suggestion" | "Comment" | "Community" | "Poll" => {
                    let community = scope
                        .strip_prefix("community:")
                        .unwrap_or_else(|| panic!("device {d}: {change}"));
                    assert!(
                        allowed.contains(community) || removed.contains(&scope),
                        "device {d} got a row of a community its user is not in: {change}"
                    );
                    if !entity.is_null() {
                        let row_community = match kind.as_str() {
                            "Community" => text_of(entity, "id"),
                            "Comment" => {
                                let parent = text_of(entity, "suggestionId");
                                self.community_of.get(&parent).cloned().unwrap_or_else(|| {
                                    panic!("a comment on a suggestion nobody made: {change}")
                                })
                            }
                            _ => text_of(&entity["community"], "id"),
                        };
                        assert_eq!(
                            row_community, community,
                            "a row under another community's scope: {change}"
                        );
                    }
                }
                other => {
                    panic!("device {d} got a {other} change, which this run never makes: {change}")
                }
            }
        }
        self.changes_checked += list(&page["changes"]).len();
        self.check_layer(d);
    }

    /// The synced layer of device `d` holds rows only under scopes the device holds, private
    /// rows only of its user, and nothing private for the outsider.
    fn check_layer(&self, d: usize) {
        let device = &self.devices[d];
        let private_scope = format!("community:{}", self.private);
        let outsider = self.device_user[d] == OUTSIDER;
        assert!(
            !outsider || !device.scopes.contains(&private_scope),
            "the outsider's device {d} holds the private scope"
        );
        for ((kind, id), row) in &device.synced {
            assert!(
                row.scopes.is_subset(&device.scopes),
                "device {d} keeps {kind} {id} under {:?} while holding {:?}",
                row.scopes,
                device.scopes
            );
            assert!(
                !outsider || !row.scopes.contains(&private_scope),
                "the outsider's device {d} keeps {kind} {id} of the private community"
            );
            if matches!(kind.as_str(), "Vote" | "Ballot" | "Membership") {
                assert_eq!(
                    row.entity["userId"],
                    device.user.id.as_str(),
                    "device {d} keeps another user's {kind}: {}",
                    row.entity
                );
            }
        }
    }

    /// Pushes every outbox empty, then pulls every device to the head (checking each page).
    async fn settle(&mut self) {
        for d in 0..self.devices.len() {
            for _ in 0..50 {
                if self.devices[d].outbox.is_empty() {
                    break;
                }
                let payload = self.devices[d].push(&self.app).await;
                check_push(&payload);
            }
            assert!(
                self.devices[d].outbox.is_empty(),
                "device {d} could not empty its outbox"
            );
        }
        self.refresh_membership().await;
        for d in 0..self.devices.len() {
            let allowed = self.active[self.device_user[d]].clone();
            let mut done = false;
            for _ in 0..1_000 {
                let page = self.devices[d].pull(&self.app, 50).await;
                self.check_page(d, &page, &allowed);
                if page["hasMore"] != true {
                    done = true;
                    break;
                }
            }
            assert!(done, "device {d}: the pull never ended");
        }
    }

    /// After [`settle`](Self::settle): every device holds exactly its user's scopes, and its
    /// community rows belong to communities the user is ACTIVE in.
    fn assert_no_foreign_rows(&self) {
        for (d, device) in self.devices.iter().enumerate() {
            let u = self.device_user[d];
            let user = &self.users[u];
            let active = &self.active[u];
            let mut want: BTreeSet<String> =
                active.iter().map(|c| format!("community:{c}")).collect();
            want.insert(format!("user:{}", user.id));
            assert_eq!(device.scopes, want, "device {d} of {}", user.handle);
            self.check_layer(d);
            for ((kind, id), row) in &device.synced {
                let community = match kind.as_str() {
                    "Suggestion" | "Poll" => Some(text_of(&row.entity["community"], "id")),
                    "Community" => Some(id.clone()),
                    "Comment" => self
                        .community_of
                        .get(&text_of(&row.entity, "suggestionId"))
                        .cloned(),
                    _ => None,
                };
                if let Some(community) = community {
                    assert!(
                        active.contains(&community),
                        "device {d} of {} keeps {kind} {id} of a community it is not in",
                        user.handle
                    );
                }
                assert_ne!(kind, "RevenueShare", "device {d} keeps a revenue share");
            }
        }
    }

    /// Property 12, after [`settle`](Self::settle): every device equals what its user sees
    /// through the ordinary API — the suggestions of the communities the user is ACTIVE in
    /// (title, body, counters), the user's own vote on each, their comments, the communities
    /// and the user's memberships.
    async fn assert_converged(&self) {
        for (u, user) in self.users.iter().enumerate() {
            let active = &self.active[u];
            let expected = visible_suggestions(&self.app, user, active).await;
            let mut expected_comments: BTreeMap<String, BTreeSet<(String, String)>> =
                BTreeMap::new();
            for (id, node) in &expected {
                if node["commentCount"] != 0 {
                    expected_comments
                        .insert(id.clone(), visible_comments(&self.app, user, id).await);
                }
            }
            for (d, device) in self.devices.iter().enumerate() {
                if self.device_user[d] != u {
                    continue;
                }
                let who = format!("device {d} of {}", user.handle);
                let held: BTreeMap<String, &Value> = device
                    .rows_of("Suggestion")
                    .into_iter()
                    .map(|s| (text_of(s, "id"), s))
                    .collect();
                let held_ids: Vec<&String> = held.keys().collect();
                let want_ids: Vec<&String> = expected.keys().collect();
                assert_eq!(held_ids, want_ids, "{who}: suggestions");
                let votes = device.rows_of("Vote");
                let comments = device.rows_of("Comment");
                for (id, want) in &expected {
                    let got = held[id];
                    for field in ["title", "body", "upvotes", "downvotes", "commentCount"] {
                        assert_eq!(got[field], want[field], "{who}: {field} of {id}");
                    }
                    let mine: Vec<&&Value> = votes
                        .iter()
                        .filter(|v| v["suggestionId"] == id.as_str())
                        .collect();
                    assert!(mine.len() <= 1, "{who}: two votes on {id}: {mine:?}");
                    let held_vote = mine
                        .first()
                        .and_then(|v| v["value"].as_str())
                        .unwrap_or("NONE");
                    assert_eq!(
                        held_vote,
                        want["viewerVote"].as_str().unwrap_or("?"),
                        "{who}: the vote on {id}"
                    );
                    let held_comments: BTreeSet<(String, String)> = comments
                        .iter()
                        .filter(|c| c["suggestionId"] == id.as_str())
                        .map(|c| (text_of(c, "id"), text_of(c, "body")))
                        .collect();
                    let want_comments = expected_comments.get(id).cloned().unwrap_or_default();
                    assert_eq!(held_comments, want_comments, "{who}: comments of {id}");
                }
                assert_eq!(&device.ids_of("Community"), active, "{who}: communities");
                let memberships: BTreeMap<String, String> = device
                    .rows_of("Membership")
                    .into_iter()
                    .map(|m| (text_of(m, "communityId"), text_of(m, "status")))
                    .collect();
                let want_memberships: BTreeMap<String, String> = active
                    .iter()
                    .map(|c| (c.clone(), "ACTIVE".to_string()))
                    .collect();
                assert_eq!(memberships, want_memberships, "{who}: memberships");
            }
        }
        self.assert_no_foreign_rows();
    }
}

#[tokio::test]
async fn every_device_converges_to_what_its_user_may_see() {
    let mut sim = Sim::setup(0x5EED_0012, 8).await;
    for _ in 0..60 {
        sim.step().await;
    }
    sim.settle().await;
    assert!(
        sim.suggestions.len() >= 3,
        "too few writes to mean anything"
    );
    sim.assert_converged().await;
}

#[tokio::test]
async fn no_device_ever_receives_a_row_outside_its_scopes() {
    let mut sim = Sim::setup(0x5EED_0021, 25).await;
    for _ in 0..80 {
        sim.step().await;
    }
    sim.settle().await;
    sim.assert_no_foreign_rows();
    assert!(sim.pages_checked >= 10, "{} pages", sim.pages_checked);
    assert!(sim.changes_checked > 0, "no change was checked");
}
