//! The README's GraphQL examples parse and validate against the committed `schema.graphql`, so
//! each block can be pasted into GraphiQL as it stands.

use apollo_compiler::{ExecutableDocument, Schema};

/// The body of every ```` ```graphql ```` block of `markdown`, with the line it starts on.
fn graphql_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match open.as_mut() {
            None if line.trim_end() == "```graphql" => open = Some((index + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(open.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    assert!(open.is_none(), "a ```graphql block is never closed");
    blocks
}

#[test]
fn every_graphql_example_in_the_readme_is_valid_against_the_schema() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let sdl = std::fs::read_to_string(format!("{root}/schema.graphql")).unwrap();
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let schema = Schema::parse_and_validate(sdl, "schema.graphql")
        .unwrap_or_else(|invalid| panic!("schema.graphql is invalid:\n{}", invalid.errors));
    let blocks = graphql_blocks(&readme);
    assert!(blocks.len() >= 6, "only {} graphql blocks", blocks.len());
    let failures: Vec<String> = blocks
        .into_iter()
        .filter_map(|(line, block)| {
            let source = format!("README.md, the block from line {line}");
            ExecutableDocument::parse_and_validate(&schema, block, &source)
                .err()
                .map(|invalid| invalid.errors.to_string())
        })
        .collect();
    assert!(
        failures.is_empty(),
        "README examples that are not valid against schema.graphql:\n{}",
        failures.join("\n")
    );
}
