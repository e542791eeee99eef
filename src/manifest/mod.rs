//! Manifests: the desired job groups, read from YAML files, validated, with every problem
//! located as `file:line:column`.
//!
//! [`load`] is the I/O edge (files, directories, standard input); [`load_sources`] is the
//! pure core it calls, which tests call directly. Every problem of the whole set is
//! reported at once, as [`Diagnostics`].
//!
//! Reading happens in layers, each in its own module: `discover` finds and reads files,
//! `source` checks a file's bytes, `yaml` (the one door for YAML) parses documents into
//! trees that know where each value was written, `document` and `values` give a document
//! its meaning, and `set` applies defaults and checks the set as a whole.

mod desired;
mod diagnostic;
mod discover;
mod document;
mod set;
mod source;
mod suggest;
mod values;
mod yaml;

pub use desired::{Desired, DesiredGroup, SourceLocation};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use discover::{Input, LoadOptions};
pub use source::Source;

use std::io::Read;

use diagnostic::Position;
use discover::Found;
use source::{OUTLINE, read_source};
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
    load_from(inputs, options, &mut std::io::stdin().lock())
}

/// [`load_with`], reading `-` from `stdin`.
fn load_from(
    inputs: &[Input],
    options: &LoadOptions,
    stdin: &mut dyn Read,
) -> Result<Desired, Diagnostics> {
    load_found(discover::discover(inputs, options, stdin))
}

/// Reads, validates and assembles manifest texts: the pure core of [`load`].
///
/// `sources` are in the order problems are reported in; a name is only used in messages.
pub fn load_sources(sources: Vec<Source>) -> Result<Desired, Diagnostics> {
    load_found(sources.into_iter().map(Found::Source))
}

/// A diagnostic and where it sorts: the index of what it is about, then its position.
type Sorted = (usize, Position, Diagnostic);

fn load_found(found: impl IntoIterator<Item = Found>) -> Result<Desired, Diagnostics> {
    let mut diagnostics: Vec<Sorted> = Vec::new();
    // For each source, its place among everything found, which is its place in the report.
    let mut order = Vec::new();
    let mut names = Vec::new();
    let mut documents = Vec::new();
    let mut problems = Vec::new();
    for (place, found) in found.into_iter().enumerate() {
        let source = match found {
            Found::Source(source) => source,
            Found::Problem(diagnostic) => {
                diagnostics.push((place, Position::UNKNOWN, diagnostic));
                continue;
            }
        };
        let index = names.len();
        order.push(place);
        // Positions of keys and values cost about as much as parsing, so a text is read in
        // outline first (enough to locate whatever the set reports about it), and again in
        // detail only when it has problems of its own. Its bytes are dropped once read.
        let mut read = read_source(&source, OUTLINE);
        if !read.problems.is_empty() {
            let problem_count = read.problems.len();
            read = read_source(&source, Detail::Everything);
            debug_assert_eq!(
                problem_count,
                read.problems.len(),
                "reading in detail must find the same problems"
            );
        }
        problems.extend(read.problems.into_iter().map(|problem| (index, problem)));
        documents.push(read.documents);
        names.push(source.name);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (desired, set_problems) = set::assemble(documents, &names);
    problems.extend(set_problems);
    if problems.is_empty() && diagnostics.is_empty() {
        return Ok(desired);
    }
    for (index, problem) in problems {
        diagnostics.push((order[index], problem.position, problem.locate(names[index])));
    }
    diagnostics.sort_by_key(|(index, position, _)| (*index, *position));
    Err(Diagnostics::new(
        diagnostics
            .into_iter()
            .map(|(_, _, diagnostic)| diagnostic)
            .collect(),
    ))
}
