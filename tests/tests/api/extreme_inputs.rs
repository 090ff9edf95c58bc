//! Extreme values in every argument of every mutation. The mutations and their argument types
//! come from introspection, so a new mutation (or a new argument, or a new pushed mutation
//! name) is covered without touching this file; only the valid values around the one extreme
//! argument are chosen here, so that the extreme value reaches the deep checks instead of
//! stopping at NOT_FOUND. Each answer must be a success or an error with a code the caller can
//! act on — never INTERNAL, never a dropped connection — and the server must be healthy
//! afterwards.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use canyu_tests::{PASSWORD, TestApp, TestUser, assert_code};
use chrono::{TimeDelta, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};

use crate::support::{auth, create_community, id_of, join, new_id, ok, submit};

/// Codes a caller can act on: any error outside these is a failure.
const ACTIONABLE: &[&str] = &[
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "CONFLICT",
    "POLL_CLOSED",
    "RATE_LIMITED",
    "QUERY_TOO_LARGE",
    "QUERY_TOO_COMPLEX",
    "QUERY_TOO_DEEP",
];

/// The codes of a rejected pushed mutation beyond [`ACTIONABLE`] (docs/sync.md).
const PUSH_REJECTIONS: &[&str] = &["INVALID_ARGS", "ENTITY_DELETED", "MUTATION_ID_REUSED"];

/// Mutations that end the caller's sessions when they succeed: each call gets a new user.
const FRESH_CALLER: &[&str] = &["changePassword"];

/// The largest string a request may carry in its variables (the body limit is 64 KiB).
const LARGE: usize = 60_000;

// ---------------------------------------------------------------------------------------------
// The schema, as introspection tells it
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Ty {
    NonNull(Box<Ty>),
    List(Box<Ty>),
    Named(String),
}

impl Ty {
    fn from_json(value: &Value) -> Ty {
        match value["kind"].as_str() {
            Some("NON_NULL") => Ty::NonNull(Box::new(Ty::from_json(&value["ofType"]))),
            Some("LIST") => Ty::List(Box::new(Ty::from_json(&value["ofType"]))),
            _ => Ty::Named(value["name"].as_str().expect("a named type").to_string()),
        }
    }

    /// The type as a variable declaration writes it.
    fn render(&self) -> String {
        match self {
            Ty::NonNull(inner) => format!("{}!", inner.render()),
            Ty::List(inner) => format!("[{}]", inner.render()),
            Ty::Named(name) => name.clone(),
        }
    }

    fn named(&self) -> &str {
        match self {
            Ty::NonNull(inner) | Ty::List(inner) => inner.named(),
            Ty::Named(name) => name,
        }
    }
}

#[derive(Debug, Clone)]
struct InputValue {
    name: String,
    ty: Ty,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    args: Vec<InputValue>,
    ty: Ty,
}

#[derive(Debug, Clone)]
enum TypeDef {
    Scalar,
    Enum(Vec<String>),
    Input(Vec<InputValue>),
    Object(Vec<Field>),
}

struct Schema {
    mutations: Vec<Field>,
    types: HashMap<String, TypeDef>,
}

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

fn input_values(list: &Value) -> Vec<InputValue> {
    list.as_array()
        .map(|values| {
            values
                .iter()
                .map(|v| InputValue {
                    name: v["name"].as_str().unwrap().to_string(),
                    ty: Ty::from_json(&v["type"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn fields(list: &Value) -> Vec<Field> {
    list.as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|f| Field {
                    name: f["name"].as_str().unwrap().to_string(),
                    args: input_values(&f["args"]),
                    ty: Ty::from_json(&f["type"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn introspect(app: &TestApp) -> Schema {
    let query = format!(
        "query {{ __schema {{ mutationType {{ name }} types {{ name kind \
         inputFields {{ name type {{ ...T }} }} enumValues {{ name }} \
         fields {{ name args {{ name type {{ ...T }} }} type {{ ...T }} }} }} }} }} {TYPE_REF}"
    );
    let body = app.graphql(&query, json!({}), None).await;
    assert!(body["errors"].is_null(), "introspection failed: {body}");
    let mutation_root = body["data"]["__schema"]["mutationType"]["name"]
        .as_str()
        .expect("a mutation type")
        .to_string();
    let mut types = HashMap::new();
    for t in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap().to_string();
        let def = match t["kind"].as_str().unwrap() {
            "ENUM" => TypeDef::Enum(
                t["enumValues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["name"].as_str().unwrap().to_string())
                    .collect(),
            ),
            "INPUT_OBJECT" => TypeDef::Input(input_values(&t["inputFields"])),
            "OBJECT" | "INTERFACE" => TypeDef::Object(fields(&t["fields"])),
            _ => TypeDef::Scalar,
        };
        types.insert(name, def);
    }
    let mutations = match types.get(&mutation_root) {
        Some(TypeDef::Object(fields)) => fields.clone(),
        _ => panic!("no mutation fields"),
    };
    Schema { mutations, types }
}

impl Schema {
    /// A selection of `type_name`'s fields that take no required argument, `depth` levels of
    /// objects deep, skipping connections (their pages would only add cost).
    fn selection(&self, type_name: &str, depth: usize) -> String {
        let Some(TypeDef::Object(fields)) = self.types.get(type_name) else {
            return String::new();
        };
        let mut parts = vec!["__typename".to_string()];
        for field in fields {
            if field.args.iter().any(|a| matches!(a.ty, Ty::NonNull(_))) {
                continue;
            }
            let named = field.ty.named();
            match self.types.get(named) {
                Some(TypeDef::Object(_)) => {
                    if depth == 0 || named.ends_with("Connection") {
                        continue;
                    }
                    let inner = self.selection(named, depth - 1);
                    parts.push(format!("{} {{ {inner} }}", field.name));
                }
                _ => parts.push(field.name.clone()),
            }
        }
        parts.join(" ")
    }

    /// The leaves of an argument that take extreme values: every scalar but Boolean, inside
    /// lists (their first item) and input objects.
    fn leaves(&self, ty: &Ty, path: &Path, out: &mut Vec<(Path, String)>) {
        if path.len() > 8 {
            return;
        }
        match ty {
            Ty::NonNull(inner) => self.leaves(inner, path, out),
            Ty::List(inner) => self.leaves(inner, &path.item(), out),
            Ty::Named(name) => match self.types.get(name) {
                Some(TypeDef::Input(fields)) => {
                    for field in fields {
                        self.leaves(&field.ty, &path.key(&field.name), out);
                    }
                }
                Some(TypeDef::Enum(_)) => {}
                _ if name == "Boolean" => {}
                _ => out.push((path.clone(), name.clone())),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Paths into an argument
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Item,
}

/// Where a value sits in a mutation's arguments: `input.pricePoints[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Path(Vec<Seg>);

impl Path {
    fn key(&self, name: &str) -> Path {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(name.to_string()));
        Path(segs)
    }

    fn item(&self) -> Path {
        let mut segs = self.0.clone();
        segs.push(Seg::Item);
        Path(segs)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn starts_with(&self, prefix: &Path) -> bool {
        self.0.starts_with(&prefix.0)
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if out.is_empty() => out.push_str(k),
                Seg::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Seg::Item => out.push_str("[0]"),
            }
        }
        out
    }
}

/// Puts `new` at `path` inside `root`, making the objects and lists on the way.
fn set_at(root: &mut Value, path: &[Seg], new: Value) {
    let Some((first, rest)) = path.split_first() else {
        *root = new;
        return;
    };
    match first {
        Seg::Key(k) => {
            if !root.is_object() {
                *root = json!({});
            }
            let slot = root
                .as_object_mut()
                .unwrap()
                .entry(k.clone())
                .or_insert(Value::Null);
            set_at(slot, rest, new);
        }
        Seg::Item => {
            if !root.is_array() || root.as_array().unwrap().is_empty() {
                *root = json!([Value::Null]);
            }
            set_at(&mut root.as_array_mut().unwrap()[0], rest, new);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Extreme values
// ---------------------------------------------------------------------------------------------

/// One extreme value with a name for the report.
#[derive(Debug, Clone)]
struct Extreme {
    label: String,
    value: Value,
}

fn extreme(label: &str, value: Value) -> Extreme {
    Extreme {
        label: label.to_string(),
        value,
    }
}

fn strings() -> Vec<Extreme> {
    vec![
        extreme("empty", json!("")),
        extreme("60 000 bytes of x", json!("x".repeat(LARGE))),
        extreme(
            "20 000 CJK characters (60 000 bytes)",
            json!("字".repeat(LARGE / 3)),
        ),
        extreme("NUL", json!("\u{0}")),
        extreme("NUL inside", json!("ab\u{0}cd")),
        extreme("U+202E override", json!("\u{202E}evil")),
        extreme("only zero-width", json!("\u{200B}\u{200B}\u{200B}")),
        extreme(
            "only format characters",
            json!("\u{FEFF}\u{2060}\u{200D}\u{200C}"),
        ),
        extreme(
            "combining marks",
            json!("Z\u{0351}\u{0354}\u{0301}\u{0302}a\u{0303}\u{0304}l\u{0305}g\u{0306}o"),
        ),
        extreme(
            "only combining marks",
            json!("\u{0301}\u{0302}\u{0303}\u{0304}"),
        ),
        extreme("line separator", json!("one\u{2028}two")),
        extreme("whitespace only", json!(" \t\u{3000}\u{00A0} ")),
    ]
}

fn ints() -> Vec<Extreme> {
    vec![
        extreme("i32::MIN", json!(i32::MIN)),
        extreme("i32::MAX", json!(i32::MAX)),
        extreme("0", json!(0)),
        extreme("-1", json!(-1)),
        extreme("2^31 (beyond Int)", json!(2_147_483_648_i64)),
    ]
}

fn decimals() -> Vec<Extreme> {
    vec![
        extreme("Decimal::MAX", json!("79228162514264337593543950335")),
        extreme("10^-28", json!("0.0000000000000000000000000001")),
        extreme("-0", json!("-0")),
        extreme("Decimal::MIN", json!("-79228162514264337593543950335")),
        extreme("1e30", json!("1e30")),
        extreme("NaN", json!("NaN")),
        extreme(
            "28 decimals of a large number",
            json!("7.9228162514264337593543950335"),
        ),
        extreme(
            "29 digits beyond MAX",
            json!("79228162514264337593543950336"),
        ),
        extreme(
            "one minor unit beyond the maximum",
            json!("10000000000000.01"),
        ),
        extreme("number 7e28", json!(7e28)),
        extreme("number -0.0", json!(-0.0)),
    ]
}

fn date_times() -> Vec<Extreme> {
    vec![
        extreme("year 1", json!("0001-01-01T00:00:00Z")),
        extreme("year 9999", json!("9999-12-31T23:59:59Z")),
        extreme(
            "year 9999, nanoseconds",
            json!("9999-12-31T23:59:59.999999999Z"),
        ),
        extreme("year 0", json!("0000-01-01T00:00:00Z")),
        extreme("not a date", json!("yesterday")),
    ]
}

fn ids() -> Vec<Extreme> {
    vec![
        extreme("empty", json!("")),
        extreme("garbage", json!("'; DROP TABLE user; --")),
        extreme("a UUID of nothing", json!(new_id())),
        extreme("nil UUID", json!("00000000-0000-0000-0000-000000000000")),
        extreme("60 000 bytes", json!("f".repeat(LARGE))),
        extreme("NUL", json!("\u{0}")),
    ]
}

fn json_values() -> Vec<Extreme> {
    let mut nested = json!(1);
    for _ in 0..64 {
        nested = json!({ "a": nested });
    }
    vec![
        extreme("null", Value::Null),
        extreme("empty list", json!([])),
        extreme("a string", json!("args")),
        extreme("empty object", json!({})),
        extreme("nested 64 deep", nested),
    ]
}

/// The extreme values of a scalar type (unknown scalars are sent strings).
fn extremes_of(scalar: &str) -> Vec<Extreme> {
    match scalar {
        "Int" => ints(),
        "Float" => vec![
            extreme("f64::MAX", json!(f64::MAX)),
            extreme("-0.0", json!(-0.0)),
        ],
        "ID" => ids(),
        "Decimal" => decimals(),
        "DateTime" => date_times(),
        "JSON" => json_values(),
        _ => strings(),
    }
}

/// The extremes of a JSON leaf of pushed args, by what its valid value looks like.
fn extremes_of_json_leaf(valid: &Value) -> Vec<Extreme> {
    match valid {
        Value::Number(_) => ints(),
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => ids(),
        Value::String(s) if s.parse::<f64>().is_ok() => decimals(),
        Value::String(_) => {
            let mut all = strings();
            all.push(extreme("a number", json!(1)));
            all.push(extreme("an object", json!({ "x": 1 })));
            all
        }
        _ => Vec::new(),
    }
}

/// The paths of the strings and numbers inside a JSON value.
fn json_leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                json_leaves(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                json_leaves(v, path, out);
                path.pop();
            }
        }
        Value::String(_) | Value::Number(_) => out.push(path.clone()),
        _ => {}
    }
}

fn json_set(root: &mut Value, path: &[String], new: Value) {
    match path.split_first() {
        None => *root = new,
        Some((first, rest)) => {
            let slot = match root {
                Value::Object(map) => map.get_mut(first).unwrap(),
                Value::Array(items) => &mut items[first.parse::<usize>().unwrap()],
                _ => unreachable!(),
            };
            json_set(slot, rest, new);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rows the valid values point at
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Admin,
    Member,
}

impl Caller {
    fn name(self) -> &'static str {
        match self {
            Caller::Admin => "admin",
            Caller::Member => "member",
        }
    }
}

struct World {
    admin: TestUser,
    member: TestUser,
    /// A user neither caller is; the target of role, ban and invitation changes.
    victim: TestUser,
    community: String,
    /// Each caller's own OPEN suggestion and comment on it.
    open: HashMap<&'static str, String>,
    comment: HashMap<&'static str, String>,
    /// A suggestion for the staff workflow (status, response, adoption).
    workflow: String,
    duplicate: String,
    original: String,
    choice_poll: String,
    van_westendorp_poll: String,
    gabor_granger_poll: String,
    /// A decision vote open now, and one of its options.
    decision_poll: String,
    decision_option: String,
    partner: String,
    reward: String,
    reward_line: String,
    approved_share: String,
    pending_share: String,
}

fn at(seconds: i64) -> String {
    (Utc::now() + TimeDelta::seconds(seconds)).to_rfc3339()
}

async fn create_poll(app: &TestApp, admin: &TestUser, community: &str, method: &str) -> String {
    let points = (method != "VAN_WESTENDORP").then(|| json!(["10.00", "20.00"]));
    let body = app
        .graphql(
            "mutation($input: CreatePricingPollInput!) { createPricingPoll(input: $input) { id } }",
            json!({ "input": {
                "communityId": community, "productName": "Widget", "currency": "USD",
                "method": method, "pricePoints": points, "opensAt": at(-3600), "closesAt": at(86_400),
            } }),
            auth(admin),
        )
        .await;
    id_of(ok(&body, "createPricingPoll"))
}

async fn comment_on(app: &TestApp, user: &TestUser, suggestion: &str) -> String {
    let body = app
        .graphql(
            "mutation($s: ID!) { addComment(input: { suggestionId: $s, body: \"A comment\" }) { id } }",
            json!({ "s": suggestion }),
            auth(user),
        )
        .await;
    id_of(ok(&body, "addComment"))
}

async fn report_sales(app: &TestApp, admin: &TestUser, line: &str) -> Vec<String> {
    let body = app
        .graphql(
            "mutation($input: ReportSalesInput!) { reportSales(input: $input) { records { id } } }",
            json!({ "input": {
                "externalId": new_id(), "productLine": line, "periodStart": at(-7200),
                "periodEnd": at(-3600), "netSales": "100.00", "currency": "USD",
            } }),
            auth(admin),
        )
        .await;
    ok(&body, "reportSales")["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

async fn build_world(app: &TestApp) -> World {
    let admin = app.admin("extreme_admin").await;
    let member = app.sign_up("extreme_member").await;
    let victim = app.sign_up("extreme_victim").await;
    let community = create_community(app, &admin, "extreme-inputs", "PUBLIC").await;
    join(app, &member, &community).await;
    let mut open = HashMap::new();
    let mut comment = HashMap::new();
    for (name, user) in [("admin", &admin), ("member", &member)] {
        let suggestion = submit(app, user, &community, &format!("Open idea of {name}")).await;
        comment.insert(name, comment_on(app, user, &suggestion).await);
        open.insert(name, suggestion);
    }
    let workflow = submit(app, &member, &community, "Workflow idea").await;
    let duplicate = submit(app, &member, &community, "Duplicate idea").await;
    let original = submit(app, &member, &community, "Original idea").await;
    let rewarded = submit(app, &member, &community, "Rewarded idea").await;
    let choice_poll = create_poll(app, &admin, &community, "CHOICE").await;
    let van_westendorp_poll = create_poll(app, &admin, &community, "VAN_WESTENDORP").await;
    let gabor_granger_poll = create_poll(app, &admin, &community, "GABOR_GRANGER").await;
    let body = app
        .graphql(
            "mutation($input: CreateDecisionPollInput!) { createDecisionPoll(input: $input) { id options { id } } }",
            json!({ "input": {
                "communityId": community, "title": "What we build next",
                "opensAt": at(-3_600), "closesAt": at(86_400), "binding": false,
                "options": [{ "label": "Night mode" }, { "label": "USB-C" }], "winners": 1,
            } }),
            auth(&admin),
        )
        .await;
    let decision = ok(&body, "createDecisionPoll");
    let (decision_poll, decision_option) = (id_of(decision), id_of(&decision["options"][0]));
    let body = app
        .graphql(
            "mutation { createPartner(input: { name: \"Shop\", scopes: [\"sales:write\"] }) { partner { id } } }",
            json!({}),
            auth(&admin),
        )
        .await;
    let partner = id_of(&ok(&body, "createPartner")["partner"]);
    let reward_line = "extreme-line".to_string();
    let body = app
        .graphql(
            "mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
            json!({ "input": {
                "suggestionId": rewarded, "productLine": reward_line, "currency": "USD",
                "startsAt": at(-86_400),
            } }),
            auth(&admin),
        )
        .await;
    let reward = id_of(ok(&body, "adoptSuggestion"));
    let approved_share = report_sales(app, &admin, &reward_line).await[0].clone();
    let pending_share = report_sales(app, &admin, &reward_line).await[0].clone();
    let body = app
        .graphql(
            "mutation($ids: [ID!]!) { approveRevenueShares(ids: $ids) { id } }",
            json!({ "ids": [approved_share] }),
            auth(&admin),
        )
        .await;
    ok(&body, "approveRevenueShares");
    World {
        admin,
        member,
        victim,
        community,
        open,
        comment,
        workflow,
        duplicate,
        original,
        choice_poll,
        van_westendorp_poll,
        gabor_granger_poll,
        decision_poll,
        decision_option,
        partner,
        reward,
        reward_line,
        approved_share,
        pending_share,
    }
}

// ---------------------------------------------------------------------------------------------
// Valid values around the extreme one
// ---------------------------------------------------------------------------------------------

/// One request of the sweep: which mutation, who calls, and where the extreme value goes.
struct Call<'a> {
    mutation: &'a str,
    caller: Caller,
    target: &'a Path,
}

impl Call<'_> {
    fn aims_at(&self, prefix: &str) -> bool {
        let target = self.target.text();
        target == prefix
            || target.starts_with(&format!("{prefix}."))
            || target.starts_with(&format!("{prefix}["))
    }
}

struct Sweep<'a> {
    app: &'a TestApp,
    schema: &'a Schema,
    world: &'a World,
    client: reqwest::Client,
    counter: u64,
    failures: Vec<String>,
    /// Answers per mutation by code ("ok" for a success), for the summary.
    tally: BTreeMap<String, BTreeMap<String, usize>>,
    requests: usize,
}

impl Sweep<'_> {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn user(&self, caller: Caller) -> &TestUser {
        match caller {
            Caller::Admin => &self.world.admin,
            Caller::Member => &self.world.member,
        }
    }

    /// The CHOICE, VAN_WESTENDORP or GABOR_GRANGER poll, by the part of a ballot `call` aims at.
    fn ballot_poll(&self, call: &Call) -> &str {
        if call.aims_at("input.vanWestendorp") {
            &self.world.van_westendorp_poll
        } else if call.aims_at("input.gaborGranger") {
            &self.world.gabor_granger_poll
        } else {
            &self.world.choice_poll
        }
    }

    /// A valid value this test picked for `key` of `call`'s mutation; `None` leaves the choice
    /// to the type (and leaves out an optional field).
    fn fixture(&mut self, call: &Call, key: &str) -> Option<Value> {
        let w = self.world;
        let me = call.caller.name();
        let last = key.rsplit('.').next().unwrap_or(key);
        let value = match (call.mutation, key) {
            ("signUp", "input.handle") => json!(self.fresh("extreme_")),
            ("signUp", "input.displayName") => json!("Extreme"),
            ("logIn", "input.handle") => json!(w.victim.handle),
            ("changePassword", "input.newPassword") => json!("another horse battery"),
            ("setMemberRole", "userId") => json!(w.member.id),
            ("setUserRole", "role") | ("setMemberRole", "role") => json!("MEMBER"),
            ("createCommunity", "input.slug") => json!(self.fresh("extreme-")),
            ("revokePartner", "id") => json!(w.partner),
            ("createPartner", "input.scopes") => json!(["sales:write"]),
            (
                "setSuggestionStatus" | "respondToSuggestion" | "adoptSuggestion",
                "input.suggestionId",
            ) => json!(w.workflow),
            ("setSuggestionStatus", "input.status") => json!("UNDER_REVIEW"),
            ("markDuplicate", "input.suggestionId") => json!(w.duplicate),
            ("markDuplicate", "input.duplicateOfId") => json!(w.original),
            ("createPricingPoll", "input.binding") => json!(call.aims_at("input.quorum")),
            ("createPricingPoll", "input.method") => json!("CHOICE"),
            ("createPricingPoll", "input.pricePoints") => json!(["10.00", "20.00"]),
            ("createPricingPoll", "input.opensAt") => json!(at(-3600)),
            ("createPricingPoll", "input.closesAt") => json!(at(86_400)),
            ("castBallot", "input.pollId") => json!(self.ballot_poll(call)),
            ("castBallot", "input.choice")
                if !call.aims_at("input.vanWestendorp") && !call.aims_at("input.gaborGranger") =>
            {
                json!("10.00")
            }
            ("castBallot", "input.vanWestendorp") if call.aims_at(key) => json!({
                "tooCheap": "1.00", "cheap": "2.00", "expensive": "3.00", "tooExpensive": "4.00",
            }),
            ("castBallot", "input.gaborGranger") if call.aims_at(key) => json!([
                { "price": "10.00", "wouldBuy": true }, { "price": "20.00", "wouldBuy": false },
            ]),
            ("adoptSuggestion", "input.productLine") => json!(self.fresh("line-")),
            ("adoptSuggestion", "input.startsAt") => json!(at(-86_400)),
            ("adoptSuggestion", "input.contributors") if call.aims_at(key) => json!([
                { "userId": w.member.id, "weightBps": 5000 },
                { "userId": w.admin.id, "weightBps": 5000 },
            ]),
            ("endIdeaReward", "id") => json!(w.reward),
            ("endIdeaReward", "endsAt") => json!(at(30 * 86_400)),
            ("reportSales", "input.externalId") => json!(new_id()),
            ("reportSales", "input.productLine") => json!(w.reward_line),
            ("reportSales", "input.periodStart") => json!(at(-7200)),
            ("reportSales", "input.periodEnd") => json!(at(-3600)),
            ("reportSales", "input.netSales") => json!("100.00"),
            ("markRevenueSharesPaid", "ids") => json!([w.approved_share]),
            ("voidRevenueShare", "id") => json!(w.pending_share),
            ("push", "input.clientGroupId" | "input.clientId") => json!(new_id()),
            ("push", "input.protocolVersion") => json!(1),
            ("push", "input.schemaVersion") => json!(2),
            ("push", "input.mutations[0].id") => json!(1),
            ("push", "input.mutations[0].name") => {
                if call.aims_at("input.mutations[0].baseSeq") {
                    json!("EDIT_SUGGESTION")
                } else {
                    json!("JOIN_COMMUNITY")
                }
            }
            ("push", "input.mutations[0].args") => {
                if call.aims_at("input.mutations[0].baseSeq") {
                    json!({ "id": w.open[me], "title": "Edited offline" })
                } else {
                    json!({ "communityId": w.community })
                }
            }
            _ => match last {
                "id" if key.contains('.') => json!(new_id()),
                "communityId" => json!(w.community),
                "suggestionId" => json!(w.open[me]),
                "commentId" => json!(w.comment[me]),
                "pollId" => json!(w.choice_poll),
                "userId" => json!(w.victim.id),
                "password" | "currentPassword" => json!(PASSWORD),
                "currency" => json!("USD"),
                "handle" => json!(self.fresh("extreme_")),
                "slug" => json!(self.fresh("extreme-")),
                "refreshToken" => json!(self.user(call.caller).refresh_token),
                _ => return None,
            },
        };
        Some(value)
    }

    /// A valid value of `ty` at `path` (absent for an optional field no one asked for).
    fn valid(&mut self, call: &Call, path: &Path, ty: &Ty) -> Option<Value> {
        let (required, ty) = match ty {
            Ty::NonNull(inner) => (true, inner.as_ref()),
            other => (false, other),
        };
        if let Some(value) = self.fixture(call, &path.text()) {
            return Some(value);
        }
        if !required && !call.target.starts_with(path) {
            return None;
        }
        Some(match ty {
            Ty::List(inner) => {
                json!([self.valid(call, &path.item(), inner).unwrap_or(Value::Null)])
            }
            Ty::NonNull(_) => unreachable!("non-null of non-null"),
            Ty::Named(name) => match self.schema.types.get(name) {
                Some(TypeDef::Input(fields)) => {
                    let mut object = Map::new();
                    for field in fields {
                        if let Some(v) = self.valid(call, &path.key(&field.name), &field.ty) {
                            object.insert(field.name.clone(), v);
                        }
                    }
                    Value::Object(object)
                }
                Some(TypeDef::Enum(values)) => json!(values[0]),
                _ => match name.as_str() {
                    "Int" => json!(1),
                    "Float" => json!(1.0),
                    "Boolean" => json!(false),
                    "ID" => json!(new_id()),
                    "Decimal" => json!("10.00"),
                    "DateTime" => json!(at(0)),
                    "JSON" => json!({}),
                    _ => json!(self.fresh("valid text ")),
                },
            },
        })
    }

    /// The variables of `call` with every argument valid but the target.
    fn variables(&mut self, call: &Call, field: &Field) -> Map<String, Value> {
        let mut variables = Map::new();
        for arg in &field.args {
            let path = Path::default().key(&arg.name);
            if let Some(v) = self.valid(call, &path, &arg.ty) {
                variables.insert(arg.name.clone(), v);
            }
        }
        variables
    }

    // -----------------------------------------------------------------------------------------
    // Sending and judging
    // -----------------------------------------------------------------------------------------

    fn document(&self, field: &Field) -> String {
        let declarations: Vec<String> = field
            .args
            .iter()
            .map(|a| format!("${}: {}", a.name, a.ty.render()))
            .collect();
        let arguments: Vec<String> = field
            .args
            .iter()
            .map(|a| format!("{0}: ${0}", a.name))
            .collect();
        let selection = self.schema.selection(field.ty.named(), 2);
        let selection = if selection.is_empty() {
            String::new()
        } else {
            format!(" {{ {selection} }}")
        };
        let (open, close) = if declarations.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!("({})", declarations.join(", ")),
                format!("({})", arguments.join(", ")),
            )
        };
        format!("mutation{open} {{ {}{close}{selection} }}", field.name)
    }

    async fn post(&self, token: &str, body: &Value) -> Result<(u16, Value), String> {
        let response = self
            .client
            .post(format!("{}/graphql", self.app.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("no answer (dropped connection?): {e}"))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| format!("body cut off: {e}"))?;
        let body = serde_json::from_str(&text)
            .map_err(|_| format!("HTTP {status} with a body that is not JSON: {text:.200}"))?;
        Ok((status, body))
    }

    /// What is wrong with an answer, if anything.
    fn judge(&mut self, mutation: &str, status: u16, body: &Value) -> Option<String> {
        let tally = self.tally.entry(mutation.to_string()).or_default();
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        if errors.is_empty() {
            let data = &body["data"][mutation];
            if data.is_null() {
                return Some(format!("HTTP {status}, neither data nor errors: {body}"));
            }
            if mutation == "push" {
                if !data["retryAfterMs"].is_null() {
                    return Some(format!("push stopped as if by a transient failure: {data}"));
                }
                for result in data["results"].as_array().into_iter().flatten() {
                    match result["code"].as_str() {
                        None => *tally.entry("ok".into()).or_default() += 1,
                        Some(code)
                            if ACTIONABLE.contains(&code) || PUSH_REJECTIONS.contains(&code) =>
                        {
                            *tally.entry(format!("pushed {code}")).or_default() += 1;
                        }
                        Some(code) => {
                            return Some(format!("pushed mutation answered {code}: {result}"));
                        }
                    }
                }
                return None;
            }
            *tally.entry("ok".into()).or_default() += 1;
            return None;
        }
        for error in &errors {
            let code = error["extensions"]["code"].as_str().unwrap_or("(none)");
            *tally.entry(code.to_string()).or_default() += 1;
            if !ACTIONABLE.contains(&code) {
                return Some(format!("HTTP {status}, {code}: {}", error["message"]));
            }
            // The documents of this sweep are small and shallow: a document limit here means
            // the mutation never ran, which would hide what the value does.
            if code.starts_with("QUERY_TOO") {
                return Some(format!("the sweep's own document was refused: {error}"));
            }
        }
        None
    }

    /// Sends one call; records what was wrong with the answer.
    async fn send(
        &mut self,
        field: &Field,
        caller: Caller,
        where_: &str,
        variables: Map<String, Value>,
        label: &str,
    ) {
        let token = if FRESH_CALLER.contains(&field.name.as_str()) {
            let handle = self.fresh("extreme_fresh_");
            self.app.sign_up(&handle).await.access_token
        } else {
            self.user(caller).access_token.clone()
        };
        let body = json!({ "query": self.document(field), "variables": variables });
        self.requests += 1;
        let verdict = match self.post(&token, &body).await {
            Ok((status, answer)) => self.judge(&field.name, status, &answer),
            Err(problem) => Some(problem),
        };
        if let Some(problem) = verdict {
            self.failures.push(format!(
                "{} {where_} = {label} (as {}): {problem}",
                field.name,
                caller.name()
            ));
        }
    }

    /// Every extreme value of every leaf of `field`'s arguments (one sampled value per leaf for
    /// the member), then a 100 KB string, which must be refused before parsing.
    async fn sweep_mutation(&mut self, field: &Field, rng: &mut StdRng) {
        let mut leaves = Vec::new();
        for arg in &field.args {
            self.schema
                .leaves(&arg.ty, &Path::default().key(&arg.name), &mut leaves);
        }
        if leaves.is_empty() {
            // Nothing to make extreme: the valid call alone, so the mutation is still hit.
            for caller in [Caller::Admin, Caller::Member] {
                let call = Call {
                    mutation: &field.name,
                    caller,
                    target: &Path::default(),
                };
                let variables = self.variables(&call, field);
                self.send(field, caller, "(valid arguments)", variables, "-")
                    .await;
            }
        }
        for (path, scalar) in &leaves {
            for caller in [Caller::Admin, Caller::Member] {
                let call = Call {
                    mutation: &field.name,
                    caller,
                    target: path,
                };
                let pushed_args = scalar == "JSON" && field.name == "push";
                let mut cases: Vec<(String, Extreme, Map<String, Value>)> = Vec::new();
                if pushed_args {
                    for (name, args_path, e) in self.pushed_extremes(caller) {
                        let where_ = format!("{}.{name}{args_path}", path.text());
                        let mut variables = self.variables(&call, field);
                        let mut root = Value::Object(variables);
                        set_at(&mut root, &path.0, e.value.clone());
                        let mut name_path = path.0.clone();
                        name_path.pop();
                        name_path.push(Seg::Key("name".into()));
                        set_at(&mut root, &name_path, json!(name));
                        variables = root.as_object().unwrap().clone();
                        cases.push((where_, e, variables));
                    }
                } else {
                    for e in extremes_of(scalar) {
                        let variables = self.variables(&call, field);
                        let mut root = Value::Object(variables);
                        set_at(&mut root, &path.0, e.value.clone());
                        cases.push((path.text(), e, root.as_object().unwrap().clone()));
                    }
                }
                if caller == Caller::Member {
                    cases.shuffle(rng);
                    cases.truncate(if pushed_args { 12 } else { 1 });
                }
                for (where_, e, variables) in cases {
                    self.send(field, caller, &where_, variables, &e.label).await;
                }
            }
        }
        if let Some((path, _)) = leaves
            .iter()
            .find(|(_, scalar)| matches!(scalar.as_str(), "String" | "ID"))
        {
            let call = Call {
                mutation: &field.name,
                caller: Caller::Admin,
                target: path,
            };
            let mut root = Value::Object(self.variables(&call, field));
            set_at(&mut root, &path.0, json!("x".repeat(100 * 1024)));
            let body = json!({ "query": self.document(field), "variables": root });
            self.requests += 1;
            let token = self.world.admin.access_token.clone();
            match self.post(&token, &body).await {
                Ok((413, answer))
                    if answer["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE" => {}
                Ok((status, answer)) => self.failures.push(format!(
                    "{} {} = 100 KB: expected 413 QUERY_TOO_LARGE, got HTTP {status} {answer:.300}",
                    field.name,
                    path.text()
                )),
                Err(problem) => self.failures.push(format!(
                    "{} {} = 100 KB: {problem}",
                    field.name,
                    path.text()
                )),
            }
        }
    }

    /// Pushed mutations with extreme args: for every name of `MutationName`, each string and
    /// number of its valid args replaced by the extremes of what it holds, and args that are
    /// not an object of those fields at all. Returns (name, where in the args, extreme).
    fn pushed_extremes(&mut self, caller: Caller) -> Vec<(String, String, Extreme)> {
        let Some(TypeDef::Enum(names)) = self.schema.types.get("MutationName") else {
            panic!("push takes a MutationName");
        };
        let names = names.clone();
        let mut out = Vec::new();
        for name in names {
            for (variant, valid) in self.pushed_args(&name, caller).into_iter().enumerate() {
                let mut leaves = Vec::new();
                json_leaves(&valid, &mut Vec::new(), &mut leaves);
                for leaf in leaves {
                    let mut slot = valid.clone();
                    for key in &leaf {
                        slot = match slot {
                            Value::Object(mut map) => map.remove(key).unwrap(),
                            Value::Array(mut items) => items.swap_remove(key.parse().unwrap()),
                            other => other,
                        };
                    }
                    for e in extremes_of_json_leaf(&slot) {
                        // Fresh ids for every case, so a create is never a replay.
                        let mut args = self.pushed_args(&name, caller).swap_remove(variant);
                        json_set(&mut args, &leaf, e.value.clone());
                        out.push((
                            name.clone(),
                            format!(".{}", leaf.join(".")),
                            Extreme {
                                label: e.label,
                                value: args,
                            },
                        ));
                    }
                }
                let mut unknown = valid.clone();
                unknown["unknownField"] = json!(1);
                out.push((
                    name.clone(),
                    String::new(),
                    extreme("an unknown field", unknown),
                ));
            }
            for e in json_values() {
                out.push((name.clone(), String::new(), e));
            }
        }
        out
    }

    /// Valid args of the pushed mutation `name` (one object per variant worth covering).
    fn pushed_args(&self, name: &str, caller: Caller) -> Vec<Value> {
        let w = self.world;
        let me = caller.name();
        match name {
            "CREATE_SUGGESTION" => vec![json!({
                "id": new_id(), "communityId": w.community, "kind": "IDEA",
                "title": "Pushed idea", "body": "From a device", "productLine": "line",
            })],
            "EDIT_SUGGESTION" => vec![json!({
                "id": w.open[me], "title": "Edited offline", "body": "Edited body", "productLine": "line",
            })],
            // An id of nothing: nothing is deleted whatever else happens.
            "DELETE_SUGGESTION" => vec![json!({ "id": new_id() })],
            "SET_VOTE" => vec![json!({ "suggestionId": w.open[me], "value": "UP" })],
            "SET_BALLOT" => vec![
                json!({ "pollId": w.choice_poll, "choice": "10.00" }),
                json!({ "pollId": w.van_westendorp_poll, "vanWestendorp": {
                    "tooCheap": "1.00", "cheap": "2.00", "expensive": "3.00", "tooExpensive": "4.00",
                } }),
                json!({ "pollId": w.gabor_granger_poll, "gaborGranger": [
                    { "price": "10.00", "wouldBuy": true }, { "price": "20.00", "wouldBuy": false },
                ] }),
            ],
            "SET_DECISION_BALLOT" => vec![json!({
                "pollId": w.decision_poll, "optionIds": [w.decision_option],
            })],
            "ADD_COMMENT" => vec![json!({
                "id": new_id(), "suggestionId": w.open[me], "body": "Pushed comment",
            })],
            "JOIN_COMMUNITY" | "LEAVE_COMMUNITY" => vec![json!({ "communityId": w.community })],
            other => panic!("add valid args for the pushed mutation {other} to pushed_args"),
        }
    }
}

/// Reads back what the sweep stored, through the fields that compute on it: poll results,
/// revenue-share listings and statements, idea rewards.
async fn read_back(sweep: &mut Sweep<'_>) {
    let w = sweep.world;
    let poll = sweep.schema.selection("PricingPoll", 3);
    let poll_row = sweep.schema.selection("PricingPoll", 0);
    let record = sweep.schema.selection("RevenueShareRecord", 1);
    let statement = sweep.schema.selection("RevenueShareStatement", 2);
    let reward = sweep.schema.selection("IdeaReward", 1);
    let reads = [
        (
            format!("query($id: ID!) {{ pricingPoll(id: $id) {{ {poll} }} }}"),
            vec![
                json!({ "id": w.choice_poll }),
                json!({ "id": w.van_westendorp_poll }),
                json!({ "id": w.gabor_granger_poll }),
            ],
        ),
        (
            format!(
                "query($c: ID!) {{ pricingPolls(communityId: $c, first: 3) {{ nodes {{ {poll_row} }} }} }}"
            ),
            vec![json!({ "c": w.community })],
        ),
        (
            format!("{{ revenueShareRecords(first: 5) {{ nodes {{ {record} }} }} }}"),
            vec![json!({})],
        ),
        (
            format!(
                "query($u: ID) {{ revenueShareStatement(beneficiaryId: $u) {{ {statement} }} }}"
            ),
            vec![json!({ "u": w.member.id }), json!({ "u": w.admin.id })],
        ),
        (
            format!("{{ ideaRewards(first: 5) {{ nodes {{ {reward} }} }} }}"),
            vec![json!({})],
        ),
    ];
    for (query, variable_sets) in reads {
        for variables in variable_sets {
            let body = json!({ "query": query, "variables": variables });
            let token = w.admin.access_token.clone();
            sweep.requests += 1;
            match sweep.post(&token, &body).await {
                Ok((_, answer)) if answer["errors"].is_null() => {}
                Ok((status, answer)) => sweep.failures.push(format!(
                    "reading back {query:.60}…: HTTP {status} {answer:.400}"
                )),
                Err(problem) => sweep
                    .failures
                    .push(format!("reading back {query:.60}…: {problem}")),
            }
        }
    }
}

#[tokio::test]
async fn every_argument_of_every_mutation_survives_extreme_values() {
    let started = Instant::now();
    let app = TestApp::spawn().await;
    let schema = introspect(&app).await;
    let world = build_world(&app).await;
    let seed = std::env::var("EXTREME_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_240_229_u64);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sweep = Sweep {
        app: &app,
        schema: &schema,
        world: &world,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        counter: 0,
        failures: Vec::new(),
        tally: BTreeMap::new(),
        requests: 0,
    };
    let mut arguments = 0;
    for field in &schema.mutations {
        let mut leaves = Vec::new();
        for arg in &field.args {
            schema.leaves(&arg.ty, &Path::default().key(&arg.name), &mut leaves);
        }
        arguments += leaves.len();
        sweep.sweep_mutation(field, &mut rng).await;
    }
    read_back(&mut sweep).await;

    let missed: Vec<&str> = schema
        .mutations
        .iter()
        .map(|f| f.name.as_str())
        .filter(|name| !sweep.tally.contains_key(*name))
        .collect();
    assert!(missed.is_empty(), "mutations never answered: {missed:?}");
    eprintln!(
        "extreme inputs: {} mutations, {arguments} argument leaves, {} requests, seed {seed}, {:.1} s",
        schema.mutations.len(),
        sweep.requests,
        started.elapsed().as_secs_f64()
    );
    for (mutation, codes) in &sweep.tally {
        eprintln!("  {mutation}: {codes:?}");
    }
    let failures = std::mem::take(&mut sweep.failures);
    drop(sweep);

    // Healthy afterwards: the health check, a read, and a write.
    let (status, health) = app.get("/healthz").await;
    assert_eq!(status, 200, "{health}");
    let body = app
        .graphql(
            "{ communities(first: 1) { nodes { id } } }",
            json!({}),
            None,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    submit(&app, &world.member, &world.community, "Still writing").await;

    assert!(
        failures.is_empty(),
        "{} extreme values were not refused with a code the caller can act on:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The rules behind the sweep, one by one
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn extreme_prices_and_amounts_are_bad_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let world = build_world(&app).await;
    let create = |price: &str| {
        json!({ "input": {
            "communityId": world.community, "productName": "Widget", "currency": "USD",
            "method": "CHOICE", "pricePoints": ["10.00", price],
            "opensAt": at(-3600), "closesAt": at(86_400),
        } })
    };
    const CREATE: &str = "mutation($input: CreatePricingPollInput!) { createPricingPoll(input: $input) { id pricePoints } }";
    for price in [
        "79228162514264337593543950335",
        "7922816251426433759354395033.5",
        "10000000000000.01",
    ] {
        let body = app.graphql(CREATE, create(price), auth(&world.admin)).await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "pricePoints",
            "{body}"
        );
    }
    // The largest price: 10^15 minor units.
    let body = app
        .graphql(CREATE, create("10000000000000.00"), auth(&world.admin))
        .await;
    assert_eq!(
        ok(&body, "createPricingPoll")["pricePoints"][1],
        "10000000000000.00"
    );

    const BALLOT: &str =
        "mutation($input: CastBallotInput!) { castBallot(input: $input) { choice } }";
    let body = app
        .graphql(
            BALLOT,
            json!({ "input": { "pollId": world.choice_poll, "choice": "79228162514264337593543950335" } }),
            auth(&world.member),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "choice", "{body}");
    let body = app
        .graphql(
            BALLOT,
            json!({ "input": { "pollId": world.van_westendorp_poll, "vanWestendorp": {
                "tooCheap": "-79228162514264337593543950335", "cheap": "2", "expensive": "3",
                "tooExpensive": "79228162514264337593543950335",
            } } }),
            auth(&world.member),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");

    let body = app
        .graphql(
            "mutation($input: ReportSalesInput!) { reportSales(input: $input) { id } }",
            json!({ "input": {
                "externalId": "huge", "productLine": world.reward_line, "periodStart": at(-7200),
                "periodEnd": at(-3600), "netSales": "-79228162514264337593543950335", "currency": "JPY",
            } }),
            auth(&world.admin),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "netSales",
        "{body}"
    );

    // Pushed: the same rule, as a REJECTED mutation with the same code.
    let body = app
        .graphql(
            "mutation($input: PushInput!) { push(input: $input) { results { outcome code } retryAfterMs } }",
            json!({ "input": {
                "clientGroupId": new_id(), "clientId": new_id(), "protocolVersion": 1,
                "schemaVersion": 2, "mutations": [{ "id": 1, "name": "SET_BALLOT", "args": {
                    "pollId": world.choice_poll, "choice": "79228162514264337593543950335",
                } }],
            } }),
            auth(&world.member),
        )
        .await;
    let push = ok(&body, "push");
    assert_eq!(push["results"][0]["outcome"], "REJECTED", "{body}");
    assert_eq!(push["results"][0]["code"], "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn extreme_unicode_in_titles_and_names_follows_the_documented_rule() {
    let app = TestApp::spawn().await;
    let world = build_world(&app).await;
    const SUBMIT: &str = "mutation($input: SubmitSuggestionInput!) { submitSuggestion(input: $input) { title body } }";
    let submit_titled = |title: &str, body: &str| {
        json!({ "input": {
            "communityId": world.community, "kind": "IDEA", "title": title, "body": body,
        } })
    };
    let refused = [
        "\u{202E}evil title",
        "left \u{2066}isolate\u{2069}",
        "\u{200B}\u{200B}\u{200B}",
        "\u{FEFF}\u{2060}\u{200D}",
        "  \u{200B} \u{3164}\u{3164} ",
        "ab\u{200B}\u{200B}",
        "one\u{2028}two",
        "nul\u{0}inside",
    ];
    for title in refused {
        let body = app
            .graphql(SUBMIT, submit_titled(title, ""), auth(&world.member))
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "title",
            "{title:?}: {body}"
        );
    }
    let kept = [
        "Emoji \u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467} and flags \u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
        "中文标题 and 日本語",
        "Zalgo Z\u{0351}\u{0354}a\u{0303}l\u{0305}g\u{0306}o",
        "\u{0301}\u{0302}\u{0303}",
        "עברית \u{200F}mark",
    ];
    for title in kept {
        let body = app
            .graphql(SUBMIT, submit_titled(title, ""), auth(&world.member))
            .await;
        assert_eq!(ok(&body, "submitSuggestion")["title"], title, "{body}");
    }
    // Bodies are text, not a line: line breaks and bidi controls are theirs to use, but one of
    // only invisible characters is as empty as "".
    let body = app
        .graphql(
            SUBMIT,
            submit_titled("A body with bidi", "שלום\n\u{2067}abc\u{2069} \u{202E}x"),
            auth(&world.member),
        )
        .await;
    ok(&body, "submitSuggestion");
    let body = app
        .graphql(
            "mutation($s: ID!, $b: String!) { addComment(input: { suggestionId: $s, body: $b }) { id } }",
            json!({ "s": world.open["member"], "b": "\u{200B}\u{FEFF}" }),
            auth(&world.member),
        )
        .await;
    assert_code(&body, "BAD_USER_INPUT");

    // Display names are lines too; handles stay a-z 0-9 _, with no look-alike folded into them.
    const SIGN_UP: &str =
        "mutation($input: SignUpInput!) { signUp(input: $input) { user { handle displayName } } }";
    for (handle, display_name, field) in [
        ("bidi_name", "\u{202E}nimda", "displayName"),
        ("invisible_name", "\u{200B}\u{3164}", "displayName"),
        ("\u{212A}elvin", "Kelvin", "handle"),
        ("ad\u{0}min", "Admin", "handle"),
    ] {
        let body = app
            .graphql(
                SIGN_UP,
                json!({ "input": { "handle": handle, "password": PASSWORD, "displayName": display_name } }),
                None,
            )
            .await;
        assert_code(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let body = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "handle": "Emoji_Fan", "password": PASSWORD, "displayName": "Fan 🎉 ファン" } }),
            None,
        )
        .await;
    let user = &ok(&body, "signUp")["user"];
    assert_eq!(user["handle"], "emoji_fan");
    assert_eq!(user["displayName"], "Fan 🎉 ファン");
}
