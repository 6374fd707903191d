//! The README's commands are the tested ones: every command block of
//! README.md (and docs/*.md) is run by a test, or says on its first line what
//! it needs that no test here can have (a real AWS account, a published
//! release). See tests/it/support/readme.rs for the two markers.

use crate::support;

use std::path::Path;

use support::readme::{self, Block, CHECKED_LANGUAGES};

/// The test sources (`tests/it/*.rs`, `tests/it/support/*.rs`) that use the
/// README's blocks, with their text.
fn test_sources() -> Vec<(String, String)> {
    let mut sources = Vec::new();
    for dir in ["tests/it", "tests/it/support"] {
        let dir = readme::root().join(dir);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs")
                && path.file_name() != Some("readme.rs".as_ref())
            {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("readme::") {
                    sources.push((path.display().to_string(), text));
                }
            }
        }
    }
    sources
}

fn place(block: &Block) -> String {
    format!("{}:{}", block.file, block.line)
}

#[test]
fn every_command_block_is_run_by_a_test_or_says_what_it_needs() {
    let sources = test_sources();
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeMap::new();
    for block in readme::blocks() {
        if !CHECKED_LANGUAGES.contains(&block.language.as_str()) {
            continue;
        }
        match (&block.name, block.needs()) {
            (Some(name), None) => {
                if let Some(other) = names.insert(name.clone(), place(&block)) {
                    problems.push(format!("{}: the name {name:?} is used at {other} too", place(&block)));
                }
                let quoted = format!("{name:?}");
                if !sources.iter().any(|(_, text)| text.contains(&quoted)) {
                    problems.push(format!(
                        "{}: block {name:?} is run by no test (no test names it with readme::run_block or readme::block)",
                        place(&block)
                    ));
                }
            }
            (Some(name), Some(needs)) => problems.push(format!(
                "{}: block {name:?} is both tested and says {needs:?}",
                place(&block)
            )),
            (None, Some(_)) => {}
            (None, None) => problems.push(format!(
                "{}: a ```{} block with neither `<!-- test: NAME -->` before it nor `# Needs ...` as its first line",
                place(&block),
                block.language
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_block_a_test_runs_is_still_in_the_readme() {
    let names: Vec<String> = readme::blocks()
        .into_iter()
        .filter_map(|b| b.name)
        .collect();
    let mut problems = Vec::new();
    for (file, text) in test_sources() {
        for call in ["readme::run_block(", "readme::block("] {
            for (at, _) in text.match_indices(call) {
                let rest = &text[at + call.len()..];
                let args = &rest[..rest.find(')').unwrap_or(rest.len())];
                // A name given as a variable is checked where it is a literal.
                let Some(start) = args.find('"') else {
                    continue;
                };
                let name = &rest[start + 1..];
                let name = &name[..name.find('"').unwrap_or(0)];
                if !names.iter().any(|n| n == name) {
                    problems.push(format!(
                        "{}: names README block {name:?}, which is gone",
                        Path::new(&file).display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_`
/// dropped, spaces turned into `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut fenced = false;
    let mut anchors = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            anchors.push(anchor(line.trim_start_matches('#')));
        }
    }
    anchors
}

#[test]
fn every_link_between_the_documents_leads_somewhere() {
    let mut problems = Vec::new();
    for doc in readme::documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let mut fenced = false;
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if fenced {
                continue;
            }
            for (at, _) in line.match_indices("](") {
                let rest = &line[at + 2..];
                let Some(end) = rest.find(')') else { continue };
                let target = &rest[..end];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
                let path = if file.is_empty() {
                    doc.clone()
                } else {
                    doc.parent().unwrap().join(file)
                };
                let place = format!(
                    "{}:{}",
                    doc.strip_prefix(readme::root()).unwrap().display(),
                    number + 1
                );
                if !path.exists() {
                    problems.push(format!(
                        "{place}: {target} names a file that does not exist"
                    ));
                } else if !fragment.is_empty() && !anchors(&path).iter().any(|a| a == fragment) {
                    problems.push(format!(
                        "{place}: {target} names a heading that does not exist"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
