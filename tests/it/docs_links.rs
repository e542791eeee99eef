//! The documentation holds together: every relative link in `README.md` and `docs/**/*.md`
//! leads to a file that exists, and every `#anchor` to a heading of its page (GitHub's way
//! of turning headings into anchors). Every page of `docs/` is reachable from the table of
//! contents, `docs/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn markdown_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "md") {
            files.push(path);
        }
    }
}

/// The targets of `[text](target)` links outside code blocks and code spans.
fn links(markdown: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut in_code_block = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code_block = !in_code_block;
            continue;
        }
        if in_code_block {
            continue;
        }
        // Drop code spans, whose brackets are not links.
        let mut text = String::new();
        for (index, part) in line.split('`').enumerate() {
            if index % 2 == 0 {
                text.push_str(part);
            }
        }
        let mut rest = text.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            links.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    links
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|character| character.is_alphanumeric() || matches!(character, ' ' | '-' | '_'))
        .map(|character| if character == ' ' { '-' } else { character })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code_block = false;
    let mut anchors = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code_block = !in_code_block;
        } else if !in_code_block && line.starts_with('#') {
            anchors.insert(anchor(line.trim_start_matches('#')));
        }
    }
    anchors
}

fn pages() -> Vec<PathBuf> {
    let mut files = vec![repository().join("README.md")];
    markdown_files(&repository().join("docs"), &mut files);
    files.sort();
    files
}

#[test]
fn relative_links_lead_to_files_and_headings_that_exist() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page
            .strip_prefix(repository())
            .unwrap()
            .display()
            .to_string();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            if !target.exists() {
                broken.push(format!("{name}: `{link}` leads nowhere"));
                continue;
            }
            if !fragment.is_empty() {
                let anchors = anchors(&std::fs::read_to_string(&target).unwrap());
                if !anchors.contains(fragment) {
                    broken.push(format!("{name}: `{link}`: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn every_page_of_the_guide_is_in_the_table_of_contents() {
    let contents = std::fs::read_to_string(repository().join("docs/README.md")).unwrap();
    let listed: BTreeSet<String> = links(&contents)
        .into_iter()
        .map(|link| link.split('#').next().unwrap().to_owned())
        .collect();
    let mut missing = Vec::new();
    for page in pages() {
        let relative = page.strip_prefix(repository().join("docs")).ok();
        let Some(relative) = relative else { continue };
        let relative = relative.display().to_string();
        if relative == "README.md" || relative.starts_with("performance") {
            continue;
        }
        if !listed.contains(&relative) {
            missing.push(relative);
        }
    }
    assert!(missing.is_empty(), "not in docs/README.md: {missing:?}");
}

#[test]
fn anchors_follow_github() {
    assert_eq!(anchor(" Editor support"), "editor-support");
    assert_eq!(anchor(" `kind: JobGroup`"), "kind-jobgroup");
    assert_eq!(
        anchor(" Seeing what cityform does"),
        "seeing-what-cityform-does"
    );
    assert_eq!(
        links("see [a](b.md#c) and `[x](y)`\n```\n[no](link)\n```\n"),
        ["b.md#c"]
    );
}
