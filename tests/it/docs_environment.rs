//! `docs/environment.md` lists exactly the environment variables that are read, each where
//! it belongs: cityform's (every section but the last three) against the code in `src/`,
//! the install script's against `install.sh`, the test suite's against `tests/` and the CI
//! scripts. A variable read and not listed, or listed and never read, fails; so does a
//! variable that holds a credential without the page's **Secret** mark.
//!
//! What counts as a read in `src/` (test modules and test-only files left out):
//! - `env = "NAME"` in a clap argument;
//! - `const IDENT: &str = "NAME";` where `IDENT` is `NAME` itself (the credential chain's
//!   and provenance's constants) or ends with `VARIABLE` (`LOG_VARIABLE`, ...);
//! - `"NAME"` as the argument of `env::var(`, `env::var_os(`, `environment(` (libpq's
//!   reader), `environment.get(`, or after `(environment,` (the credential helpers).
//!
//! Every `env::var`/`var_os` call must name a literal or such a constant, so a read cannot
//! hide behind another name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const PAGE: &str = "docs/environment.md";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `text` has the shape of an environment variable's name: upper-case letters,
/// digits and `_`, starting with a letter.
fn is_variable_name(text: &str) -> bool {
    text.len() >= 2
        && text.starts_with(|character: char| character.is_ascii_uppercase())
        && text.chars().all(|character| {
            character.is_ascii_uppercase() || character.is_ascii_digit() || character == '_'
        })
}

/// Where the variables of a section of the page are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reader {
    Cityform,
    InstallScript,
    TestSuite,
    /// Libraries underneath: listed for the reader, not checked.
    Libraries,
}

fn reader_of(heading: &str) -> Reader {
    match heading {
        "Read by the libraries underneath" => Reader::Libraries,
        "The install script" => Reader::InstallScript,
        "The test suite and CI" => Reader::TestSuite,
        _ => Reader::Cityform,
    }
}

/// One table row of the page.
#[derive(Debug)]
struct Row {
    name: String,
    reader: Reader,
    secret: bool,
}

/// The rows of the page's tables, with the section each is in, and each section's text.
fn page() -> (Vec<Row>, BTreeMap<String, String>) {
    let text = std::fs::read_to_string(repository().join(PAGE)).unwrap();
    let mut rows = Vec::new();
    let mut sections = BTreeMap::new();
    let mut heading = String::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            heading = title.trim().to_owned();
            continue;
        }
        sections
            .entry(heading.clone())
            .or_insert_with(String::new)
            .push_str(&format!("{line}\n"));
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let (name, _) = rest.split_once('`').unwrap();
        assert!(
            is_variable_name(name),
            "{PAGE}: `{name}` is not a variable name"
        );
        rows.push(Row {
            name: name.to_owned(),
            reader: reader_of(&heading),
            secret: line.contains("**Secret"),
        });
    }
    (rows, sections)
}

/// The Rust files under `directory`, recursively.
fn rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// The line index where `#[cfg(test)]` starts a test module (`mod NAME {`, after any other
/// attributes and comments), if there is one.
fn test_module_start(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).find(|&index| {
        lines[index].trim() == "#[cfg(test)]"
            && lines[index + 1..]
                .iter()
                .map(|line| line.trim())
                .find(|line| !line.starts_with("#[") && !line.starts_with("//"))
                .is_some_and(|line| line.starts_with("mod ") && line.ends_with('{'))
    })
}

/// Files that are test modules of their parent (`#[cfg(test)] mod NAME;`).
fn test_only_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut test_only = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if line.trim() != "#[cfg(test)]" {
                continue;
            }
            let Some(name) = lines
                .get(index + 1)
                .and_then(|next| next.trim().strip_prefix("mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            let directory = file.parent().unwrap();
            // `foo.rs`'s modules live in `foo/`, `mod.rs`'s and `lib.rs`'s beside them.
            let stem = file.file_stem().unwrap();
            let base = if stem == "mod" || stem == "lib" || stem == "main" {
                directory.to_owned()
            } else {
                directory.join(stem)
            };
            test_only.insert(base.join(format!("{name}.rs")));
            test_only.insert(base.join(name).join("mod.rs"));
        }
    }
    test_only
}

/// The non-test code of every file under `src/`.
fn source_code() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&repository().join("src"), &mut files);
    let test_only = test_only_files(&files);
    files.sort();
    files
        .into_iter()
        .filter(|file| !test_only.contains(file))
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let end = test_module_start(&lines).unwrap_or(lines.len());
            (file, lines[..end].join("\n"))
        })
        .collect()
}

/// `text` without whitespace.
fn squeezed(text: &str) -> String {
    text.chars()
        .filter(|character| !character.is_whitespace())
        .collect()
}

/// What comes before a string literal that makes it a variable read.
const READ_OPENERS: &[&str] = &[
    "env::var(",
    "env::var_os(",
    "environment(",
    "environment.get(",
    "(environment,",
];

/// The variables `code` reads, by the rules in the module comment.
fn variables_read(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // Every `"NAME"`, judged by what stands before it. Quotes are not paired up (escapes and
    // character literals would need a Rust lexer): a name between two quotes is enough.
    for (start, _) in code.match_indices('"') {
        let rest = &code[start + 1..];
        let Some(end) = rest.find('"') else { break };
        let literal = &rest[..end];
        if !is_variable_name(literal) {
            continue;
        }
        let before = squeezed(&code[start.saturating_sub(80)..start]);
        let line_start = code[..start].rfind('\n').map_or(0, |index| index + 1);
        let constant = code[line_start..start]
            .trim()
            .trim_start_matches("pub ")
            .trim_start_matches("pub(crate) ")
            .strip_prefix("const ")
            .and_then(|rest| rest.strip_suffix(": &str ="))
            .is_some_and(|identifier| identifier == literal || identifier.ends_with("VARIABLE"));
        if before.ends_with("env=")
            || constant
            || READ_OPENERS.iter().any(|opener| before.ends_with(opener))
        {
            found.insert(literal.to_owned());
        }
    }
    found
}

/// The arguments of `env::var(`/`env::var_os(` calls that are not string literals.
fn indirect_reads(code: &str) -> Vec<String> {
    let mut arguments = Vec::new();
    for opener in ["env::var(", "env::var_os("] {
        let mut rest = code;
        while let Some(index) = rest.find(opener) {
            rest = &rest[index + opener.len()..];
            let argument = rest[..rest.find(')').unwrap()].trim();
            if !argument.starts_with('"') {
                arguments.push(argument.to_owned());
            }
        }
    }
    arguments
}

fn cityform_reads() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (file, code) in source_code() {
        found.extend(variables_read(&code));
        for argument in indirect_reads(&code) {
            let last = argument.rsplit("::").next().unwrap();
            // libpq's reader takes `name` from callers that pass literals to `environment(`.
            assert!(
                last.ends_with("VARIABLE") || is_variable_name(last) || argument == "name",
                "{}: `env::var({argument})` reads a variable this test cannot name; use a \
                 literal or a constant named `*_VARIABLE`",
                file.display()
            );
        }
    }
    found
}

#[test]
fn the_extractor_finds_each_kind_of_read_and_nothing_else() {
    let code = r#"
        #[arg(long, env = "CITYFORM_FROM_CLAP")]
        pub const LOG_VARIABLE: &str = "CITYFORM_FROM_CONSTANT";
        pub const ALIBABA_CLOUD_SELF_NAMED: &str = "ALIBABA_CLOUD_SELF_NAMED";
        const ENDPOINT: &str = "NOT_A_VARIABLE_CONSTANT";
        let a = std::env::var("FROM_STD").ok();
        let b = std::env::var_os("FROM_STD_OS");
        let c = environment("FROM_CLOSURE");
        let d = environment
            .get("FROM_MAP")
            .is_some();
        let e = set_variable(environment, "FROM_HELPER");
        let f = params.get("ES_ENABLE");
        let g = format!("{}", "SOME_TEXT");
        let h = ("", "EMPTY_BEFORE");
    "#;
    let found: Vec<String> = variables_read(code).into_iter().collect();
    assert_eq!(
        found,
        [
            "ALIBABA_CLOUD_SELF_NAMED",
            "CITYFORM_FROM_CLAP",
            "CITYFORM_FROM_CONSTANT",
            "FROM_CLOSURE",
            "FROM_HELPER",
            "FROM_MAP",
            "FROM_STD",
            "FROM_STD_OS",
        ]
    );
    assert_eq!(
        indirect_reads("std::env::var(cli::LOG_VARIABLE); env::var(\"A\"); env::var_os(other)"),
        ["cli::LOG_VARIABLE", "other"]
    );
}

#[test]
fn every_variable_cityform_reads_is_on_the_page_and_nothing_else() {
    let read = cityform_reads();
    // The extractor sees the reads the library names itself.
    for name in cityform::provenance::environment::VARIABLES.iter().chain(&[
        cityform::cloud::credentials::ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        cityform::cloud::credentials::ALIBABA_CLOUD_CREDENTIALS_URI,
        cityform::cli::logging::LOG_VARIABLE,
        cityform::cli::step_summary::VARIABLE,
        "HOME",
        "NO_COLOR",
        "PGPASSWORD",
        "CITYFORM_EMULATOR_OIDC_TOKEN",
    ]) {
        assert!(read.contains(*name), "the extractor missed `{name}`");
    }
    let (rows, _) = page();
    let mut listed = BTreeSet::new();
    for row in rows.iter().filter(|row| row.reader == Reader::Cityform) {
        assert!(
            listed.insert(row.name.clone()),
            "{PAGE} lists `{}` twice",
            row.name
        );
    }
    let missing: Vec<&String> = read.difference(&listed).collect();
    let never_read: Vec<&String> = listed.difference(&read).collect();
    assert!(
        missing.is_empty() && never_read.is_empty(),
        "{PAGE} is out of date:\n  read by cityform but not listed: {missing:?}\n  listed but \
         never read by cityform: {never_read:?}"
    );
}

#[test]
fn variables_that_hold_credentials_are_marked_secret() {
    let (rows, _) = page();
    let secrets: BTreeSet<&str> = rows
        .iter()
        .filter(|row| row.secret)
        .map(|row| row.name.as_str())
        .collect();
    // The credential chain's secrets and tokens, libpq's password, and what the emulator
    // hides from `--help` (`hide_env_values`).
    let mut expected = BTreeSet::from([
        cityform::cloud::credentials::ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        cityform::cloud::credentials::ALIBABA_CLOUD_SECURITY_TOKEN,
        cityform::cloud::credentials::ALICLOUD_SECRET_KEY,
        cityform::cloud::credentials::ALICLOUD_SECURITY_TOKEN,
        "PGPASSWORD",
    ]);
    let emulator = std::fs::read_to_string(repository().join("src/emulator/cli.rs")).unwrap();
    let mut hidden = 0;
    for argument in emulator.split("#[arg(").skip(1) {
        let attribute = &argument[..argument.find(")]").unwrap()];
        if attribute.contains("hide_env_values = true") {
            let name = attribute.split("env = \"").nth(1).unwrap();
            expected.insert(&name[..name.find('"').unwrap()]);
            hidden += 1;
        }
    }
    assert_eq!(hidden, 2, "src/emulator/cli.rs hides other variables now");
    for name in &expected {
        assert!(
            secrets.contains(name),
            "{PAGE}: `{name}` is not marked **Secret**"
        );
    }
}

#[test]
fn the_install_scripts_variables_are_listed() {
    let script = std::fs::read_to_string(repository().join("install.sh")).unwrap();
    let mut read = BTreeSet::new();
    for (index, _) in script.match_indices('$') {
        let rest = script[index + 1..].trim_start_matches('{');
        let name: String = rest
            .chars()
            .take_while(|character| character.is_ascii_alphanumeric() || *character == '_')
            .collect();
        if is_variable_name(&name) {
            read.insert(name);
        }
    }
    let (rows, _) = page();
    let listed: BTreeSet<String> = rows
        .iter()
        .filter(|row| row.reader == Reader::InstallScript)
        .map(|row| row.name.clone())
        .collect();
    assert_eq!(listed, read, "{PAGE}, \"The install script\"");
}

#[test]
fn the_test_suites_variables_are_listed() {
    let mut read = BTreeSet::new();
    // The tests: `env::var("NAME")` and `env::var_os("NAME")`.
    let mut files = Vec::new();
    rust_files(&repository().join("tests"), &mut files);
    for file in files
        .iter()
        .filter(|file| !file.ends_with("docs_environment.rs"))
    {
        let code = std::fs::read_to_string(file).unwrap();
        for opener in ["env::var(\"", "env::var_os(\""] {
            for (index, _) in code.match_indices(opener) {
                let rest = &code[index + opener.len()..];
                read.insert(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
    }
    // The scripts: `${NAME:-default}`; the SDK suite: `os.environ.get("NAME")`.
    let scripts = [".ci/run", ".ci/lint-release", ".ci/postgres", ".ci/fuzz"]
        .into_iter()
        .chain(["tests/compat/run.sh", "tests/compat/test_official_sdk.py"]);
    for script in scripts {
        let text = std::fs::read_to_string(repository().join(script)).unwrap();
        for (opener, closer) in [("${", ":-"), ("os.environ.get(\"", "\")")] {
            for (index, _) in text.match_indices(opener) {
                let rest = &text[index + opener.len()..];
                if let Some(end) = rest.find(closer)
                    && is_variable_name(&rest[..end])
                {
                    read.insert(rest[..end].to_owned());
                }
            }
        }
    }
    let (rows, sections) = page();
    let listed: BTreeSet<String> = rows
        .iter()
        .filter(|row| row.reader == Reader::TestSuite)
        .map(|row| row.name.clone())
        .collect();
    // Other tools' own variables are named in the section's text, not in its table.
    let section = &sections["The test suite and CI"];
    let tools_own: BTreeSet<String> = read
        .iter()
        .filter(|name| !listed.contains(*name))
        .cloned()
        .collect();
    for name in &tools_own {
        assert!(
            section.contains(&format!("`{name}`")),
            "{PAGE}, \"The test suite and CI\": `{name}` is read but not mentioned"
        );
    }
    let never_read: Vec<&String> = listed.difference(&read).collect();
    assert!(
        never_read.is_empty(),
        "{PAGE} lists {never_read:?}, which the tests never read"
    );
    assert!(
        tools_own.len() <= 4,
        "only other tools' variables belong in the text: {tools_own:?}"
    );
}
