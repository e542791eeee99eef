//! Manifests: the desired job groups, read from YAML files, validated, with every problem
//! located as `file:line:column`.
//!
//! [`load`] is the I/O edge (files, directories, standard input); [`load_sources`] is the
//! pure core it calls, which tests call directly. Every problem of the whole set is
//! reported at once, as [`Diagnostics`]; a set with only warnings loads, and carries them in
//! [`Desired::warnings`] for the command to show.
//!
//! Reading happens in layers, each in its own module: `discover` finds and reads files,
//! `source` checks a file's bytes, `yaml` (the one door for YAML; it has `lexical` read the
//! text first, in linear time, for nesting depth, tags and byte-order marks) parses documents into
//! trees that know where each value was written, `document`, `values` and `lifecycle` give
//! a document its meaning, and `set` applies defaults and checks the set as a whole. The
//! format itself (fields, where they go, their rules and meanings) is written down once,
//! in `format`, for the reader and for the JSON Schema of `schema`.

pub mod canonical;
mod declaration;
mod declared;
mod desired;
mod diagnostic;
mod discover;
mod document;
mod format;
mod lexical;
mod lifecycle;
mod parallel;
pub mod schema;
mod set;
mod source;
mod suggest;
mod values;
pub mod write;
mod yaml;

pub use desired::{
    Desired, DesiredGroup, ImportDeclaration, MoveDeclaration, RemovalDeclaration, SourceLocation,
};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use discover::{Input, LoadOptions};
pub use source::Source;

use std::io::Read;

use diagnostic::Position;
use discover::Found;
use source::{OUTLINE, SourceRead, read_source};
use yaml::Detail;

/// Loads the manifests `inputs` name, with the default [`LoadOptions`].
///
/// A directory contributes every `*.yaml` and `*.yml` file below it; [`Input::Stdin`] reads
/// standard input, named `-` in locations. An empty `inputs` is an empty set: choosing a
/// default directory is the caller's business.
pub fn load(inputs: &[Input]) -> Result<Desired, Diagnostics> {
    load_with(inputs, &LoadOptions::default())
}

/// Loads the manifests `inputs` name, within `options`' limits.
pub fn load_with(inputs: &[Input], options: &LoadOptions) -> Result<Desired, Diagnostics> {
    crate::phase::timed_sync(crate::phase::LOAD_MANIFESTS, || {
        let desired = load_from(inputs, options, &mut std::io::stdin().lock())?;
        tracing::info!(
            "the manifests declare {} job group(s)",
            desired.groups.len()
        );
        Ok(desired)
    })
}

/// [`load_with`], reading `-` from `stdin`.
fn load_from(
    inputs: &[Input],
    options: &LoadOptions,
    stdin: &mut dyn Read,
) -> Result<Desired, Diagnostics> {
    load_found(
        discover::discover(inputs, options, stdin),
        options.default_region_id.as_deref(),
        &mut || defaults_beside(inputs, options),
    )
}

/// The files beside the files `inputs` name (not the directories) that hold a valid
/// `Defaults` document and were not named themselves: `-f manifests/traffic.yaml` leaves
/// out `manifests/00-defaults.yaml`, which the group may count on. A file with errors is
/// not one a group was meant to take its fields from.
fn defaults_beside(inputs: &[Input], options: &LoadOptions) -> Vec<String> {
    discover::unread_siblings(inputs, options)
        .into_iter()
        .filter(|source| {
            let read = read_source(source, OUTLINE);
            !read.problems.iter().any(|problem| problem.is_error())
                && read
                    .documents
                    .iter()
                    .any(|document| matches!(document, document::ManifestDocument::Defaults(_)))
        })
        .map(|source| source.name)
        .collect()
}

/// Reads, validates and assembles manifest texts: the pure core of [`load`].
///
/// `sources` are in the order problems are reported in; a name is only used in messages.
pub fn load_sources(sources: Vec<Source>) -> Result<Desired, Diagnostics> {
    load_found(sources.into_iter().map(Found::Source), None, &mut Vec::new)
}

/// The texts `inputs` name, read as [`load_with`] reads them but not yet understood, for a
/// command that rewrites them; every path that cannot be read is a problem.
pub fn read_inputs(inputs: &[Input], options: &LoadOptions) -> Result<Vec<Source>, Diagnostics> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for found in discover::discover(inputs, options, &mut std::io::stdin().lock()) {
        match found {
            Found::Source(source) => sources.push(source),
            Found::Problem(diagnostic) => problems.push(diagnostic),
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(Diagnostics::new(problems))
    }
}

/// [`load_sources`] for texts [`read_inputs`] read from `inputs`: with the `Defaults` beside
/// the named files and the default region of `options`, as [`load_with`] would read them.
pub fn load_sources_of(
    sources: Vec<Source>,
    inputs: &[Input],
    options: &LoadOptions,
) -> Result<Desired, Diagnostics> {
    load_found(
        sources.into_iter().map(Found::Source),
        options.default_region_id.as_deref(),
        &mut || defaults_beside(inputs, options),
    )
}

/// Reads one source's documents.
///
/// Positions of keys and values cost about as much as parsing, so a text is read in outline
/// first (enough to locate whatever the set reports about it), and again in detail only
/// when it has problems of its own.
fn read_fully(source: &Source) -> SourceRead {
    let read = read_source(source, OUTLINE);
    if read.problems.is_empty() {
        return read;
    }
    let problem_count = read.problems.len();
    let read = read_source(source, Detail::Everything);
    debug_assert_eq!(
        problem_count,
        read.problems.len(),
        "reading in detail must find the same problems"
    );
    read
}

/// A diagnostic and where it sorts: the index of what it is about, then its position.
type Sorted = (usize, Position, Diagnostic);

fn load_found(
    found: impl IntoIterator<Item = Found>,
    default_region_id: Option<&str>,
    defaults_elsewhere: &mut dyn FnMut() -> Vec<String>,
) -> Result<Desired, Diagnostics> {
    let found = parallel::map_in_order(found, parallel::worker_count(), |found| match found {
        Found::Source(source) => Ok((read_fully(&source), source.name)),
        Found::Problem(diagnostic) => Err(diagnostic),
    });
    let mut diagnostics: Vec<Sorted> = Vec::new();
    // For each source, its place among everything found, which is its place in the report.
    let mut order = Vec::new();
    let mut names = Vec::new();
    let mut documents = Vec::new();
    let mut problems = Vec::new();
    for (place, found) in found.into_iter().enumerate() {
        let (read, name) = match found {
            Ok(read) => read,
            Err(diagnostic) => {
                diagnostics.push((place, Position::UNKNOWN, diagnostic));
                continue;
            }
        };
        let index = names.len();
        order.push(place);
        problems.extend(read.problems.into_iter().map(|problem| (index, problem)));
        documents.push(read.documents);
        names.push(name);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (mut desired, set_problems) =
        set::assemble(documents, &names, default_region_id, defaults_elsewhere);
    problems.extend(set_problems);
    let refused = !diagnostics.is_empty() || problems.iter().any(|(_, problem)| problem.is_error());
    for (index, problem) in problems {
        diagnostics.push((order[index], problem.position, problem.locate(names[index])));
    }
    diagnostics.sort_by_key(|(index, position, _)| (*index, *position));
    let diagnostics = diagnostics
        .into_iter()
        .map(|(_, _, diagnostic)| diagnostic)
        .collect();
    if refused {
        // Warnings stay among the errors, in their place.
        return Err(Diagnostics::new(diagnostics));
    }
    desired.warnings = diagnostics;
    Ok(desired)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> Source {
        Source {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    const GROUP: &str = "apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: traffic-east\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: 3\n  resourceProfileId: \"6\"\n  planedJobCount: 10\n  streamPerJob: 5\n  params:\n    ES_ENABLE: true\n";

    #[test]
    fn a_valid_set_becomes_desired_groups() {
        let desired = load_sources(vec![source("a.yaml", GROUP)]).unwrap();
        let address: crate::model::Address = "cn-shanghai/cityvisual-Instance/traffic-east"
            .parse()
            .unwrap();
        let group = &desired.groups[&address];
        assert_eq!(
            group.spec,
            crate::model::JobGroupSpec::example().with_param("ES_ENABLE", "True")
        );
        assert_eq!(group.source.to_string(), "a.yaml:1:1");
    }

    /// A warning does not refuse the set: it is carried with the groups, located.
    #[test]
    fn a_set_with_only_warnings_loads_and_carries_them() {
        let desired = load_sources(vec![source(
            "a.yaml",
            &GROUP.replace("name: traffic-east", "name: cam:east-01"),
        )])
        .unwrap();
        assert_eq!(desired.groups.len(), 1);
        let warnings: Vec<String> = desired.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0]
                .starts_with("a.yaml:4:9: warning: job group name `cam:east-01` contains `:`"),
            "{warnings:?}"
        );
        assert!(
            load_sources(vec![source("a.yaml", GROUP)])
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn a_set_without_job_groups_is_empty_not_wrong() {
        let defaults = "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  jobCount: 1\n";
        let desired =
            load_sources(vec![source("a.yaml", "---\n"), source("b.yaml", defaults)]).unwrap();
        assert!(desired.groups.is_empty());
        assert!(load_sources(Vec::new()).unwrap().groups.is_empty());
    }

    #[test]
    fn problems_are_sorted_by_file_then_position_with_path_problems_in_their_place() {
        let directory = tempfile::tempdir().unwrap();
        let first = directory.path().join("first.yaml");
        let second = directory.path().join("second.yaml");
        std::fs::write(
            &first,
            GROUP.replace("planedJobCount: 10", "planedJobCount: 0") + "extra: 1\n",
        )
        .unwrap();
        std::fs::write(&second, "kind: Nope\n").unwrap();
        let missing = directory.path().join("missing.yaml");
        let inputs = [
            Input::Path(second.clone()),
            Input::Path(missing),
            Input::Stdin,
            Input::Path(first.clone()),
        ];
        let mut stdin: &[u8] = b"[1, 2]\n";
        let diagnostics = load_from(&inputs, &LoadOptions::default(), &mut stdin).unwrap_err();
        let rendered = diagnostics
            .to_string()
            .replace(&format!("{}/", directory.path().display()), "");
        assert_eq!(
            rendered,
            "\
second.yaml:1:1: error: missing `apiVersion`
  hint: add `apiVersion: cityform/v1`
second.yaml:1:7: error: unknown kind `Nope`
  hint: the kinds are `JobGroup`, `Defaults`, `Moved`, `Import` and `Removed`
error: `missing.yaml` does not exist
  hint: name a manifest file or a directory of `*.yaml` files
-:1:1: error: a manifest document must be a mapping, not a sequence
  hint: each document starts with `apiVersion: cityform/v1` and `kind: JobGroup`
first.yaml:10:19: error: `spec.planedJobCount` must be at least 1, not `0`
first.yaml:14:1: error: unknown field `extra`
  hint: a document takes `apiVersion`, `kind`, `metadata`, `spec` and `lifecycle`
6 problems found in the manifests"
        );
    }

    #[test]
    fn a_misspelt_field_is_reported_once() {
        let text = GROUP.replace("planedJobCount", "planedJobCont");
        let diagnostics = load_sources(vec![source("a.yaml", &text)]).unwrap_err();
        assert_eq!(
            diagnostics.to_string(),
            "a.yaml:10:3: error: unknown field `planedJobCont` in `spec`, did you mean `planedJobCount`?\n1 problem found in the manifests"
        );
    }

    #[test]
    fn set_problems_in_clean_files_are_located_without_a_detailed_reading() {
        let defaults = "apiVersion: cityform/v1\nkind: Defaults\nspec:\n  regionId: cn-shanghai\n";
        let group = "# a comment\n\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: alpha\nspec:\n  instanceId: inst\n";
        let diagnostics = load_sources(vec![
            source("defaults.yaml", defaults),
            source("group.yaml", group),
            source("again.yaml", &format!("---\n{defaults}")),
        ])
        .unwrap_err();
        let rendered: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            [
                "group.yaml:7:1: error: job group `alpha` is missing required fields `spec.algoLibId`, `spec.resourceProfileId`, `spec.planedJobCount` and `spec.streamPerJob`\n  hint: set them in the job group's `spec`, or for every job group in the `Defaults` document",
                "again.yaml:2:1: error: more than one `Defaults` document; the first is at defaults.yaml:1:1\n  hint: a manifest set has at most one `Defaults`; merge them",
            ]
        );
    }

    /// Found by the property test below: a scalar document cut short by a syntax error was
    /// read as a document in detail but not in outline.
    #[test]
    fn a_scalar_document_before_a_syntax_error_reads_the_same_in_outline() {
        let text = "apiVersion:&anchor [1, 2]\napiVersion: ";
        let diagnostics = load_sources(vec![source("a.yaml", text)]).unwrap_err();
        assert_eq!(
            diagnostics.to_string(),
            "\
a.yaml:1:1: error: a manifest document must be a mapping, not the string `\"apiVersion:&anchor [1, 2] apiVersion\"`
  hint: each document starts with `apiVersion: cityform/v1` and `kind: JobGroup`
a.yaml:2:11: error: invalid YAML: mapping values are not allowed in this context
2 problems found in the manifests"
        );
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        /// Lines that look like manifests, including broken ones.
        fn line() -> impl Strategy<Value = String> {
            let indent = prop_oneof![Just(""), Just("  "), Just("    "), Just("\t"), Just(" ")];
            let key = prop_oneof![
                Just("apiVersion"),
                Just("kind"),
                Just("metadata"),
                Just("name"),
                Just("spec"),
                Just("regionId"),
                Just("instanceId"),
                Just("algoLibId"),
                Just("planedJobCount"),
                Just("params"),
                Just("ES_ENABLE"),
                Just("<<"),
                Just("- x"),
                Just("? [a]"),
            ];
            let value = prop_oneof![
                Just(""),
                Just("cityform/v1"),
                Just("JobGroup"),
                Just("Defaults"),
                Just("traffic-east"),
                Just("10"),
                Just("-1"),
                Just("99999999999999999999"),
                Just("2.5"),
                Just("true"),
                Just("\"True\""),
                Just("[1, {a: b}"),
                Just("{x: 1}"),
                Just("&anchor [1, 2]"),
                Just("*anchor"),
                Just("!tag v"),
                Just("~"),
                Just("|\n  text"),
            ];
            let separator = prop_oneof![Just(": "), Just(":"), Just(" ")];
            prop_oneof![
                8 => (indent, key, separator, value)
                    .prop_map(|(indent, key, separator, value)| format!("{indent}{key}{separator}{value}")),
                1 => Just("---".to_owned()),
                1 => Just("# comment".to_owned()),
            ]
        }

        proptest! {
            // Failures found are kept as named tests below, not in a seed file.
            #![proptest_config(ProptestConfig {
                cases: 400,
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn any_text_is_loaded_or_refused_with_located_problems(
                files in prop::collection::vec(prop::collection::vec(line(), 0..30), 1..3)
            ) {
                let sources: Vec<Source> = files
                    .iter()
                    .enumerate()
                    .map(|(index, lines)| source(&format!("f{index}.yaml"), &lines.join("\n")))
                    .collect();
                if let Err(diagnostics) = load_sources(sources) {
                    prop_assert!(!diagnostics.is_empty());
                    for diagnostic in &diagnostics {
                        let location = diagnostic.location.as_ref().expect("a file problem");
                        prop_assert!(location.line >= 1 && location.column >= 1, "{}", diagnostic);
                    }
                }
            }
        }
    }
}
