//! The GraphQL examples of the README and of `docs/` parse and validate against the committed
//! `schema.graphql`, so each block can be pasted into GraphiQL as it stands.

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
fn every_graphql_example_in_the_readme_and_the_docs_is_valid_against_the_schema() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let sdl = std::fs::read_to_string(format!("{root}/schema.graphql")).unwrap();
    let schema = Schema::parse_and_validate(sdl, "schema.graphql")
        .unwrap_or_else(|invalid| panic!("schema.graphql is invalid:\n{}", invalid.errors));
    let mut documents = vec!["README.md".to_string()];
    for entry in std::fs::read_dir(format!("{root}/docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            documents.push(format!("docs/{name}"));
        }
    }
    let mut failures = Vec::new();
    for document in documents {
        let markdown = std::fs::read_to_string(format!("{root}/{document}")).unwrap();
        let blocks = graphql_blocks(&markdown);
        if document == "README.md" {
            assert!(
                blocks.len() >= 6,
                "only {} graphql blocks in the README",
                blocks.len()
            );
        }
        for (line, block) in blocks {
            let source = format!("{document}, the block from line {line}");
            if let Err(invalid) = ExecutableDocument::parse_and_validate(&schema, block, &source) {
                failures.push(invalid.errors.to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "examples that are not valid against schema.graphql:\n{}",
        failures.join("\n")
    );
}
