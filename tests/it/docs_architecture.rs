//! `docs/architecture.md` against the code: its module map lists every module of `src/`, and
//! no module uses (`crate::…`, outside its unit tests and comments) one its row does not name.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The map's rows: module → the modules it may use (`None`: every module).
fn module_map() -> BTreeMap<String, Option<BTreeSet<String>>> {
    let text = fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let table = text
        .split("## Module map")
        .nth(1)
        .expect("docs/architecture.md has a `## Module map` section");
    let mut map = BTreeMap::new();
    for line in table.lines().skip_while(|line| !line.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [module, _, may_use] = cells[..] else {
            panic!("a row of the module map has not three cells: {line}");
        };
        let Some(module) = module.strip_prefix('`').and_then(|m| m.strip_suffix('`')) else {
            continue; // the header and its rule
        };
        let allowed = if may_use == "every module" {
            None
        } else {
            Some(
                may_use
                    .split(',')
                    .map(|name| name.trim().trim_matches('`').to_owned())
                    .filter(|name| !name.is_empty())
                    .collect(),
            )
        };
        map.insert(module.to_owned(), allowed);
    }
    map
}

/// The top-level modules `src/lib.rs` declares, but the unit tests' helpers.
fn declared_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(root().join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            let name = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            Some(name.trim_end_matches(';').to_owned())
        })
        .filter(|name| name != "test_support")
        .collect()
}

/// The Rust files of `module`: `src/module.rs`, or everything below `src/module/`.
fn files_of(module: &str) -> Vec<PathBuf> {
    let file = root().join(format!("src/{module}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut files = Vec::new();
    let mut directories = vec![root().join("src").join(module)];
    while let Some(directory) = directories.pop() {
        for entry in fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                directories.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The top-level modules `path` uses as `crate::NAME`, before its unit tests and outside
/// comments.
fn modules_used(path: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(path).unwrap();
    let mut used = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        for (at, _) in code.match_indices("crate::") {
            let preceded_by_path = code[..at].ends_with("::") || code[..at].ends_with('$');
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !preceded_by_path && !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

#[test]
fn the_module_map_lists_every_module_and_only_those() {
    let listed: BTreeSet<String> = module_map().into_keys().collect();
    assert_eq!(listed, declared_modules());
}

#[test]
fn no_module_uses_one_its_row_does_not_name() {
    let map = module_map();
    let mut breaches = Vec::new();
    for (module, allowed) in &map {
        let Some(allowed) = allowed else { continue };
        for file in files_of(module) {
            for used in modules_used(&file) {
                if &used != module && map.contains_key(&used) && !allowed.contains(&used) {
                    breaches.push(format!(
                        "{} uses `{used}`, which the row of `{module}` does not name",
                        file.strip_prefix(root()).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "docs/architecture.md's module map and the code disagree:\n{}",
        breaches.join("\n")
    );
}

#[test]
fn a_use_of_another_layer_is_found() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("sample.rs");
    fs::write(
        &file,
        "// crate::cli in a comment\nuse crate::state::State;\nlet x = crate::model::Address::example(\"a\");\n#[cfg(test)]\nuse crate::emulator;\n",
    )
    .unwrap();
    assert_eq!(
        modules_used(&file),
        BTreeSet::from(["model".to_owned(), "state".to_owned()])
    );
}
