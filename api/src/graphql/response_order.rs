//! Keeps a response's fields in the order its document selects them, as the GraphQL spec asks.
//! async-graphql resolves a query's fields concurrently and gathers them as they finish, so
//! without this the same query answers its top-level fields in a different order from one call
//! to the next.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// Puts the fields of `data` (the answer to `operation_name` of `document`) in selection order,
/// at every level.
pub fn reorder(data: &mut Value, document: &ExecutableDocument, operation_name: Option<&str>) {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return,
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => match ops.values().next() {
            Some(op) => op,
            None => return,
        },
        _ => return,
    };
    order(data, &[&operation.node.selection_set.node], document);
}

fn order(value: &mut Value, sets: &[&SelectionSet], document: &ExecutableDocument) {
    match value {
        Value::List(items) => {
            for item in items {
                order(item, sets, document);
            }
        }
        Value::Object(fields) => {
            let mut keys: Vec<(&str, Vec<&SelectionSet>)> = Vec::new();
            for set in sets {
                collect(set, document, &mut keys, 0);
            }
            let mut old = std::mem::take(fields);
            let mut ordered = IndexMap::with_capacity(old.len());
            for (key, children) in &keys {
                if let Some((name, mut child)) = old.shift_remove_entry(*key) {
                    order(&mut child, children, document);
                    ordered.insert(name, child);
                }
            }
            ordered.extend(old);
            *fields = ordered;
        }
        _ => {}
    }
}

/// The response keys `set` selects, in order (through fragments; each key once, with every
/// selection set asked of it).
fn collect<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    keys: &mut Vec<(&'a str, Vec<&'a SelectionSet>)>,
    depth: usize,
) {
    // Fragments were checked to be acyclic and bounded before the document ran; the depth guard
    // only keeps a bug from recursing forever.
    if depth > 64 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.as_str();
                let children = &field.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, sets)) => sets.push(children),
                    None => keys.push((key, vec![children])),
                }
            }
            Selection::FragmentSpread(spread) => {
                let name: &Name = &spread.node.fragment_name.node;
                if let Some(fragment) = document.fragments.get(name) {
                    collect(&fragment.node.selection_set.node, document, keys, depth + 1);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, document, keys, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_back_in_the_order_they_were_asked_for_through_fragments_and_lists() {
        let document = async_graphql::parser::parse_query(
            "{ b a: x ...F list { z y } } fragment F on Q { c b }",
        )
        .unwrap();
        let mut data = async_graphql::value!({
            "list": [{ "y": 1, "z": 2 }, { "y": 3, "z": 4 }],
            "c": 1,
            "a": 2,
            "b": 3,
        });
        reorder(&mut data, &document, None);
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"b":3,"a":2,"c":1,"list":[{"z":2,"y":1},{"z":4,"y":3}]}"#
        );
    }
}
