//! The limits a GraphQL document must pass before async-graphql validates or runs it, each
//! checked in time linear in the document's text: its size in bytes and tokens, how deeply its
//! brackets nest, its aliases, one credential mutation at most, what its fragments expand to,
//! and how many objects it may fetch.
//!
//! **Cost** counts the objects an operation may bring back: every field with a selection set
//! counts one, times the items of each list above it — a connection's `first` (as the page will
//! be: default 20, at most 100) and `pull`'s `limit` (default 500, at most 1000). Scalars are
//! free: they come with the row. So a pull of 1000 changes with their entities costs a few
//! thousand, and the same pull nesting each suggestion's comments and their authors' own
//! suggestions costs millions and is refused. (async-graphql's complexity, which counts every
//! field once times `first`, still applies on top.)
//!
//! Expansion is computed once per fragment (memoised), so a document whose fragments spread
//! each other twice over costs no more to check than its text. async-graphql's own depth,
//! complexity and recursion checks walk every spread again — exponential in such a document —
//! so they only ever see documents whose expansion is already bounded here.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Request, Variables};
use async_graphql_value::{ConstValue, Value};

use super::OperationKind;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::{pagination, sync};

/// The mutations that check or hand out credentials: one per document, so a document cannot
/// try many passwords at once.
pub const CREDENTIAL_MUTATIONS: &[&str] = &[
    "logIn",
    "signUp",
    "refreshSession",
    "changePassword",
    "createPartner",
];

/// The limits, from the configuration.
#[derive(Debug, Clone)]
pub struct DocumentLimits {
    pub max_bytes: usize,
    pub max_tokens: usize,
    pub max_aliases: usize,
    pub max_depth: usize,
    pub max_recursion: usize,
    pub max_expanded_fields: usize,
    pub max_cost: u64,
}

impl DocumentLimits {
    /// The limits `config` sets.
    pub fn from_config(config: &Config) -> Self {
        DocumentLimits {
            max_bytes: config.graphql_max_query_bytes,
            max_tokens: config.graphql_max_tokens,
            max_aliases: config.graphql_max_aliases,
            max_depth: config.graphql_max_depth,
            max_recursion: config.graphql_max_recursive_depth,
            max_expanded_fields: config.graphql_max_expanded_fields,
            max_cost: config.graphql_max_cost,
        }
    }
}

/// What a document that passed is about to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The selected operation's kind.
    pub kind: OperationKind,
    /// The names of the fields the operation selects at its root, fragments expanded, one per
    /// occurrence (aliases of one field count one by one).
    pub root_fields: Vec<String>,
}

/// Checks `request`'s document against `limits`, leaving it parsed in the request (so it is not
/// parsed again). A document whose operation cannot be chosen (none named, several given) is
/// left to async-graphql to refuse.
pub fn check(request: &mut Request, limits: &DocumentLimits) -> AppResult<Option<Checked>> {
    if request.query.len() > limits.max_bytes {
        return Err(AppError::QueryTooLarge(format!(
            "the document exceeds {} bytes",
            limits.max_bytes
        )));
    }
    let lexed = lex(&request.query);
    if lexed.tokens > limits.max_tokens {
        return Err(AppError::QueryTooLarge(format!(
            "the document has more than {} tokens",
            limits.max_tokens
        )));
    }
    if lexed.nesting > limits.max_recursion {
        return Err(AppError::QueryTooDeep(format!(
            "the document nests deeper than {}",
            limits.max_recursion
        )));
    }
    let operation_name = request.operation_name.clone();
    // The parsed document borrows the request; the variables (at most a body's worth) are read
    // beside it.
    let variables = request.variables.clone();
    // A document that does not parse is left to async-graphql, which refuses it with the
    // position of the fault (it is within the size, token and nesting limits by now).
    let Ok(document) = request.parsed_query() else {
        return Ok(None);
    };
    let aliases = count_aliases(document);
    if aliases > limits.max_aliases {
        return Err(AppError::QueryTooComplex(format!(
            "the document has {aliases} aliases; at most {} are allowed",
            limits.max_aliases
        )));
    }
    let Some(operation) = chosen_operation(document, operation_name.as_deref()) else {
        return Ok(None);
    };
    let (ty, selection) = (operation.ty, &operation.selection_set.node);
    let mut expansion = Expansion::new(document, &variables);
    let shape = expansion.of(selection)?;
    if shape.nodes > limits.max_expanded_fields {
        return Err(AppError::QueryTooComplex(format!(
            "the document expands to more than {} fields",
            limits.max_expanded_fields
        )));
    }
    if shape.depth > limits.max_depth {
        return Err(AppError::QueryTooDeep(format!(
            "the query is nested deeper than {}",
            limits.max_depth
        )));
    }
    if shape.recursion > limits.max_recursion {
        return Err(AppError::QueryTooDeep(format!(
            "fragments nest deeper than {}",
            limits.max_recursion
        )));
    }
    if shape.cost > limits.max_cost {
        return Err(AppError::QueryTooComplex(format!(
            "the operation may fetch {} objects; at most {} are allowed (lists count `first` \
             or `limit` times what each item selects)",
            shape.cost, limits.max_cost
        )));
    }
    let mut root_fields = Vec::new();
    expansion.root_fields(selection, &mut root_fields);
    let kind = match ty {
        OperationType::Query => OperationKind::Query,
        OperationType::Mutation => OperationKind::Mutation,
        OperationType::Subscription => OperationKind::Subscription,
    };
    if kind == OperationKind::Mutation {
        let credentials = root_fields
            .iter()
            .filter(|name| CREDENTIAL_MUTATIONS.contains(&name.as_str()))
            .count();
        if credentials > 1 {
            return Err(AppError::bad_input(
                "query",
                format!(
                    "a document may hold at most one of {}",
                    CREDENTIAL_MUTATIONS.join(", ")
                ),
            ));
        }
    }
    Ok(Some(Checked { kind, root_fields }))
}

/// The operation a request runs: the named one, or the only one.
pub(super) fn chosen_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    Some(&operation.node)
}

/// What a selection set becomes once its fragments are expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    /// Selections (fields, spreads, inline fragments), counted once per place they end up.
    nodes: usize,
    /// Fields nested in fields.
    depth: usize,
    /// Selection sets nested in selection sets, spreads included (async-graphql's recursion).
    recursion: usize,
    /// Objects it may fetch (see the module docs).
    cost: u64,
}

/// Fragment shapes, each computed once.
struct Expansion<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    done: HashMap<&'a str, Shape>,
    in_progress: Vec<&'a str>,
}

impl<'a> Expansion<'a> {
    fn new(document: &'a ExecutableDocument, variables: &'a Variables) -> Self {
        Expansion {
            document,
            variables,
            done: HashMap::new(),
            in_progress: Vec::new(),
        }
    }

    /// How many items a field's list holds at most: its `first` (a connection) or its
    /// `input.limit` (`pull`); 1 for anything else.
    fn items(&self, field: &Field) -> u64 {
        let number = |value: &Value| -> Option<i64> {
            match value {
                Value::Number(n) => n.as_i64(),
                Value::Variable(name) => match self.variables.get(name) {
                    Some(ConstValue::Number(n)) => n.as_i64(),
                    _ => None,
                },
                _ => None,
            }
        };
        if let Some(first) = field.get_argument("first") {
            let first = number(&first.node).and_then(|n| i32::try_from(n).ok());
            return pagination::page_size(first).unwrap_or(pagination::MAX_PAGE_SIZE);
        }
        if field.name.node == "pull" {
            let limit = field
                .get_argument("input")
                .and_then(|input| match &input.node {
                    Value::Object(fields) => fields.get("limit").and_then(number),
                    Value::Variable(name) => match self.variables.get(name) {
                        Some(ConstValue::Object(fields)) => match fields.get("limit") {
                            Some(ConstValue::Number(n)) => n.as_i64(),
                            _ => None,
                        },
                        _ => None,
                    },
                    _ => None,
                });
            return sync::pull::page_limit(limit);
        }
        1
    }

    fn of(&mut self, set: &'a SelectionSet) -> AppResult<Shape> {
        let mut shape = Shape::default();
        for item in &set.items {
            let (inner, field) = match &item.node {
                Selection::Field(field) => {
                    let children = &field.node.selection_set.node;
                    if children.items.is_empty() {
                        (Shape::default(), true)
                    } else {
                        let mut inner = self.of(children)?;
                        inner.recursion += 1;
                        inner.cost = self
                            .items(&field.node)
                            .saturating_mul(inner.cost.saturating_add(1));
                        (inner, true)
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let mut inner = self.fragment(spread.node.fragment_name.node.as_str())?;
                    inner.recursion += 1;
                    (inner, false)
                }
                Selection::InlineFragment(inline) => {
                    let mut inner = self.of(&inline.node.selection_set.node)?;
                    inner.recursion += 1;
                    (inner, false)
                }
            };
            shape.nodes = shape.nodes.saturating_add(1).saturating_add(inner.nodes);
            shape.depth = shape.depth.max(inner.depth + usize::from(field));
            shape.recursion = shape.recursion.max(inner.recursion);
            shape.cost = shape.cost.saturating_add(inner.cost);
        }
        Ok(shape)
    }

    fn fragment(&mut self, name: &'a str) -> AppResult<Shape> {
        if let Some(shape) = self.done.get(name) {
            return Ok(*shape);
        }
        if self.in_progress.contains(&name) {
            return Err(AppError::bad_input(
                "query",
                format!("fragment {name} spreads itself"),
            ));
        }
        // An unknown fragment expands to nothing here; validation reports it.
        let Some((_, fragment)) = self
            .document
            .fragments
            .iter()
            .find(|(key, _)| key.as_str() == name)
        else {
            return Ok(Shape::default());
        };
        self.in_progress.push(name);
        let shape = self.of(&fragment.node.selection_set.node);
        self.in_progress.pop();
        let shape = shape?;
        self.done.insert(name, shape);
        Ok(shape)
    }

    /// The root field names of `set`, through root-level fragments (already checked to be
    /// acyclic and bounded by [`Expansion::of`]).
    fn root_fields(&self, set: &'a SelectionSet, out: &mut Vec<String>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => out.push(field.node.name.node.to_string()),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some((_, fragment)) = self
                        .document
                        .fragments
                        .iter()
                        .find(|(key, _)| key.as_str() == name)
                    {
                        self.root_fields(&fragment.node.selection_set.node, out);
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.root_fields(&inline.node.selection_set.node, out)
                }
            }
        }
    }
}

/// Aliased fields in the whole document, as written.
fn count_aliases(document: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + in_set(&field.node.selection_set.node)
                }
                Selection::InlineFragment(inline) => in_set(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| in_set(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| in_set(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

/// What a look at the raw text finds: its tokens, and its deepest bracket nesting.
#[derive(Debug, PartialEq, Eq)]
struct Lexed {
    tokens: usize,
    nesting: usize,
}

/// Counts GraphQL tokens (punctuators, names, numbers, strings; commas, white space and comments
/// are ignored) and bracket nesting, without parsing.
fn lex(text: &str) -> Lexed {
    let bytes = text.as_bytes();
    let (mut i, mut tokens, mut depth, mut nesting) = (0, 0, 0usize, 0);
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                tokens += 1;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                tokens += 1;
                i += 3;
            }
            b'{' | b'(' | b'[' => {
                tokens += 1;
                depth += 1;
                nesting = nesting.max(depth);
                i += 1;
            }
            b'}' | b')' | b']' => {
                tokens += 1;
                depth = depth.saturating_sub(1);
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                tokens += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
            }
            _ => {
                tokens += 1;
                i += 1;
            }
        }
    }
    Lexed { tokens, nesting }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits {
            max_bytes: 16 * 1024,
            max_tokens: 2000,
            max_aliases: 15,
            max_depth: 15,
            max_recursion: 32,
            max_expanded_fields: 2000,
            max_cost: 20_000,
        }
    }

    fn checked(query: &str) -> AppResult<Option<Checked>> {
        check(&mut Request::new(query), &limits())
    }

    /// `query{...F0} fragment F0 on QueryRoot{...F1 ...F1} … fragment Fn on QueryRoot{__typename}`.
    fn doubling(levels: usize) -> String {
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

    #[test]
    fn tokens_skip_white_space_commas_comments_and_string_contents() {
        assert_eq!(lex("{ a, b }").tokens, 4);
        assert_eq!(lex("# { { {\n{ a }").tokens, 3);
        assert_eq!(lex(r#"{ a(s: "x { y } \" z") }"#).tokens, 8);
        assert_eq!(lex("{ a(s: \"\"\"{ { \"\"\") ...F }").tokens, 10);
        assert_eq!(lex("{a{b{c}}}").nesting, 3);
        assert_eq!(lex("{ a(n: -1.5e3) }").tokens, 8);
    }

    #[test]
    fn fragments_spread_twice_over_are_measured_without_walking_every_spread() {
        let started = std::time::Instant::now();
        let err = checked(&doubling(40)).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        assert!(matches!(
            err,
            AppError::QueryTooComplex(_) | AppError::QueryTooDeep(_)
        ));
        assert!(checked(&doubling(5)).unwrap().is_some());
    }

    #[test]
    fn aliases_and_credential_mutations_are_counted_as_written() {
        let many: String = (0..16).map(|i| format!("a{i}: __typename ")).collect();
        assert!(matches!(
            checked(&format!("{{ {many} }}")),
            Err(AppError::QueryTooComplex(_))
        ));
        let two = r#"mutation { logIn(input: {handle: "a", password: "b"}) { accessToken }
                     logOut(refreshToken: "x") signUp(input: {handle: "c", password: "d", displayName: "e"}) { accessToken } }"#;
        assert_eq!(checked(two).unwrap_err().code(), "BAD_USER_INPUT");
        let through_fragment = r#"mutation { ...M logIn(input: {handle: "a", password: "b"}) { accessToken } }
                     fragment M on MutationRoot { logIn(input: {handle: "a", password: "c"}) { accessToken } }"#;
        assert_eq!(
            checked(through_fragment).unwrap_err().code(),
            "BAD_USER_INPUT"
        );
        let one = checked(r#"mutation { logOut(refreshToken: "x") a: logOut(refreshToken: "y") }"#)
            .unwrap()
            .unwrap();
        assert_eq!(one.kind, OperationKind::Mutation);
        assert_eq!(one.root_fields, ["logOut", "logOut"]);
    }

    #[test]
    fn cost_counts_objects_times_the_lists_above_them() {
        let listing =
            "{ suggestions(first: 100) { edges { node { id title author { handle } } } } }";
        assert!(checked(listing).unwrap().is_some());
        let nested = "{ suggestions(first: 100) { nodes { comments(first: 100) { nodes { author { \
                      suggestions(first: 100) { nodes { id } } } } } } } }";
        assert!(matches!(checked(nested), Err(AppError::QueryTooComplex(_))));
        let pull = |limit: &str| {
            format!(
                "query($n: Int) {{ pull(input: {{ clientGroupId: \"g\", protocolVersion: 1, \
                 schemaVersion: 2, limit: {limit} }}) {{ changes {{ ... on SuggestionChange {{ \
                 suggestion {{ comments(first: 100) {{ nodes {{ id }} }} }} }} }} }} }}"
            )
        };
        // 1000 changes each with a page of 100 comments: refused, however the limit is given.
        assert!(matches!(
            checked(&pull("1000")),
            Err(AppError::QueryTooComplex(_))
        ));
        let mut request = Request::new(pull("$n"))
            .variables(Variables::from_json(serde_json::json!({ "n": 1000 })));
        assert!(matches!(
            check(&mut request, &limits()),
            Err(AppError::QueryTooComplex(_))
        ));
        // Without the nested page the same pull is an ordinary one.
        let flat = "{ pull(input: { clientGroupId: \"g\", protocolVersion: 1, schemaVersion: 2, \
                    limit: 1000 }) { changes { ... on SuggestionChange { suggestion { title } } } } }";
        assert!(checked(flat).unwrap().is_some());
    }

    #[test]
    fn size_tokens_and_nesting_are_refused_before_parsing() {
        let long = format!("{{ __typename {} }}", " ".repeat(20_000));
        assert_eq!(checked(&long).unwrap_err().code(), "QUERY_TOO_LARGE");
        let tokens = format!("{{ {} }}", "__typename ".repeat(2100));
        assert_eq!(checked(&tokens).unwrap_err().code(), "QUERY_TOO_LARGE");
        // Refused by the look at the text, before the parser recurses into it.
        let deep = format!("{}{}", "{a".repeat(40), "}".repeat(40));
        let err = checked(&deep).unwrap_err();
        assert_eq!(err.code(), "QUERY_TOO_DEEP");
        assert!(err.to_string().contains("nests deeper"), "{err}");
        assert!(
            checked("{ a(").unwrap().is_none(),
            "left to async-graphql's own parse error"
        );
        let cycle =
            "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }";
        assert_eq!(checked(cycle).unwrap_err().code(), "BAD_USER_INPUT");
    }
}
