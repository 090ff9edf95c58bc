//! Relay connections: turns a service's [`Page`] into an async-graphql `Connection`.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};

use crate::pagination::Page;

/// Builds a connection from `page`, converting each item with `into_node`.
pub fn from_page<T, N: OutputType>(
    page: Page<T>,
    into_node: impl Fn(T) -> N,
) -> Connection<String, N> {
    let mut connection = Connection::new(page.has_previous_page, page.has_next_page);
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, item)| Edge::new(cursor, into_node(item))),
    );
    connection
}
