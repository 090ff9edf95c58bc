//! Variables a request declares but does not send. The GraphQL spec treats an argument or input
//! field given such a variable as not given at all, so its default applies (`sort: $sort` with no
//! `sort` in the variables lists by HOT); async-graphql passes null instead, which fails a
//! non-null argument with a default. Before execution, [`drop_usages`] removes every argument and
//! input-object field whose whole value is an absent variable, so the schema's default (or
//! absence, for a nullable one) applies as the spec says, and the definitions of those variables
//! that are then used nowhere. A required argument so removed is reported missing by validation
//! (BAD_USER_INPUT), as the spec's variable rules would refuse it anyway.

use async_graphql::Name;
use async_graphql::Request;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql_value::Value;

use super::limits;

/// Drops the usages of the chosen operation's absent variables (see the module). A document
/// that does not parse, or names no operation it holds, is left for execution to refuse.
pub fn drop_usages(request: &mut Request) {
    let operation_name = request.operation_name.clone();
    let sent: Vec<Name> = request.variables.keys().cloned().collect();
    let Ok(document) = request.parsed_query() else {
        return;
    };
    let Some(operation) = limits::chosen_operation(document, operation_name.as_deref()) else {
        return;
    };
    let absent: Vec<Name> = operation
        .variable_definitions
        .iter()
        .filter(|definition| definition.node.default_value.is_none())
        .map(|definition| definition.node.name.node.clone())
        .filter(|name| !sent.contains(name))
        .collect();
    if absent.is_empty() {
        return;
    }
    let mut document = document.clone();
    if let Some(operation) = chosen_mut(&mut document, operation_name.as_deref()) {
        prune_selection(&mut operation.selection_set.node, &absent);
    }
    for fragment in document.fragments.values_mut() {
        prune_selection(&mut fragment.node.selection_set.node, &absent);
    }
    // A definition left without a usage goes too (validation refuses unused variables).
    let mut used = Vec::new();
    for fragment in document.fragments.values() {
        used_in_selection(&fragment.node.selection_set.node, &mut used);
    }
    if let Some(operation) = chosen_mut(&mut document, operation_name.as_deref()) {
        used_in_selection(&operation.selection_set.node, &mut used);
        for directive in &operation.directives {
            for (_, value) in &directive.node.arguments {
                used_in_value(&value.node, &mut used);
            }
        }
        operation.variable_definitions.retain(|definition| {
            let name = &definition.node.name.node;
            !absent.contains(name) || used.contains(name)
        });
    }
    request.set_parsed_query(document);
}

/// The variables a selection uses, in arguments and directives, at any depth (fragment spreads
/// are counted where the fragment is defined).
fn used_in_selection(selection: &SelectionSet, used: &mut Vec<Name>) {
    for item in &selection.items {
        let (directives, inner) = match &item.node {
            Selection::Field(field) => {
                for (_, value) in &field.node.arguments {
                    used_in_value(&value.node, used);
                }
                (&field.node.directives, Some(&field.node.selection_set.node))
            }
            Selection::InlineFragment(fragment) => (
                &fragment.node.directives,
                Some(&fragment.node.selection_set.node),
            ),
            Selection::FragmentSpread(spread) => (&spread.node.directives, None),
        };
        for directive in directives {
            for (_, value) in &directive.node.arguments {
                used_in_value(&value.node, used);
            }
        }
        if let Some(inner) = inner {
            used_in_selection(inner, used);
        }
    }
}

fn used_in_value(value: &Value, used: &mut Vec<Name>) {
    match value {
        Value::Variable(name) => used.push(name.clone()),
        Value::Object(fields) => fields.values().for_each(|field| used_in_value(field, used)),
        Value::List(items) => items.iter().for_each(|item| used_in_value(item, used)),
        _ => {}
    }
}

/// [`limits::chosen_operation`], to change.
fn chosen_mut<'a>(
    document: &'a mut ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a mut OperationDefinition> {
    match (&mut document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&mut operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get_mut(name)
            .map(|operation| &mut operation.node),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .values_mut()
            .next()
            .map(|operation| &mut operation.node),
        _ => None,
    }
}

fn is_absent(value: &Value, absent: &[Name]) -> bool {
    matches!(value, Value::Variable(name) if absent.contains(name))
}

fn prune_selection(selection: &mut SelectionSet, absent: &[Name]) {
    for item in &mut selection.items {
        match &mut item.node {
            Selection::Field(field) => {
                let field = &mut field.node;
                field
                    .arguments
                    .retain(|(_, value)| !is_absent(&value.node, absent));
                for (_, value) in &mut field.arguments {
                    prune_value(&mut value.node, absent);
                }
                prune_selection(&mut field.selection_set.node, absent);
            }
            Selection::InlineFragment(fragment) => {
                prune_selection(&mut fragment.node.selection_set.node, absent);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Drops the fields of input objects (at any depth) whose value is an absent variable; a list
/// item keeps its place (the spec makes it null).
fn prune_value(value: &mut Value, absent: &[Name]) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, field| !is_absent(field, absent));
            for field in fields.values_mut() {
                prune_value(field, absent);
            }
        }
        Value::List(items) => {
            for item in items {
                prune_value(item, absent);
            }
        }
        _ => {}
    }
}
